// factormer generate: a planted nonnegative low-rank matrix, as a Matrix
// Market file (for benchmarks, peers and experiments); with --spd, a linear
// system of P7 (random SPD or diffusion) and its right-hand side; with
// --general, a nonsymmetric one for GMRES (convection-diffusion or random).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "factormer.h"
#include "general_data.h"
#include "output.h"
#include "signals.h"
#include "spd_data.h"
#include "train_families.h"

static const char help[] =
    "usage: factormer generate OUT.mtx --rows M --cols N [options]\n"
    "       factormer generate --spd random|diffusion --size N --seed S OUT.mtx\n"
    "                          [--rhs OUT_b.mtx] [--density D]\n"
    "       factormer generate --general convection|random --size N --seed S OUT.mtx\n"
    "                          [--rhs OUT_b.mtx] [--density D] [--peclet MIN:MAX]\n"
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
    "  --family F          instead, a training family like real data (docs §7.1):\n"
    "                      counts (sparse negative-binomial counts), images (dense\n"
    "                      gray levels: skin and parts), ratings (1-5 on entries\n"
    "                      observed with probability about --density, default 0.1,\n"
    "                      power-law degrees), spectra (dense reflectances of\n"
    "                      smooth endmembers) or scenes (as spectra, --rank\n"
    "                      materials of narrow features, abundances falling as a\n"
    "                      power law); with --rows, --cols, --rank, --seed\n"
    "\n"
    "With --spd, writes a symmetric positive definite A (its lower triangle,\n"
    "coordinate real symmetric) for the learned preconditioners, and with --rhs\n"
    "a right-hand side b ~ U(0, 1) (array real general n x 1); both files or\n"
    "neither:\n"
    "  --spd random        A = M M^T + 1e-3 I, M n x n with round(D n^2) entries\n"
    "                      N(0, 1) at distinct random positions (--size n)\n"
    "  --spd diffusion     -div(k grad u) = f on a g x g grid (--size g, n = g^2),\n"
    "                      5-point differences times h^2, Dirichlet boundary,\n"
    "                      k = exp(a smooth random field), max k / min k <= 1e3\n"
    "  --size N            n (random) or g (diffusion; convection below)\n"
    "  --density D         random only: the share of M's entries (default 1e-3)\n"
    "  --rhs OUT_b.mtx     also write b\n"
    "  --seed S            seed (default 42; the trainer's test sets use seeds from\n"
    "                      1000000, its training sets below)\n"
    "\n"
    "With --general, writes a nonsymmetric A (coordinate real general) for GMRES,\n"
    "with --rhs and --seed as above:\n"
    "  --general convection\n"
    "                      -lap u + v.grad u = f on a g x g grid (--size g, n = g^2),\n"
    "                      first-order upwind differences times h^2, Dirichlet\n"
    "                      boundary; v the curl of a smooth random stream function\n"
    "                      (divergence-free), scaled so that the largest mesh Peclet\n"
    "                      number h|v|/2 is a seeded log-uniform draw from --peclet\n"
    "                      (the file's comment says the value drawn)\n"
    "  --general random    A = M M'^T + 1e-3 I, M and M' independent, each as M of\n"
    "                      --spd random (--size n, --density D)\n"
    "  --peclet MIN:MAX    convection only: the range of the largest mesh Peclet\n"
    "                      number (default 0.1:100; MIN = MAX fixes it)\n"
    FM_ARG_PROFILE_HELP;

// What --spd or --general asks for.
typedef struct {
    bool general;
    fm_spd_kind spd;
    fm_general_kind kind;
    long size, seed;
    double density, peclet_min, peclet_max;
    bool have_density, have_peclet;
} system_request;

