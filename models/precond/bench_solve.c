// Every preconditioner side by side on the same systems: see bench_solve.h.
#include "bench_solve.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bandwidth.h"
#include "mtx_system.h"
#include "report.h"
#include "general_data.h"
#include "spd_data.h"
#include "status.h"

static const char *const set_names[] = {"files", "random-spd", "diffusion", "convection", "random-general"};

const char *fm_bench_solve_set_name(fm_bench_solve_set set)
{
    return set >= FM_BENCH_SOLVE_FILES && set <= FM_BENCH_SOLVE_RANDOM_GENERAL ? set_names[set] : "unknown";
}

int fm_bench_solve_set_parse(fm_bench_solve_set *out, const char *text, char *msg)
{
    for (int s = FM_BENCH_SOLVE_RANDOM_SPD; s <= FM_BENCH_SOLVE_RANDOM_GENERAL; s++)
        if (!strcmp(text, set_names[s])) {
            *out = (fm_bench_solve_set)s;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "--set must be random-spd, diffusion (CG), convection or random-general "
                   "(GMRES), not '%s'", text);
}

fm_solve_method fm_bench_solve_set_method(fm_bench_solve_set set, fm_solve_method files_method)
{
    switch (set) {
    case FM_BENCH_SOLVE_RANDOM_SPD: case FM_BENCH_SOLVE_DIFFUSION: return FM_SOLVE_CG;
    case FM_BENCH_SOLVE_CONVECTION: case FM_BENCH_SOLVE_RANDOM_GENERAL: return FM_SOLVE_GMRES;
    default: return files_method;
    }
}

const char *fm_bench_solve_method_name(int method)
{
    return method == FM_BENCH_ILUT_SECOND ? "ilut2" : fm_solve_precond_name((fm_solve_precond)method);
}

// The preconditioner a method runs.
static fm_solve_precond precond_of(int method)
{
    return method == FM_BENCH_ILUT_SECOND ? FM_SOLVE_ILUT : (fm_solve_precond)method;
}

int fm_bench_solve_methods_parse(bool methods[FM_BENCH_METHODS], const char *list, char *msg)
{
    bool chosen[FM_BENCH_METHODS] = { false };
    const char *at = list;
    for (;;) {
        const size_t len = strcspn(at, ",");
        char name[32];
        if (len == 0 || len >= sizeof name)
            return fm_fail(FM_ERR_INVALID, msg, "--methods expects names among none, jacobi, ic0, neuralif, direct, "
                                                "ilu0, ilut, ilut2, learned-lu separated by commas, not '%s'", list);
        memcpy(name, at, len);
        name[len] = 0;
        fm_solve_precond p;
        if (!strcmp(name, "ilut2")) chosen[FM_BENCH_ILUT_SECOND] = true;
        else if (fm_solve_precond_parse(&p, name, msg))
            return fm_fail(FM_ERR_INVALID, msg, "--methods: '%s' is none of none, jacobi, ic0, neuralif, direct, "
                           "ilu0, ilut, ilut2, learned-lu", name);
        else chosen[p] = true;
        if (!at[len]) break;
        at += len + 1;
    }
    memcpy(methods, chosen, sizeof chosen);
    return FM_OK;
}

void fm_bench_solve_defaults(fm_bench_solve_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->set = FM_BENCH_SOLVE_RANDOM_SPD;
    opt->count = 10;
    opt->size = 0;   // the set's default
    opt->method = FM_SOLVE_CG;
    opt->tol = 1e-6;
    opt->restart = 50;
    opt->bandwidth_seconds = 0.3;
    fm_neuralif_defaults(&opt->inference);
    fm_ilut_defaults(&opt->ilut);
    opt->ilut_second_drop = 1e-2;
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Linear interpolation between order statistics (type 7).
static double quantile(const double *sorted, int64_t n, double q)
{
    const double at = q * (double)(n - 1);
    const int64_t lo = (int64_t)floor(at);
    const int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (at - (double)lo) * (sorted[hi] - sorted[lo]);
}

fm_quartiles fm_quartiles_of(double *x, int64_t n)
{
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(x[i])) x[kept++] = x[i];
    if (kept == 0) return (fm_quartiles){ NAN, NAN, NAN };
    qsort(x, (size_t)kept, sizeof *x, compare_double);
    return (fm_quartiles){ quantile(x, kept, 0.25), quantile(x, kept, 0.5), quantile(x, kept, 0.75) };
}

