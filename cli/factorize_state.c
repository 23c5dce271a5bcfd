// factorize --init-from and --save-state: the factors of an earlier run and
// the solver's state beside them (models/nmf/warm_start.c) read back for a
// warm start, and that state written beside the factors. The state is two
// matrices, PREFIX.state.W.mtx and PREFIX.state.H.mtx, in W's and H's
// layouts: in the ADMM phase its scaled duals, in the exact phase the
// accepted iterate before the last (the extrapolation's X_prev; the factors
// themselves when the phase does not extrapolate). The comment line
//
//   %factormer-state factors FINGERPRINT phase admm|exact iterations N
//                    [extrapolating 0|1 moved 0|1 beta B ceiling C
//                     objective F residual R]
//
// (one line) of each file gives the rest. The fingerprint (FNV-1a of the
// factors' float values) names the factors the state belongs to, so that a
// state left by an older run under the same prefix is not carried into a
// continuation of a newer one.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factorize.h"
#include "mtx_signed.h"
#include "status.h"

#define STATE_KEY "factormer-state"

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

// The state line's words after "factors FINGERPRINT" into *state; false
// when it is not such a line.
static bool parse_state(const char *line, char *print, fm_solver_state *state)
{
    char phase[16];
    int used = 0;
    if (sscanf(line, "factors %16s phase %15s iterations %d%n", print, phase, &state->iterations, &used) != 3)
        return false;
    if (!strcmp(phase, "admm")) return line[used] == 0 && state->iterations >= 0;
    if (strcmp(phase, "exact") || state->iterations < 0) return false;
    state->exact = true;
    int extrapolating, moved, rest = 0;
    if (sscanf(line + used, " extrapolating %d moved %d beta %lf ceiling %lf objective %lf residual %lf%n",
               &extrapolating, &moved, &state->beta, &state->ceiling, &state->objective, &state->residual,
               &rest) != 6 || line[used + rest] != 0 || (unsigned)extrapolating > 1 || (unsigned)moved > 1)
        return false;
    state->extrapolating = extrapolating;
    state->moved = moved;
    return true;
}

// The state of PREFIX, if both files are there and name these factors; else
// a note says what was found and not used.
static int read_state(fm_factorize_state *s, const char *prefix, char *msg)
{
    char path_w[4200], path_h[4200], line_w[512], line_h[512], print[17], expected[17];
    path_of(path_w, sizeof path_w, prefix, ".state.W.mtx");
    path_of(path_h, sizeof path_h, prefix, ".state.H.mtx");
    const bool have_w = access(path_w, F_OK) == 0, have_h = access(path_h, F_OK) == 0;
    if (!have_w && !have_h) return FM_OK;
    if (have_w != have_h) {
        snprintf(s->note, sizeof s->note, "%s is there without %s: continuing from the factors alone",
                 fm_arg_shown(have_w ? path_w : path_h), fm_arg_shown(have_w ? path_h : path_w));
        return FM_OK;
    }
    fm_dense *W = NULL, *H = NULL;
    int status = fm_mtx_read_signed(&W, path_w, s->W->rows, s->W->cols, STATE_KEY, line_w, sizeof line_w, msg);
    if (status == FM_OK)
        status = fm_mtx_read_signed(&H, path_h, s->H->rows, s->H->cols, STATE_KEY, line_h, sizeof line_h, msg);
    fm_solver_state state = { 0 };
    if (status == FM_OK && !parse_state(line_w, print, &state))
        status = fm_fail(FM_ERR_PARSE, msg, "%s: expected the comment line \"%%" STATE_KEY " factors FINGERPRINT "
                         "phase admm|exact iterations N ...\" before the size line, found \"%s\"", path_w, line_w);
    if (status == FM_OK && strcmp(line_w, line_h))
        status = fm_fail(FM_ERR_PARSE, msg, "%s and %s: the state lines differ (\"%s\" and \"%s\"): not the state "
                         "of one run", path_w, path_h, line_w, line_h);
    if (status) {
        fm_dense_free(&W);
        fm_dense_free(&H);
        return status;
    }
    fingerprint(expected, s->W, s->H);
    if (strcmp(print, expected)) {
        snprintf(s->note, sizeof s->note, "the state %s and %s belongs to other factors than %s.W.mtx and "
                 "%s.H.mtx (an earlier run's): continuing from the factors alone", fm_arg_shown(path_w),
                 fm_arg_shown(path_h), fm_arg_shown(prefix), fm_arg_shown(prefix));
        fm_dense_free(&W);
        fm_dense_free(&H);
        return FM_OK;
    }
    s->state = state;
    s->carried = true;
    if (!state.exact) {   // the ADMM phase: its duals
        s->dual_W = W;
        s->dual_H = H;
    } else if (state.extrapolating) {   // the exact phase's previous iterate
        s->prev_W = W;
        s->prev_H = H;
    } else {   // the factors themselves: no more state
        fm_dense_free(&W);
        fm_dense_free(&H);
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
    return read_state(s, prefix, msg);
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
    fm_dense_free(&s->prev_W);
    fm_dense_free(&s->prev_H);
}

int fm_factorize_state_write(const char *path_w, const char *path_h, const fm_solver_result *r,
                             const char *comment, char *msg)
{
    const fm_solver_state *state = &r->state;
    char print[17], line[400];
    fingerprint(print, r->W, r->H);
    int used = snprintf(line, sizeof line, STATE_KEY " factors %s phase %s iterations %d", print,
                        state->exact ? "exact" : "admm", state->iterations);
    if (state->exact)
        snprintf(line + used, sizeof line - used, " extrapolating %d moved %d beta %.17g ceiling %.17g objective %.17g "
                 "residual %.17g", state->extrapolating, state->moved, state->beta, state->ceiling, state->objective,
                 state->residual);
    const char *what = !state->exact ? "the ADMM's scaled duals"
                       : state->extrapolating ? "the exact phase's previous accepted iterate (the extrapolation's)"
                                              : "the factors (the exact phase without extrapolation keeps no more)";
    for (int f = 0; f < 2; f++) {
        const fm_dense *matrix = state->exact ? (f ? r->prev_H : r->prev_W) : (f ? r->dual_H : r->dual_W);
        if (!matrix) return fm_fail(FM_ERR_INVALID, msg, "the run kept no state to save (keep_duals)");
        char head[1024];
        snprintf(head, sizeof head, "factormer: the solver's state of %s for factorize --init-from: %s\n%s\n",
                 f ? "H" : "W", what, line);
        const size_t size = strlen(head) + strlen(comment) + 1;
        char *text = malloc(size);
        if (!text) return fm_fail(FM_ERR_MEMORY, msg, "out of memory");
        snprintf(text, size, "%s%s", head, comment);
        const int status = fm_mtx_write_dense(f ? path_h : path_w, matrix, text, msg);
        free(text);
        if (status) return status;
    }
    return FM_OK;
}
