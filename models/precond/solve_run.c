// One system solved by PCG or GMRES with a chosen preconditioner: see solve_run.h.
#include "solve_run.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "mtx_system.h"
#include "report.h"
#include "status.h"

static const char *const precond_names[FM_SOLVE_PRECONDS] = {"none", "jacobi", "ic0", "neuralif", "direct",
                                                             "ilu0", "ilut", "learned-lu"};
static const char *const method_names[] = {"cg", "gmres"};

const char *fm_solve_method_name(fm_solve_method m)
{
    return m == FM_SOLVE_GMRES ? method_names[1] : method_names[0];
}

int fm_solve_method_parse(fm_solve_method *out, const char *text, char *msg)
{
    for (int m = 0; m < 2; m++)
        if (text && !strcmp(text, method_names[m])) {
            *out = (fm_solve_method)m;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "--method must be cg (conjugate gradients, SPD A) or gmres (general A), "
                   "not '%s'", text ? text : "");
}

const char *fm_solve_precond_name(fm_solve_precond p)
{
    return p >= 0 && p < FM_SOLVE_PRECONDS ? precond_names[p] : "unknown";
}

int fm_solve_precond_parse(fm_solve_precond *out, const char *text, char *msg)
{
    for (int p = 0; p < FM_SOLVE_PRECONDS; p++)
        if (text && !strcmp(text, precond_names[p])) {
            *out = (fm_solve_precond)p;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "--precond must be one of none, jacobi, direct; ic0, neuralif (cg); ilu0, "
                   "ilut, learned-lu (gmres); not '%s'", text ? text : "");
}

bool fm_solve_method_takes(fm_solve_method method, fm_solve_precond p)
{
    switch (p) {
    case FM_SOLVE_NONE: case FM_SOLVE_JACOBI: case FM_SOLVE_DIRECT: return true;
    case FM_SOLVE_IC0: case FM_SOLVE_NEURALIF: return method == FM_SOLVE_CG;
    case FM_SOLVE_ILU0: case FM_SOLVE_ILUT: case FM_SOLVE_LEARNED_LU: return method == FM_SOLVE_GMRES;
    default: return false;
    }
}

const char *fm_solve_method_preconds(fm_solve_method method)
{
    return method == FM_SOLVE_GMRES ? "none, jacobi, ilu0, ilut, learned-lu or direct"
                                    : "none, jacobi, ic0, neuralif or direct";
}

void fm_solve_defaults(fm_solve_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->method = FM_SOLVE_CG;
    opt->precond = FM_SOLVE_NONE;
    opt->tol = 1e-6;
    opt->restart = 50;
    fm_neuralif_defaults(&opt->inference);
    fm_ilut_defaults(&opt->ilut);
}

//------------------------------------------------------------------------------
// The system, checked for CG
//------------------------------------------------------------------------------

