// factormer generate: a planted nonnegative low-rank matrix, as a Matrix
// Market file (for benchmarks, peers and experiments).
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "factormer.h"
#include "output.h"

static const char help[] =
    "usage: factormer generate OUT.mtx --rows M --cols N [options]\n"
    "\n"
    "Writes X = W H + noise, W and H with i.i.d. Exponential(sqrt(rank)) entries\n"
    "(entries of W H have mean 1), noise normal and clipped at zero.\n"
    "\n"
    "  --rows M, --cols N  shape\n"
    "  --rank K            planted rank (default 10)\n"
    "  --noise S           standard deviation of the noise (default 0)\n"
    "  --density D         keep a seeded share D of the entries as coordinates\n"
    "                      (default 1: a dense array file)\n"
    "  --entries N         write about N distinct coordinates (the observed entries\n"
    "                      of an incomplete matrix) without visiting the others:\n"
    "                      for shapes whose rows x cols would not fit\n"
    "  --degrees D         with --entries: uniform (default) or power-law (a few\n"
    "                      very active rows and columns, like ratings)\n"
    "  --seed S            seed (default 42)\n"
    FM_ARG_PROFILE_HELP;

int fm_cmd_generate(int argc, char **argv)
{
    const char *out = NULL;
    long rows = 0, cols = 0, rank = 10, seed = 42;
    long entries = 0;
    fm_degrees degrees = FM_DEGREES_UNIFORM;
    bool have_density = false, have_degrees = false;
    double noise = 0, density = 1;
    char msg[FM_MSG_LEN];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (a[0] != '-') {
            if (out) { fprintf(stderr, "factormer: more than one output file\n"); return 2; }
            out = a;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok;
        if (!strcmp(a, "--rows")) ok = fm_arg_int(a, v, 1, 1L << 40, &rows);
        else if (!strcmp(a, "--cols")) ok = fm_arg_int(a, v, 1, 1L << 40, &cols);
        else if (!strcmp(a, "--rank")) ok = fm_arg_int(a, v, 1, 100000, &rank);
        else if (!strcmp(a, "--seed")) ok = fm_arg_int(a, v, 0, 1L << 62, &seed);
        else if (!strcmp(a, "--noise")) ok = fm_arg_double(a, v, 0, 1e30, &noise);
        else if (!strcmp(a, "--density")) { ok = fm_arg_double(a, v, 1e-12, 1, &density); have_density = true; }
        else if (!strcmp(a, "--entries")) ok = fm_arg_int(a, v, 1, 1L << 40, &entries);
        else if (!strcmp(a, "--degrees")) {
            if (fm_degrees_parse(&degrees, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            have_degrees = ok = true;
        }
        else { fprintf(stderr, "factormer: unknown option '%s'\n", a); return 2; }
        if (!ok) return 2;
    }
    if (!out || !rows || !cols) { fprintf(stderr, "factormer: generate needs OUT.mtx, --rows and --cols\n%s", help); return 2; }
    if (entries && have_density) { fprintf(stderr, "factormer: give --density or --entries, not both\n"); return 2; }
    if (have_degrees && !entries) { fprintf(stderr, "factormer: --degrees needs --entries\n"); return 2; }
    const int checked = fm_output_check(out, "the output file", msg);   // before the work
    if (checked) { fprintf(stderr, "factormer: %s\n", msg); return checked == FM_ERR_INVALID ? 2 : 1; }
    fm_triplets *t = NULL;
    fm_dense view = { 0 };
    char comment[256];
    int status;
    if (entries) {
        snprintf(comment, sizeof comment, "factormer generate: planted rank %ld, noise %g, %ld entries, %s degrees, "
                 "seed %ld", rank, noise, entries, fm_degrees_name(degrees), seed);
        status = fm_synthetic_observed(&t, rows, cols, (int)rank, noise, entries, degrees, (uint64_t)seed, msg);
    } else {
        snprintf(comment, sizeof comment, "factormer generate: planted rank %ld, noise %g, density %g, seed %ld",
                 rank, noise, density, seed);
        status = fm_synthetic_planted(&t, rows, cols, (int)rank, noise, density, (uint64_t)seed, msg);
    }
    if (status == FM_OK && t->array) {
        view = (fm_dense){ t->rows, t->cols, t->val };
        status = fm_mtx_write_dense(out, &view, comment, msg);
    } else if (status == FM_OK) {
        status = fm_mtx_write_triplets(out, t, comment, msg);
    }
    fm_triplets_free(&t);
    if (status) { fprintf(stderr, "factormer: %s\n", msg); return 1; }
    return 0;
}
