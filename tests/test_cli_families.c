// `factormer generate --family` and `train --data FAMILY` (docs §7.1): a
// matrix of each family in its own format and range, the refusals, and a
// tiny model of any rank trained on each family.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cli_program.h"
#include "helpers.h"

TestSuite(cli_families, .init = fm_test_setup);

Test(cli_families, generate_writes_each_family)
{
    scratch s = scratch_new();
    const char *families[] = {"counts", "images", "ratings", "spectra", "scenes"};
    const bool array[] = {false, true, false, true, true};
    const double top[] = {INFINITY, 255, 5, 5000, 5000};
    for (int f = 0; f < 5; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s.mtx", s.root, families[f]);
        run r = RUN(&s, "generate", path, "--family", families[f], "--rows", "60", "--cols", "40", "--rank", "4",
                    "--seed", "3");
        expect_success(&r);
        run_free(&r);
        fm_triplets *t = read_triplets(path, true);
        cr_expect_eq(t->array, array[f], "%s", families[f]);
        cr_expect(t->rows == 60 && t->cols == 40, "%s: %lld x %lld", families[f], (long long)t->rows,
                  (long long)t->cols);
        for (int64_t e = 0; e < t->count; e++)
            cr_assert(t->val[e] == floorf(t->val[e]) && t->val[e] >= (f == 2 ? 1 : 0) && t->val[e] <= top[f],
                      "%s: value %g", families[f], (double)t->val[e]);
        if (!array[f]) cr_expect(t->count > 0 && t->count < 60 * 40, "%s: %lld entries", families[f], (long long)t->count);
        char *text = fm_test_read_text(path);
        cr_expect(strstr(text, families[f]), "%s: the header comment does not name the family", families[f]);
        free(text);
        fm_triplets_free(&t);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/bad.mtx", s.root);
    run r = RUN(&s, "generate", path, "--family", "pictures", "--rows", "6", "--cols", "4");
    EXPECT_FAILURE(&r, 2, "--family expects counts, images, ratings, spectra or scenes, not 'pictures'");
    run_free(&r);
    r = RUN(&s, "generate", path, "--family", "images", "--rows", "6", "--cols", "4", "--density", "0.5");
    EXPECT_FAILURE(&r, 2, "--density belongs to --family ratings");
    run_free(&r);
    r = RUN(&s, "generate", path, "--family", "counts", "--rows", "6", "--cols", "4", "--noise", "0.1");
    EXPECT_FAILURE(&r, 2, "not with --noise or --entries");
    run_free(&r);
    scratch_free(&s);
}

Test(cli_families, train_on_each_family)
{
    scratch s = scratch_new();
    const char *families[] = {"counts", "images", "ratings", "spectra", "scenes", "mix-scenes"};
    for (int f = 0; f < 6; f++) {
        char out[600];
        snprintf(out, sizeof out, "%s/%s.fmw", s.root, families[f]);
        run r = RUN(&s, "train", "--model", "init", "--any-rank", "--rank", "3", "--data", families[f], TINY_MODEL,
                    "--out", out);
        expect_success(&r);
        run_free(&r);
        cr_expect(fm_test_exists(out), "%s: no model written", families[f]);
    }
    scratch_free(&s);
}