//------------------------------------------------------------------------------
// Rates
//------------------------------------------------------------------------------

// Calls of `run` per timing so that each moves at least ~4 MB; the best of 5.
#define TIME_BEST(seconds, bytes, run)                                            \
    do {                                                                          \
        const int64_t inner_ = (bytes) < 4e6 ? (int64_t)(4e6 / (bytes)) + 1 : 1; \
        run;                                                                      \
        (seconds) = INFINITY;                                                     \
        for (int rep_ = 0; rep_ < 5; rep_++) {                                    \
            const double t0_ = omp_get_wtime();                                   \
            for (int64_t k_ = 0; k_ < inner_; k_++) run;                          \
            const double t_ = (omp_get_wtime() - t0_) / (double)inner_;           \
            if (t_ < (seconds)) (seconds) = t_;                                   \
        }                                                                         \
    } while (0)

// y = A x reads each stored entry once (an 8-byte column index and an 8-byte
// value), the n + 1 row offsets (8 bytes each), x once (n doubles, assuming
// it stays in cache between the rows that reuse it) and writes y (n
// doubles): 16·nnz + 24·n + 8 bytes. The least any SpMV over this CSR must
// move, so the rate is a lower bound of the traffic the hardware served.
static double spmv_bytes(const fm_csr *A)
{
    return 16.0 * (double)A->count + 24.0 * (double)A->n + 8.0;
}

// One application of M = L U (U = Lᵀ for a Cholesky factor) is two
// triangular solves, each reading its factor once (16 bytes an entry, 8 per
// row offset), b once and writing x once (n doubles each; the earlier x_j a
// row reads assumed in cache): 16·(nnz(L) + nnz(U)) + 48·n + 16 bytes.
static double apply_bytes(const fm_csr *L, const fm_csr *U)
{
    return 16.0 * (double)(L->count + U->count) + 48.0 * (double)L->n + 16.0;
}