// The request's (A, b), b only when wanted, and the file's comment.
static int generate(fm_system_matrix **A, double **b, const system_request *r, char *comment, size_t size, char *msg)
{
    if (!r->general) {
        fm_spd_options o;
        fm_spd_defaults(&o);
        if (r->have_density) o.density = r->density;
        if (r->spd == FM_SPD_RANDOM)
            snprintf(comment, size, "factormer generate --spd random: A = M M^T + %g I, n %ld, density %g, "
                     "seed %ld", o.alpha, r->size, o.density, r->seed);
        else
            snprintf(comment, size, "factormer generate --spd diffusion: %ld x %ld grid, contrast up to %g, "
                     "seed %ld", r->size, r->size, o.contrast, r->seed);
        return fm_spd_generate(A, b, r->spd, r->size, (uint64_t)r->seed, &o, msg);
    }
    fm_general_options o;
    fm_general_defaults(&o);
    if (r->have_density) o.density = r->density;
    if (r->have_peclet) {
        o.peclet_min = r->peclet_min;
        o.peclet_max = r->peclet_max;
    }
    double peclet = 0;
    const int status = fm_general_generate(A, b, r->kind, r->size, (uint64_t)r->seed, &o, &peclet, msg);
    if (r->kind == FM_GENERAL_RANDOM)
        snprintf(comment, size, "factormer generate --general random: A = M M'^T + %g I, M and M' independent, "
                 "n %ld, density %g, seed %ld", o.alpha, r->size, o.density, r->seed);
    else
        snprintf(comment, size, "factormer generate --general convection: -lap u + v.grad u = f, upwind, "
                 "%ld x %ld grid, largest mesh Peclet number %.6g (drawn from [%g, %g]), %d modes, seed %ld",
                 r->size, r->size, peclet, o.peclet_min, o.peclet_max, o.modes, r->seed);
    return status;
}

// --spd, --general: (A, b) of P7 for the seed, written to `out` and `rhs`
// (NULL: none) as a set: staged beside their final names, renamed only once
// both are written.
static int generate_system(const char *out, const char *rhs, const system_request *request)
{
    char msg[FM_MSG_LEN];
    fm_output_set *sets[2] = { NULL, NULL };
    fm_system_matrix *A = NULL;
    double *b = NULL;
    int status = FM_OK, failed = 1;
    const char *const whole[1] = { "" };
    if (rhs && !strcmp(out, rhs)) {
        fprintf(stderr, "factormer: --rhs %s is the matrix's own file: give another name\n", fm_arg_shown(rhs));
        return 2;
    }
    status = fm_output_set_open(&sets[0], "the output file", out, whole, 1, msg);
    if (status == FM_OK && rhs) status = fm_output_set_open(&sets[1], "--rhs", rhs, whole, 1, msg);
    if (status) {
        failed = status == FM_ERR_INVALID ? 2 : 1;
        goto done;
    }
    char comment[320];
    status = generate(&A, rhs ? &b : NULL, request, comment, sizeof comment, msg);
    if (status) goto done;
    for (int f = 0; f < 2 && status == FM_OK; f++)
        if (sets[f]) status = fm_output_set_stage(sets[f], msg);
    if (status == FM_OK) status = fm_mtx_write_system(fm_output_set_staged(sets[0], 0), A, comment, msg);
    if (status == FM_OK && rhs) {
        snprintf(comment + strlen(comment), sizeof comment - strlen(comment), ": b ~ U(0, 1)");
        status = fm_mtx_write_vector(fm_output_set_staged(sets[1], 0), b, A->n, comment, msg);
    }
    if (status == FM_OK) {
        // both renames or, if a signal comes between them, the handler's end
        // after both (io/signals)
        const fm_signals_mode mode = fm_signals_mode_set(FM_SIGNALS_DEFER);
        for (int f = 0; f < 2 && status == FM_OK; f++)
            if (sets[f]) status = fm_output_set_commit(sets[f], msg);
        fm_signals_mode_set(mode);
    }
    if (status == FM_OK) failed = 0;
done:
    if (failed) {
        for (int f = 0; f < 2; f++)
            if (sets[f]) fm_output_set_name_final(sets[f], msg);
        fprintf(stderr, "factormer: %s\n", msg);
    }
    for (int f = 0; f < 2; f++) fm_output_set_free(&sets[f]);
    fm_system_matrix_free(&A);
    free(b);
    return failed;
}

