// A program that uses an installed factormer, as any user's would: it
// includes factormer.h alone and links the library the package names
// (tests/install/test_install.sh builds it with find_package and with
// pkg-config).
//
// usage: consumer [MODELS_DIR]
//
// Factorizes X = W0·H0, a 40 x 30 nonnegative matrix of rank 2, at rank 2.
// An exact nonnegative factorization of rank 2 exists, so the fit must come
// close to it: an RMSE below 1% of X's root mean square, where the best
// rank-1 fit of this X leaves 11% (σ2 / ‖X‖_F = 68.1 / 624.6). With MODELS_DIR, also starts a rank-10 run from the learned
// initialization with no model file named, and checks that the model came
// from MODELS_DIR. Exits 0 when every check holds.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <factormer.h>

enum { ROWS = 40, COLS = 30 };

static int failed(const char *what, const char *msg)
{
    fprintf(stderr, "consumer: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    return 1;
}

// fm_solver_run with `opts`, then the RMSE of its fit, into *rmse.
static int factorize(fm_solver_result **r, double *rmse, fm_graph *g, const fm_solver_options *opts, char *msg)
{
    int status = fm_solver_run(r, g, NULL, opts, msg);
    if (status == FM_OK) status = fm_rmse(rmse, g, (*r)->W, (*r)->H, msg);
    return status;
}

int main(int argc, char **argv)
{
    char msg[FM_MSG_LEN], version[32];
    snprintf(version, sizeof version, "%d.%d.%d", FACTORMER_VERSION_MAJOR, FACTORMER_VERSION_MINOR,
             FACTORMER_VERSION_PATCH);
    if (strcmp(fm_version(), version) != 0) return failed("the library's version is not the header's", version);
    if (fm_init(msg) != FM_OK) return failed("fm_init", msg);

    // W0 (ROWS x 2) and H0 (2 x COLS): two nonnegative, far from parallel profiles
    static float X[ROWS * COLS];
    double sumsq = 0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            const double w0 = 1 + i % 5, w1 = 1 + (3 * i) % 7, h0 = 1 + j % 4, h1 = (2 * j) % 5;
            X[i * COLS + j] = (float)(w0 * h0 + w1 * h1);
            sumsq += (double)X[i * COLS + j] * X[i * COLS + j];
        }
    const double rms = sqrt(sumsq / (ROWS * COLS));

    fm_graph *g = NULL;
    fm_solver_result *r = NULL;
    if (fm_graph_from_dense(&g, ROWS, COLS, X, FM_KIND_DENSE, msg) != FM_OK) return failed("fm_graph_from_dense", msg);
    fm_solver_options opts;
    fm_solver_options_default(&opts);
    opts.rank = 2;
    opts.iters = 500;
    opts.tol = 0;
    double rmse = NAN;
    int status = factorize(&r, &rmse, g, &opts, msg);
    if (status != FM_OK) return failed("fm_solver_run", msg);
    printf("factorized a %dx%d matrix of rank 2 at rank 2 (factormer %s): RMSE %.3g, %.2g%% of X's RMS\n", ROWS,
           COLS, fm_version(), rmse, 100 * rmse / rms);
    const bool fits = r->W->rows == ROWS && r->W->cols == 2 && r->H->rows == 2 && r->H->cols == COLS &&
                      rmse < 0.01 * rms;
    fm_solver_result_free(&r);
    if (!fits) return failed("the fit is not within 1% of X's RMS, or the factors have the wrong shape", NULL);

    if (argc > 1) {
        opts.rank = 10;   // the shipped model of any rank serves it
        opts.iters = 1;
        opts.init = FM_INIT_LEARNED;
        status = factorize(&r, &rmse, g, &opts, msg);
        if (status != FM_OK) return failed("fm_solver_run from the learned initialization", msg);
        char want[4096];
        snprintf(want, sizeof want, "%s/init.fmw", argv[1]);
        printf("learned initialization from %s\n", r->init_model ? r->init_model : "(none)");
        const bool from_dir = r->init_model && strcmp(r->init_model, want) == 0;
        fm_solver_result_free(&r);
        if (!from_dir) return failed("the learned initialization's model is not", want);
    }
    fm_graph_free(&g);
    fm_finalize();
    return 0;
}