static int rates(fm_bench_solve_row *row, const fm_square *A, const fm_precond *M, double spmv_gbs, char *msg)
{
    double *x = NULL, *y = NULL;
#define FREE_ALL free(x), free(y)
    row->spmv_gbs = spmv_gbs;
    row->apply_gbs = NAN;
    const fm_csr *L = M ? fm_precond_lower(M) : NULL, *U = M ? fm_precond_upper(M) : NULL;
    if (!L || !U) {
        FREE_ALL;
        return FM_OK;
    }
    FM_ALLOC(x, A->n);
    FM_ALLOC(y, A->n);
    for (int64_t i = 0; i < A->n; i++) x[i] = 1.0 + 1e-3 * (double)(i % 7);
    const double bytes = apply_bytes(L, U);
    double seconds;
    TIME_BEST(seconds, bytes, fm_precond_apply(M, x, y));
    row->apply_gbs = bytes / seconds / 1e9;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int spmv_rate(double *gbs, const fm_square *A, char *msg)
{
    double *x = NULL, *y = NULL;
#define FREE_ALL free(x), free(y)
    FM_ALLOC(x, A->n);
    FM_ALLOC(y, A->n);
    for (int64_t i = 0; i < A->n; i++) x[i] = 1.0 + 1e-3 * (double)(i % 7);
    const double bytes = spmv_bytes(A->A);
    double seconds;
    TIME_BEST(seconds, bytes, fm_spmv(A->A, x, y));
    *gbs = bytes / seconds / 1e9;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The systems
//------------------------------------------------------------------------------

static int64_t system_count(const fm_bench_solve_options *opt)
{
    return opt->set == FM_BENCH_SOLVE_FILES ? opt->file_count : opt->count;
}

// System k of the set: A, b and its name.
static int system_get(fm_square **A, double **b, char *name, size_t size_name, const fm_bench_solve_options *opt,
                      int64_t k, char *msg)
{
    if (opt->set == FM_BENCH_SOLVE_FILES) {
        snprintf(name, size_name, "%s", opt->files[k]);
        return fm_solve_read(A, b, opt->files[k], NULL, opt->method, msg);
    }
    fm_system_matrix *sys = NULL;
    fm_square *g = NULL;
    double *rhs = NULL;
#define FREE_ALL fm_system_matrix_free(&sys), fm_square_free(&g), free(rhs)
    // the test seeds (spd_data.h): never a training or validation matrix
    uint64_t seed;
    FM_TRY(fm_spd_seed(&seed, FM_SPD_TEST, k, msg));
    const bool random = opt->set == FM_BENCH_SOLVE_RANDOM_SPD || opt->set == FM_BENCH_SOLVE_RANDOM_GENERAL;
    const int64_t size = opt->size > 0                                     ? opt->size
                         : opt->set == FM_BENCH_SOLVE_RANDOM_SPD          ? 10000
                         : opt->set == FM_BENCH_SOLVE_RANDOM_GENERAL      ? 2000
                                                                          : 100;
    const char *set = fm_bench_solve_set_name(opt->set);
    if (random) snprintf(name, size_name, "%s n=%lld seed=%llu", set, (long long)size, (unsigned long long)seed);
    else
        snprintf(name, size_name, "%s %lldx%lld seed=%llu", set, (long long)size, (long long)size,
                 (unsigned long long)seed);
    if (opt->set == FM_BENCH_SOLVE_CONVECTION || opt->set == FM_BENCH_SOLVE_RANDOM_GENERAL) {
        fm_general_options o;
        fm_general_random_defaults(&o, size);   // as the trainer draws them
        FM_TRY(fm_general_generate(&sys, &rhs, random ? FM_GENERAL_RANDOM : FM_GENERAL_CONVECTION, size, seed, &o,
                                   NULL, msg));
    }
    else FM_TRY(fm_spd_generate(&sys, &rhs, random ? FM_SPD_RANDOM : FM_SPD_DIFFUSION, size, seed, NULL, msg));
    FM_TRY(fm_square_from_triplets(&g, sys->n, sys->count, sys->row, sys->col, sys->val, sys->symmetric, msg));
    FM_TRY(fm_solve_check(g, name, fm_bench_solve_set_method(opt->set, opt->method), msg));
    fm_system_matrix_free(&sys);
    *A = g;
    *b = rhs;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The benchmark
//------------------------------------------------------------------------------

void fm_bench_solve_report_free(fm_bench_solve_report **r)
{
    if (!r || !*r) return;
    for (int64_t i = 0; i < (*r)->row_count; i++) free((*r)->rows[i].trace);
    free((*r)->rows);
    free((*r)->model);
    free((*r)->lu_model);
    free(*r);
    *r = NULL;
}

static void summarize(fm_bench_solve_report *r, double *scratch)
{
    for (int m = 0; m < FM_BENCH_METHODS; m++) {
        fm_bench_solve_method *s = &r->methods[m];
        if (!s->ran) continue;
        int64_t n;
#define FIGURE(field, expr)                                                                   \
        n = 0;                                                                                \
        for (int64_t i = 0; i < r->row_count; i++)                                            \
            if (r->rows[i].method == m) scratch[n++] = (expr);                                \
        s->field = fm_quartiles_of(scratch, n)
        FIGURE(iterations, r->rows[i].failed ? NAN : (double)r->rows[i].iterations);
        FIGURE(setup_seconds, r->rows[i].setup_seconds);
        FIGURE(solve_seconds, r->rows[i].solve_seconds);
        FIGURE(total_seconds, r->rows[i].total_seconds);
        FIGURE(spmv_gbs, r->rows[i].spmv_gbs);
        FIGURE(apply_gbs, r->rows[i].apply_gbs);
#undef FIGURE
        s->systems = s->converged = 0;
        for (int64_t i = 0; i < r->row_count; i++)
            if (r->rows[i].method == m) {
                s->systems++;
                s->converged += r->rows[i].converged;
            }
    }
}

// A method that failed on a system (`msg` says why): a row with NaN figures
// and a one-row trace (the start), and the first failure of each method in
// the note.
static int record_failure(fm_bench_solve_report *r, fm_bench_solve_row *row, const char *name, int method,
                          const fm_square *A, char *msg)
{
#define FREE_ALL
    *row = (fm_bench_solve_row){ .n = A->n, .entries = A->A->count, .method = method, .failed = true,
                                 .iterations = 0, .relative_residual = NAN, .setup_seconds = NAN,
                                 .solve_seconds = NAN, .total_seconds = NAN, .shift = NAN, .spmv_gbs = NAN,
                                 .apply_gbs = NAN };
    snprintf(row->matrix, sizeof row->matrix, "%s", name);
    FM_ALLOC(row->trace, 1);
    row->trace[0] = (fm_solve_step){ 0, 0.0, 1.0 };
    row->trace_len = 1;
    if (!r->methods[method].failed++) {
        const size_t used = strlen(r->note);
        snprintf(r->note + used, sizeof r->note - used, "%s%s failed on %.100s: %.200s", used ? "; " : "",
                 fm_bench_solve_method_name(method), name, msg);
    }
    r->methods[method].ran = true;
    r->row_count++;
    return FM_OK;
#undef FREE_ALL
}

// A learned method needs its model: none found is a note (the method is
// skipped), not an error; a model named, or found but unreadable, is an
// error. `*path_out` is the path to load, or NULL when skipped.
static int locate_model(const char **path_out, char *found, size_t size, fm_bench_solve_report *r, int method,
                        const char *given, int methods, char *msg)
{
#define FREE_ALL
    *path_out = NULL;
    char why[FM_MSG_LEN];
    const int located = given ? FM_OK
                        : method == FM_SOLVE_NEURALIF ? fm_neuralif_default_path(found, size, why)
                                                      : fm_learned_lu_default_path(found, size, why);
    if (!given && located == FM_OK && access(found, R_OK) != 0)
        snprintf(why, sizeof why, "no model at %.400s (give --model)", found);
    if (!given && (located != FM_OK || access(found, R_OK) != 0)) {
        const size_t used = strlen(r->note);
        snprintf(r->note + used, sizeof r->note - used, "%s%s skipped: %.200s", used ? "; " : "",
                 fm_bench_solve_method_name(method), why);
        r->options.methods[method] = false;
        FM_CHECK(methods > 1, FM_ERR_IO, "bench solve: %s, and no other method was asked for", r->note);
        return FM_OK;
    }
    *path_out = given ? given : found;
    return FM_OK;
#undef FREE_ALL
}

int fm_bench_solve(fm_bench_solve_report **out, const fm_bench_solve_options *opt, char *msg)
{
    fm_bench_solve_report *r = NULL;
    fm_neuralif *network = NULL;
    fm_learned_lu *lu_network = NULL;
    fm_square *A = NULL;
    double *b = NULL, *scratch = NULL;
    fm_solve_result *s = NULL;
#define FREE_ALL                                                                                        \
    fm_bench_solve_report_free(&r), fm_neuralif_free(&network), fm_learned_lu_free(&lu_network),          \
        fm_square_free(&A), free(b), free(scratch), fm_solve_result_free(&s)
    *out = NULL;
    const int64_t systems = system_count(opt);
    FM_CHECK(systems > 0, FM_ERR_INVALID, "bench solve: no systems (give matrix files, or --count of at least 1)");
    FM_CHECK(opt->tol > 0 && opt->tol < 1, FM_ERR_INVALID, "bench solve: the tolerance must lie in (0, 1)");
    FM_CHECK(opt->restart >= 1 && opt->ilut_second_drop >= 0, FM_ERR_INVALID,
             "bench solve: the restart must be at least 1 and ilut2's drop tolerance not negative");
    FM_ALLOC(r, 1);
    r->options = *opt;
    r->method = fm_bench_solve_set_method(opt->set, opt->method);
    r->threads = fm_get_threads();
    int methods = 0;
    for (int m = 0; m < FM_BENCH_METHODS; m++) {
        const bool takes = fm_solve_method_takes(r->method, precond_of(m));
        if (!opt->methods_given) r->options.methods[m] = takes;
        FM_CHECK(takes || !r->options.methods[m], FM_ERR_INVALID, "bench solve: %s takes %s (and ilut2), not %s",
                 fm_solve_method_name(r->method), fm_solve_method_preconds(r->method), fm_bench_solve_method_name(m));
        methods += r->options.methods[m];
    }
    FM_CHECK(methods > 0, FM_ERR_INVALID, "bench solve: no method to run");
    if (r->options.methods[FM_SOLVE_NEURALIF]) {
        const char *path;
        char found[4096];
        FM_TRY(locate_model(&path, found, sizeof found, r, FM_SOLVE_NEURALIF, opt->model, methods, msg));
        if (path) {
            FM_TRY(fm_neuralif_load(&network, path, msg));
            FM_CHECK(r->model = strdup(path), FM_ERR_MEMORY, "out of memory");
        } else methods--;
    }
    if (r->options.methods[FM_SOLVE_LEARNED_LU]) {
        const char *path;
        char found[4096];
        FM_TRY(locate_model(&path, found, sizeof found, r, FM_SOLVE_LEARNED_LU, opt->lu_model, methods, msg));
        if (path) {
            FM_TRY(fm_learned_lu_load(&lu_network, path, msg));
            FM_CHECK(r->lu_model = strdup(path), FM_ERR_MEMORY, "out of memory");
        }
    }
    r->bandwidth_gbs = NAN;
    if (opt->bandwidth_seconds > 0) FM_TRY(fm_memory_bandwidth(&r->bandwidth_gbs, opt->bandwidth_seconds, msg));

    FM_ALLOC(r->rows, systems * FM_BENCH_METHODS);
    int64_t index = 0, total = 0;
    for (int m = 0; m < FM_BENCH_METHODS; m++) total += r->options.methods[m];
    total *= systems;
    for (int64_t k = 0; k < systems; k++) {
        char name[256];
        FM_TRY(system_get(&A, &b, name, sizeof name, &r->options, k, msg));
        double spmv_gbs = NAN;
        FM_TRY(spmv_rate(&spmv_gbs, A, msg));
        for (int m = 0; m < FM_BENCH_METHODS; m++) {
            if (!r->options.methods[m]) continue;
            fm_solve_options so;
            fm_solve_defaults(&so);
            so.method = r->method;
            so.precond = precond_of(m);
            so.model = m == FM_SOLVE_LEARNED_LU ? r->lu_model : r->model;
            so.network = network;
            so.lu_network = lu_network;
            so.inference = opt->inference;
            so.ilut = opt->ilut;
            if (m == FM_BENCH_ILUT_SECOND) so.ilut.drop_tolerance = opt->ilut_second_drop;
            so.restart = opt->restart;
            so.tol = opt->tol;
            so.max_iters = opt->max_iters;
            so.keep_precond = true;
            const int solved = fm_solve_run(&s, A, b, &so, msg);
            fm_bench_solve_row *row = &r->rows[r->row_count];
            if (solved == FM_ERR_NUMERIC) {
                FM_TRY(record_failure(r, row, name, m, A, msg));
                if (opt->progress) opt->progress(opt->context, row, index, total);
                index++;
                continue;
            }
            if (solved != FM_OK) {
                // name the system the failure is about
                char why[FM_MSG_LEN];
                snprintf(why, sizeof why, "%s", msg);
                const int code = fm_fail(solved, msg, "%s, %s: %s", name, fm_bench_solve_method_name(m), why);
                FREE_ALL;
                return code;
            }
            snprintf(row->matrix, sizeof row->matrix, "%s", name);
            row->n = A->n;
            row->entries = A->A->count;
            row->method = m;
            row->converged = s->converged;
            row->iterations = s->iterations;
            row->relative_residual = s->relative_residual;
            row->setup_seconds = s->setup_seconds;
            row->solve_seconds = s->solve_seconds;
            row->total_seconds = s->total_seconds;
            row->shift = s->shift;
            row->factor_entries = s->factor_entries;
            row->zero_pivots = s->zero_pivots;
            row->has_paths = s->has_paths;
            row->lower_path = s->lower_path;
            row->upper_path = s->upper_path;
            FM_TRY(rates(row, A, s->M, spmv_gbs, msg));
            row->trace = s->trace;
            row->trace_len = s->trace_len;
            s->trace = NULL;
            r->row_count++;
            r->methods[m].ran = true;
            fm_solve_result_free(&s);
            if (opt->progress) opt->progress(opt->context, row, index, total);
            index++;
        }
        fm_square_free(&A);
        free(b);
        b = NULL;
    }
    FM_ALLOC(scratch, r->row_count);
    summarize(r, scratch);
    free(scratch);
    scratch = NULL;
    fm_neuralif_free(&network);
    fm_learned_lu_free(&lu_network);
    *out = r;
    return FM_OK;
#undef FREE_ALL
}

// The first trace row at or below `tol` (the recursive residual PCG stops
// on, GMRES's estimate): its iteration and setup + seconds; -1 and NaN when the run never got
// there (a looser tolerance read off a tighter run: P3's 1e-3 and 1e-6 from
// one run at 1e-8).
static void reached(const fm_bench_solve_row *w, double tol, int64_t *iteration, double *seconds)
{
    *iteration = -1;
    *seconds = NAN;
    for (int64_t t = 0; t < w->trace_len; t++)
        if (w->trace[t].relative_residual <= tol) {
            *iteration = w->trace[t].iteration;
            *seconds = w->setup_seconds + w->trace[t].seconds;
            return;
        }
}

int fm_bench_solve_write_csv(const char *path, const fm_bench_solve_report *r, const char *comment, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    fm_csv_comment(file.f, comment);
    fprintf(file.f, "matrix,n,entries,method,converged,iterations,relative_residual,setup_seconds,solve_seconds,"
                    "total_seconds,shift,factor_entries,spmv_gbs,apply_gbs,bandwidth_gbs,"
                    "iterations_1e-3,total_seconds_1e-3,iterations_1e-6,total_seconds_1e-6,krylov,zero_pivots,"
                    "ilut_drop_tolerance,lower_solve,upper_solve\n");
    for (int64_t i = 0; i < r->row_count; i++) {
        const fm_bench_solve_row *w = &r->rows[i];
        fm_csv_text(file.f, w->matrix);
        fprintf(file.f, ",%lld,%lld,%s,%s,%lld,%.6g,%.6f,%.6f,%.6f,%.6g,%lld,%.4g,", (long long)w->n,
                (long long)w->entries, fm_bench_solve_method_name(w->method), w->converged ? "true" : "false",
                (long long)w->iterations, w->relative_residual, w->setup_seconds, w->solve_seconds, w->total_seconds,
                w->shift, (long long)w->factor_entries, w->spmv_gbs);
        if (!isnan(w->apply_gbs)) fprintf(file.f, "%.4g", w->apply_gbs);
        fputc(',', file.f);
        if (!isnan(r->bandwidth_gbs)) fprintf(file.f, "%.4g", r->bandwidth_gbs);
        for (int q = 0; q < 2; q++) {
            int64_t iteration;
            double seconds;
            reached(w, q ? 1e-6 : 1e-3, &iteration, &seconds);
            if (iteration >= 0) fprintf(file.f, ",%lld,%.6f", (long long)iteration, seconds);
            else fputs(",,", file.f);
        }
        fprintf(file.f, ",%s,%lld,", fm_solve_method_name(r->method), (long long)w->zero_pivots);
        if (precond_of(w->method) == FM_SOLVE_ILUT)
            fprintf(file.f, "%g", w->method == FM_BENCH_ILUT_SECOND ? r->options.ilut_second_drop
                                                                     : r->options.ilut.drop_tolerance);
        if (w->has_paths)
            fprintf(file.f, ",%s,%s\n", fm_solve_path_name(w->lower_path), fm_solve_path_name(w->upper_path));
        else
            fputs(",,\n", file.f);
    }
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
