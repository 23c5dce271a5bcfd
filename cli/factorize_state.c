// factorize --init-from and --save-state: the factors (and ADMM duals) of an
// earlier run read back for a warm start, and the duals written beside the
// factors. The duals name the factors they belong to by a fingerprint (FNV-1a
// of the factors' float values), so that duals left by an older run under
// the same prefix are not carried into a continuation of a newer one.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factorize.h"
#include "mtx_signed.h"
#include "status.h"

#define FINGERPRINT_KEY "factormer-factors"

// Over the values as the files hold them: -0 reads back as +0.
static uint64_t fnv1a(uint64_t hash, const fm_dense *d)
{
    for (int64_t e = 0; e < d->rows * d->cols; e++) {
        const float v = d->data[e] + 0.0f;
        unsigned char bytes[sizeof v];
        memcpy(bytes, &v, sizeof v);
        for (size_t i = 0; i < sizeof v; i++) hash = (hash ^ bytes[i]) * UINT64_C(0x100000001b3);
    }
    return hash;
}

// The fingerprint of W and H as 16 hex digits (17 bytes).
static void fingerprint(char *out, const fm_dense *W, const fm_dense *H)
{
    snprintf(out, 17, "%016" PRIx64, fnv1a(fnv1a(UINT64_C(0xcbf29ce484222325), W), H));
}

static void path_of(char *out, size_t size, const char *prefix, const char *suffix)
{
    snprintf(out, size, "%s%s", prefix, suffix);
}

// The duals of PREFIX, if both files are there and name these factors; else
// a note says what was found and not used.
static int read_duals(fm_factorize_state *s, const char *prefix, char *msg)
{
    char path_w[4200], path_h[4200], fw[64], fh[64], expected[17];
    path_of(path_w, sizeof path_w, prefix, ".duals.W.mtx");
    path_of(path_h, sizeof path_h, prefix, ".duals.H.mtx");
    const bool have_w = access(path_w, F_OK) == 0, have_h = access(path_h, F_OK) == 0;
    if (!have_w && !have_h) return FM_OK;
    if (have_w != have_h) {
        snprintf(s->note, sizeof s->note, "%s is there without %s: continuing with zero duals",
                 fm_arg_shown(have_w ? path_w : path_h), fm_arg_shown(have_w ? path_h : path_w));
        return FM_OK;
    }
    int status = fm_mtx_read_signed(&s->dual_W, path_w, s->W->rows, s->W->cols, FINGERPRINT_KEY, fw, sizeof fw, msg);
    if (status == FM_OK)
        status = fm_mtx_read_signed(&s->dual_H, path_h, s->H->rows, s->H->cols, FINGERPRINT_KEY, fh, sizeof fh, msg);
    if (status) return status;
    fingerprint(expected, s->W, s->H);
    if (strcmp(fw, expected) || strcmp(fh, expected)) {
        snprintf(s->note, sizeof s->note, "the duals %s and %s belong to other factors than %s.W.mtx and "
                 "%s.H.mtx (an earlier run's): continuing with zero duals", fm_arg_shown(path_w),
                 fm_arg_shown(path_h), fm_arg_shown(prefix), fm_arg_shown(prefix));
        fm_dense_free(&s->dual_W);
        fm_dense_free(&s->dual_H);
    }
    return FM_OK;
}

int fm_factorize_state_read(fm_factorize_state *s, const char *prefix, int *rank, char *msg)
{
    char path_w[4200], path_h[4200];
    path_of(path_w, sizeof path_w, prefix, ".W.mtx");
    path_of(path_h, sizeof path_h, prefix, ".H.mtx");
    int status = fm_mtx_read_dense(&s->W, path_w, msg);
    if (status == FM_OK) status = fm_mtx_read_dense(&s->H, path_h, msg);
    if (status) return status;
    if (s->W->cols != s->H->rows)
        return fm_fail(FM_ERR_INVALID, msg, "--init-from %s: %s is %lld x %lld and %s %lld x %lld: not the factors "
                       "W (rows x rank) and H (rank x cols) of one run", prefix, path_w, (long long)s->W->rows,
                       (long long)s->W->cols, path_h, (long long)s->H->rows, (long long)s->H->cols);
    if (s->W->cols > FM_MAX_RANK)
        return fm_fail(FM_ERR_INVALID, msg, "--init-from %s: the factors are of rank %lld, above the maximum %d",
                       prefix, (long long)s->W->cols, FM_MAX_RANK);
    if (*rank > 0 && *rank != s->W->cols)
        return fm_fail(FM_ERR_INVALID, msg, "--rank %d, but the factors of --init-from %s are of rank %lld (%s is "
                       "%lld x %lld): give their rank, or leave --rank out", *rank, prefix, (long long)s->W->cols,
                       path_w, (long long)s->W->rows, (long long)s->W->cols);
    *rank = (int)s->W->cols;
    return read_duals(s, prefix, msg);
}

int fm_factorize_state_check(const fm_factorize_state *s, const char *prefix, int64_t rows, int64_t cols,
                             char *msg)
{
    if (s->W->rows != rows || s->H->cols != cols)
        return fm_fail(FM_ERR_INVALID, msg, "--init-from %s: the factors are %lld x %lld and %lld x %lld, which "
                       "do not fit the %lld x %lld data (W needs a row per data row, H a column per data column)",
                       prefix, (long long)s->W->rows, (long long)s->W->cols, (long long)s->H->rows,
                       (long long)s->H->cols, (long long)rows, (long long)cols);
    return FM_OK;
}

void fm_factorize_state_free(fm_factorize_state *s)
{
    fm_dense_free(&s->W);
    fm_dense_free(&s->H);
    fm_dense_free(&s->dual_W);
    fm_dense_free(&s->dual_H);
}

int fm_factorize_state_write(const char *dual_w_path, const char *dual_h_path, const fm_solver_result *r,
                             const char *comment, char *msg)
{
    char print[17];
    fingerprint(print, r->W, r->H);
    for (int f = 0; f < 2; f++) {
        char head[256];
        snprintf(head, sizeof head, "factormer: the ADMM's scaled duals of %s, for factorize --init-from\n"
                 FINGERPRINT_KEY " %s\n", f ? "H" : "W", print);
        const size_t size = strlen(head) + strlen(comment) + 1;
        char *text = malloc(size);
        if (!text) return fm_fail(FM_ERR_MEMORY, msg, "out of memory");
        snprintf(text, size, "%s%s", head, comment);
        const int status = fm_mtx_write_dense(f ? dual_h_path : dual_w_path, f ? r->dual_H : r->dual_W, text, msg);
        free(text);
        if (status) return status;
    }
    return FM_OK;
}