// --peclet MIN:MAX, 0 < MIN <= MAX (false after a message).
static bool peclet_range(const char *text, double *lo, double *hi)
{
    const char *colon = strchr(text, ':');
    char low[64];
    if (colon && (size_t)(colon - text) < sizeof low) {
        memcpy(low, text, (size_t)(colon - text));
        low[colon - text] = 0;
        char *end = NULL, *end2 = NULL;
        *lo = strtod(low, &end);
        *hi = strtod(colon + 1, &end2);
        if (end != low && !*end && end2 != colon + 1 && !*end2 && *lo > 0 && *lo <= *hi && *hi <= 1e12) return true;
    }
    fprintf(stderr, "factormer: --peclet expects MIN:MAX with 0 < MIN <= MAX <= 1e12, not '%s'\n", fm_arg_shown(text));
    return false;
}

int fm_cmd_generate(int argc, char **argv)
{
    const char *out = NULL;
    long rows = 0, cols = 0, rank = 10, seed = 42;
    long entries = 0;
    fm_degrees degrees = FM_DEGREES_UNIFORM;
    bool have_density = false, have_degrees = false, spd = false, nmf_option = false, have_family = false;
    fm_train_family family = FM_FAMILY_EXPONENTIAL;
    const char *rhs = NULL;
    system_request r = { .spd = FM_SPD_RANDOM, .kind = FM_GENERAL_RANDOM };
    long size = 0;
    double noise = 0, density = 1;
    char msg[FM_MSG_LEN];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(help, stdout); return 0; }
        if (a[0] != '-') {
            if (!fm_arg_positional(a)) return 2;
            if (out) { fprintf(stderr, "factormer: more than one output file\n"); return 2; }
            out = a;
            continue;
        }
        if (!(v = fm_arg_value(argc, argv, &i))) return 2;
        bool ok;
        nmf_option = nmf_option || (strcmp(a, "--seed") && strcmp(a, "--density") && strcmp(a, "--spd") &&
                                    strcmp(a, "--size") && strcmp(a, "--rhs") && strcmp(a, "--general") &&
                                    strcmp(a, "--peclet"));
        if (!strcmp(a, "--spd")) {
            spd = ok = true;
            if (!strcmp(v, "random")) r.spd = FM_SPD_RANDOM;
            else if (!strcmp(v, "diffusion")) r.spd = FM_SPD_DIFFUSION;
            else { fprintf(stderr, "factormer: --spd expects random or diffusion, not '%s'\n", fm_arg_shown(v)); return 2; }
        }
        else if (!strcmp(a, "--general")) {
            r.general = ok = true;
            if (fm_general_kind_parse(&r.kind, v, msg)) {
                fprintf(stderr, "factormer: --general expects convection or random, not '%s'\n", fm_arg_shown(v));
                return 2;
            }
        }
        else if (!strcmp(a, "--peclet")) ok = r.have_peclet = peclet_range(v, &r.peclet_min, &r.peclet_max);
        else if (!strcmp(a, "--size")) ok = fm_arg_int(a, v, 1, 1L << 31, &size);
        else if (!strcmp(a, "--rhs")) { rhs = v; ok = true; }
        else if (!strcmp(a, "--rows")) ok = fm_arg_int(a, v, 1, 1L << 40, &rows);
        else if (!strcmp(a, "--cols")) ok = fm_arg_int(a, v, 1, 1L << 40, &cols);
        else if (!strcmp(a, "--rank")) ok = fm_arg_int(a, v, 1, 100000, &rank);
        else if (!strcmp(a, "--seed")) ok = fm_arg_int(a, v, 0, 1L << 62, &seed);
        else if (!strcmp(a, "--noise")) ok = fm_arg_double(a, v, 0, 1e30, &noise);
        else if (!strcmp(a, "--density")) { ok = fm_arg_double(a, v, 1e-12, 1, &density); have_density = true; }
        else if (!strcmp(a, "--entries")) ok = fm_arg_int(a, v, 1, 1L << 40, &entries);
        else if (!strcmp(a, "--family")) {
            if (fm_train_family_parse(&family, v, msg) || !fm_train_family_like_real_data(family)) {
                fprintf(stderr, "factormer: --family expects counts, images, ratings, spectra or scenes, not '%s'\n",
                        fm_arg_shown(v));
                return 2;
            }
            have_family = ok = true;
        }
        else if (!strcmp(a, "--degrees")) {
            if (fm_degrees_parse(&degrees, v, msg)) { fprintf(stderr, "factormer: %s\n", msg); return 2; }
            have_degrees = ok = true;
        }
        else { fprintf(stderr, "factormer: unknown option '%s'\n", a); return 2; }
        if (!ok) return 2;
    }
    if (spd || r.general || size || rhs || r.have_peclet) {
        const char *which = r.general ? "--general" : "--spd";
        if (spd && r.general) { fprintf(stderr, "factormer: give --spd or --general, not both\n"); return 2; }
        if (r.have_peclet && !(r.general && r.kind == FM_GENERAL_CONVECTION)) {
            fprintf(stderr, "factormer: --peclet belongs to --general convection\n");
            return 2;
        }
        if (!spd && !r.general) {
            fprintf(stderr, "factormer: --size and --rhs belong to --spd random|diffusion or --general "
                    "convection|random\n");
            return 2;
        }
        if (nmf_option) {
            fprintf(stderr, "factormer: %s takes --size, --seed, --density%s and --rhs; --rows, --cols, --rank, "
                    "--noise, --entries and --degrees belong to the planted nonnegative matrix\n", which,
                    r.general ? ", --peclet" : "");
            return 2;
        }
        if (!out || !size) { fprintf(stderr, "factormer: generate %s needs OUT.mtx and --size\n%s", which, help); return 2; }
        if (have_density && (r.general ? r.kind != FM_GENERAL_RANDOM : r.spd != FM_SPD_RANDOM)) {
            fprintf(stderr, "factormer: --density belongs to %s random, not %s\n", which,
                    r.general ? "convection" : "diffusion");
            return 2;
        }
        r.size = size;
        r.seed = seed;
        r.density = density;
        r.have_density = have_density;
        return generate_system(out, rhs, &r);
    }
    if (!out || !rows || !cols) { fprintf(stderr, "factormer: generate needs OUT.mtx, --rows and --cols\n%s", help); return 2; }
    if (entries && have_density) { fprintf(stderr, "factormer: give --density or --entries, not both\n"); return 2; }
    if (have_degrees && !entries) { fprintf(stderr, "factormer: --degrees needs --entries\n"); return 2; }
    if (have_family && have_density && family != FM_FAMILY_RATINGS) {
        fprintf(stderr, "factormer: --density belongs to --family ratings (the share observed)\n");
        return 2;
    }
    if (have_family && (entries || noise > 0)) {
        fprintf(stderr, "factormer: --family draws its own noise and pattern: not with --noise or --entries\n");
        return 2;
    }
    const int checked = fm_output_check(out, "the output file", msg);   // before the work
    if (checked) { fprintf(stderr, "factormer: %s\n", msg); return checked == FM_ERR_INVALID ? 2 : 1; }
    fm_triplets *t = NULL;
    fm_dense view = { 0 };
    char comment[256];
    int status;
    if (have_family) {
        snprintf(comment, sizeof comment, "factormer generate: the %s family, planted rank %ld, seed %ld",
                 fm_train_family_name(family), rank, seed);
        status = fm_train_family_triplets(&t, family, rows, cols, (int)rank, have_density ? density : 0.1,
                                          (uint64_t)seed, msg);
    } else if (entries) {
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