// a_ij as stored in row i of A (rows sorted), else 0; *stored says which.
static double entry(const fm_csr *A, int64_t i, int64_t j, bool *stored)
{
    int64_t lo = A->start[i], hi = A->start[i + 1];
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (A->index[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    *stored = lo < A->start[i + 1] && A->index[lo] == j;
    return *stored ? A->value[lo] : 0.0;
}

int fm_solve_check(const fm_square *A, const char *name, fm_solve_method method, char *msg)
{
#define FREE_ALL
    if (method == FM_SOLVE_GMRES) return FM_OK;   // every diagonal is stored: the graph checked it
    int64_t i = 0, j = 0;
    if (!A->symmetric && !fm_square_first_asymmetry(A, &i, &j)) {
        bool stored_ij, stored_ji;
        const double aij = entry(A->A, i, j, &stored_ij), aji = entry(A->A, j, i, &stored_ji);
        return fm_fail_path(FM_ERR_INVALID, msg, name,
                            ": not symmetric: a_%lld,%lld = %.17g%s but a_%lld,%lld = %.17g%s (CG needs a symmetric "
                            "matrix: use --method gmres)",
                            (long long)i + 1, (long long)j + 1, aij, stored_ij ? "" : " (not stored)",
                            (long long)j + 1, (long long)i + 1, aji, stored_ji ? "" : " (not stored)");
    }
    // the lower part by rows holds each row's diagonal last (square.h)
    const fm_csr *L = A->lower;
    for (int64_t r = 0; r < L->n; r++) {
        const int64_t last = L->start[r + 1] - 1;
        if (last < L->start[r] || L->index[last] != r)
            return fm_fail_path(FM_ERR_INVALID, msg, name, ": row %lld has no diagonal entry (CG needs a positive "
                                "diagonal)", (long long)r + 1);
        const double d = L->value[last];
        if (!(d > 0))
            return fm_fail_path(FM_ERR_INVALID, msg, name, ": the diagonal entry of row %lld is %.17g (CG needs a "
                                "positive diagonal)", (long long)r + 1, d);
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_solve_read(fm_square **A_out, double **b_out, const char *matrix, const char *rhs, fm_solve_method method,
                  char *msg)
{
    fm_system_matrix *sys = NULL;
    fm_square *A = NULL;
    double *b = NULL;
#define FREE_ALL fm_system_matrix_free(&sys), fm_square_free(&A), free(b)
    *A_out = NULL;
    *b_out = NULL;
    FM_TRY(fm_mtx_read_system(&sys, matrix, msg));
    // the reader has checked the file (square, finite, indices): what is
    // left is what the method asks of the matrix
    char why[FM_MSG_LEN];
    const int built = fm_square_from_triplets(&A, sys->n, sys->count, sys->row, sys->col, sys->val, sys->symmetric,
                                              why);
    if (built != FM_OK) {
        const int code = fm_fail_path(built, msg, matrix, ": %s", why);
        FREE_ALL;
        return code;
    }
    fm_system_matrix_free(&sys);
    FM_TRY(fm_solve_check(A, matrix, method, msg));
    const int64_t n = A->n;
    if (rhs) {
        const int read = fm_mtx_read_vector(&b, rhs, n, msg);
        if (read != FM_OK) {
            // a length that is not the matrix's: name the matrix's file too
            const size_t len = strlen(msg);
            if (strstr(msg, "the matrix has") && len + 8 < FM_MSG_LEN)
                snprintf(msg + len, FM_MSG_LEN - len, " (%s)", matrix);
            FREE_ALL;
            return read;
        }
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(b[i])) {
                const int code = fm_fail_path(FM_ERR_INVALID, msg, rhs, ": entry %lld is %g", (long long)i + 1, b[i]);
                FREE_ALL;
                return code;
            }
    } else {
        FM_ALLOC(b, n);
        for (int64_t i = 0; i < n; i++) b[i] = 1.0;
    }
    *A_out = A;
    *b_out = b;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The preconditioner and the solve
//------------------------------------------------------------------------------

int fm_solve_precond_build(fm_precond **M_out, fm_solve_built *built, const fm_square *A, const fm_solve_options *opt,
                           char *msg)
{
    fm_precond *M = NULL;
    fm_csr *L = NULL, *U = NULL;
#define FREE_ALL fm_precond_free(&M), fm_csr_free(&L), fm_csr_free(&U)
    *M_out = NULL;
    memset(built, 0, sizeof *built);
    built->growth.tries = 1;
    FM_CHECK(fm_solve_method_takes(opt->method, opt->precond), FM_ERR_INVALID,
             "%s takes the preconditioners %s, not %s", fm_solve_method_name(opt->method),
             fm_solve_method_preconds(opt->method), fm_solve_precond_name(opt->precond));
    const bool gmres = opt->method == FM_SOLVE_GMRES;
    const double start = omp_get_wtime();
    switch (opt->precond) {
    case FM_SOLVE_NONE: FM_TRY(fm_precond_none(&M, A->n, msg)); break;
    case FM_SOLVE_JACOBI:
        FM_TRY(gmres ? fm_precond_jacobi_general(&M, A, msg) : fm_precond_jacobi(&M, A, msg));
        break;
    case FM_SOLVE_IC0: FM_TRY(fm_precond_ic0(&M, A, msg)); break;
    case FM_SOLVE_DIRECT: FM_TRY(gmres ? fm_precond_direct_lu(&M, A, msg) : fm_precond_direct(&M, A, msg)); break;
    case FM_SOLVE_ILU0: FM_TRY(fm_precond_ilu0(&M, A, msg)); break;
    case FM_SOLVE_ILUT: FM_TRY(fm_precond_ilut(&M, A, &opt->ilut, msg)); break;
    case FM_SOLVE_NEURALIF:
        FM_CHECK(opt->network, FM_ERR_INVALID, "fm_solve_precond_build: neuralif needs a model");
        FM_TRY(fm_neuralif_factor(&L, opt->network, A, &opt->inference, &built->growth, msg));
        FM_TRY(fm_precond_from_lower(&M, &L, msg));
        break;
    case FM_SOLVE_LEARNED_LU:
        FM_CHECK(opt->lu_network, FM_ERR_INVALID, "fm_solve_precond_build: learned-lu needs a model");
        FM_TRY(fm_learned_lu_factor(&L, &U, opt->lu_network, A, &built->lu, msg));
        FM_TRY(fm_precond_from_lu(&M, &L, &U, msg));
        break;
    default: FM_FAIL(FM_ERR_INVALID, "fm_solve_precond_build: no preconditioner %d", (int)opt->precond);
    }
    built->setup_seconds = omp_get_wtime() - start;
    *M_out = M;
    return FM_OK;
#undef FREE_ALL
}

void fm_solve_result_free(fm_solve_result **r)
{
    if (!r || !*r) return;
    free((*r)->model);
    free((*r)->x);
    free((*r)->trace);
    fm_precond_free(&(*r)->M);
    free(*r);
    *r = NULL;
}

// What the observer keeps between iterations.
typedef struct observing {
    fm_solve_result *r;
    int64_t cap;
    bool out_of_memory;
    const fm_solve_options *opt;
} observing;

static int observe(void *context, int64_t iteration, double seconds, double relative_residual)
{
    observing *o = context;
    fm_solve_result *r = o->r;
    if (r->trace_len == o->cap) {
        const int64_t cap = 2 * o->cap;
        fm_solve_step *grown = realloc(r->trace, (size_t)cap * sizeof *grown);
        if (!grown) {
            o->out_of_memory = true;
            return 1;
        }
        r->trace = grown;
        o->cap = cap;
    }
    r->trace[r->trace_len++] = (fm_solve_step){ iteration, seconds, relative_residual };
    return o->opt->progress ? o->opt->progress(o->opt->context, iteration, seconds, relative_residual) : 0;
}

// ‖b − A x‖/‖b‖ (0 when b = 0 and x = 0).
static int true_residual(double *out, const fm_square *A, const double *b, const double *x, char *msg)
{
    double *Ax = NULL;
#define FREE_ALL free(Ax)
    FM_ALLOC(Ax, A->n);
    fm_spmv(A->A, x, Ax);
    double rr = 0, bb = 0;
    for (int64_t i = 0; i < A->n; i++) {
        const double d = b[i] - Ax[i];
        rr += d * d;
        bb += b[i] * b[i];
    }
    *out = bb > 0 ? sqrt(rr / bb) : sqrt(rr);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_solve_run(fm_solve_result **out, const fm_square *A, const double *b, const fm_solve_options *opt,
                 char *msg)
{
    fm_solve_result *r = NULL;
    fm_neuralif *loaded = NULL;
    fm_learned_lu *lu_loaded = NULL;
    fm_precond *M = NULL;
#define FREE_ALL fm_solve_result_free(&r), fm_neuralif_free(&loaded), fm_learned_lu_free(&lu_loaded), \
                 fm_precond_free(&M)
    *out = NULL;
    FM_CHECK(A && b && opt && opt->precond >= 0 && opt->precond < FM_SOLVE_PRECONDS, FM_ERR_INVALID,
             "fm_solve_run: no system or no preconditioner");
    FM_CHECK(opt->tol > 0 && opt->tol < 1 && opt->max_iters >= 0 && opt->restart >= 1, FM_ERR_INVALID,
             "fm_solve_run: the tolerance must lie in (0, 1), the iteration limit be >= 0 and the restart >= 1");
    FM_CHECK(fm_solve_method_takes(opt->method, opt->precond), FM_ERR_INVALID,
             "%s takes the preconditioners %s, not %s", fm_solve_method_name(opt->method),
             fm_solve_method_preconds(opt->method), fm_solve_precond_name(opt->precond));
    const int64_t n = A->n;
    FM_ALLOC(r, 1);
    r->n = n;
    r->precond = opt->precond;
    r->method = opt->method;
    r->restart = opt->method == FM_SOLVE_GMRES ? opt->restart : 0;
    r->tol = opt->tol;
    FM_ALLOC(r->x, n);
    const int64_t cap = 64;
    FM_ALLOC(r->trace, cap);

    fm_solve_options build = *opt;   // with the models loaded here
    const bool nif = opt->precond == FM_SOLVE_NEURALIF, lu = opt->precond == FM_SOLVE_LEARNED_LU;
    if ((nif && !opt->network) || (lu && !opt->lu_network)) {
        const char *path = opt->model;
        char found[4096];
        if (!path) {
            FM_TRY(nif ? fm_neuralif_default_path(found, sizeof found, msg)
                       : fm_learned_lu_default_path(found, sizeof found, msg));
            path = found;
        }
        if (nif) FM_TRY(fm_neuralif_load(&loaded, path, msg));
        else FM_TRY(fm_learned_lu_load(&lu_loaded, path, msg));
        build.network = loaded;
        build.lu_network = lu_loaded;
        FM_CHECK(r->model = strdup(path), FM_ERR_MEMORY, "out of memory");
    } else if ((nif || lu) && opt->model) {
        FM_CHECK(r->model = strdup(opt->model), FM_ERR_MEMORY, "out of memory");
    }
    fm_solve_built built;
    FM_TRY(fm_solve_precond_build(&M, &built, A, &build, msg));
    r->setup_seconds = built.setup_seconds;
    fm_precond_info info;
    fm_precond_info_get(M, &info);
    // IC(0)'s shift of A, or NeuralIF's of its factor's diagonal (the growth safeguard)
    r->shift = nif ? built.growth.shift : info.shift;
    r->shift_tries = nif ? built.growth.tries : info.shift_tries;
    r->factor_entries = info.factor_entries;
    r->zero_pivots = info.zero_pivots;
    r->clamped = built.lu.clamped;
    r->drop_tolerance = info.drop_tolerance;
    r->fill_factor = info.fill_factor;

    fm_krylov_options k;
    fm_krylov_defaults(&k, n);
    k.tol = opt->tol;
    if (opt->max_iters > 0) k.max_iters = opt->max_iters;
    k.restart = opt->restart;
    r->max_iters = k.max_iters;
    observing o = { r, cap, false, opt };
    k.observer = observe;
    k.context = &o;
    double bb = 0;
    for (int64_t i = 0; i < n; i++) bb += b[i] * b[i];
    r->trace[r->trace_len++] = (fm_solve_step){ 0, 0.0, bb > 0 ? 1.0 : 0.0 };   // x_0 = 0

    fm_krylov_result kr;
    const double start = omp_get_wtime();
    if (opt->method == FM_SOLVE_GMRES) FM_TRY(fm_gmres(&kr, A->A, b, r->x, M, &k, msg));
    else FM_TRY(fm_pcg(&kr, A->A, b, r->x, M, &k, msg));
    r->solve_seconds = omp_get_wtime() - start;
    FM_CHECK(!o.out_of_memory, FM_ERR_MEMORY, "out of memory recording the trace of iteration %lld",
             (long long)r->trace_len);
    r->iterations = kr.iterations;
    r->converged = kr.converged;
    r->stopped = kr.stopped;
    r->total_seconds = r->setup_seconds + r->solve_seconds;
    r->has_paths = fm_precond_paths(M, &r->lower_path, &r->upper_path);
    // recomputed here, whatever the solver says it reached
    FM_TRY(true_residual(&r->relative_residual, A, b, r->x, msg));
    if (opt->keep_precond) {
        r->M = M;
        M = NULL;
    }
    fm_precond_free(&M);
    fm_neuralif_free(&loaded);
    fm_learned_lu_free(&lu_loaded);
    *out = r;
    return FM_OK;
#undef FREE_ALL
}

int fm_solve_write_trace(const char *path, const fm_solve_result *r, const char *comment, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    fm_csv_comment(file.f, comment);
    fprintf(file.f, "iteration,seconds,relative_residual\n");
    for (int64_t i = 0; i < r->trace_len; i++)
        fprintf(file.f, "%lld,%.6f,%.9g\n", (long long)r->trace[i].iteration, r->trace[i].seconds,
                r->trace[i].relative_residual);
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
