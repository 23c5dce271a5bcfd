// The dense kind's W-update fused with the products around it (§3): one
// pass over X by rows, where the unfused iteration reads X for X·Hᵀ and Xᵀ
// for Xᵀ·W. A block of rows is gathered (F = X·Hᵀ), stepped (ADMM), and
// pushed into Xᵀ·W while its X rows are still in cache; the next H-update
// takes that Xᵀ·W as its right-hand side, and the block's exact Σ(x − w·h)²
// can ride along.
//
// Thread-count independence: the rows are cut into a fixed number of parts
// (FM_FULL_PARTS, by shape only), each pushing into its own copy of Xᵀ·W;
// the copies are summed in part order.
#include "admm.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "hals.h"
#include "products.h"
#include "profile.h"
#include "rank.h"
#include "status.h"

enum {
    FM_FULL_PARTS = 16,   // at most; enough parts to keep 16 threads busy
    FM_FULL_BLOCK = 32,   // rows gathered, stepped and pushed together: 32 rows of X stay in L2
};

// The per-part copies of Xᵀ·W must stay small beside X itself.
#define FM_FULL_COPIES_BYTES (64.0 * 1024 * 1024)

static int64_t full_parts(int64_t targets)
{
    const int64_t blocks = (targets + FM_FULL_BLOCK - 1) / FM_FULL_BLOCK;
    return blocks < FM_FULL_PARTS ? blocks : FM_FULL_PARTS;
}

bool fm_admm_full_fits(const fm_edges *rows, int k)
{
    const double copies = (double)full_parts(rows->targets) * fm_gather_full_padding(k) * rows->sources * 4.0;
    return !rows->ptr && rows->targets > 0 && rows->sources > 0 && copies <= FM_FULL_COPIES_BYTES;
}

// The update a block of rows makes: ADMM steps (`system` NULL), or the
// exact block updates of ops/hals.h (`sweeps` sweeps on Ĝ = `system`).
typedef struct full_update {
    const float *inverse;
    float rho, shrink;
    int inner;
    const double *system;
    double l1;
    int sweeps;
} full_update;

// One block of rows [begin, end): F, the update, the push into `copy` and
// the residual.
FM_TARGET_CLONES
static double full_block(float *restrict copy, fm_admm_factor factor, fm_dense *rhs, const fm_edges *rows,
                         const float *St, const full_update *u, int k, int kpad, int64_t begin, int64_t end,
                         bool residual, int level)
{
    const int64_t n = rows->sources, count = end - begin;
    const float *X = rows->val + begin * n;
    float padded[FM_FULL_BLOCK * kpad], b[FM_FULL_BLOCK * k], tt[FM_FULL_BLOCK * k];
    fm_gather_full_rows(rhs->data, rows->val, St, n, k, begin, end, level);
    float *w = factor.targets->data + begin * k;
    if (u->system)
        fm_hals_block(w, rhs->data + begin * k, u->system, u->l1, u->sweeps, k, count);
    else
        fm_admm_steps_block(w, factor.duals->data + begin * k, rhs->data + begin * k, u->inverse, u->rho, u->shrink,
                            u->inner, k, count, b, tt);
    for (int64_t t = 0; t < count; t++)
        for (int r = 0; r < kpad; r++) padded[t * kpad + r] = r < k ? w[t * k + r] : 0;
    fm_scatter_full_rows(copy, X, padded, n, kpad, count, level);
    return residual ? fm_residual_full_rows(X, padded, St, n, kpad, count, level) : 0;
}

struct fm_admm_full {
    int64_t parts;
    int k, kpad;
    int sweeps;           // 0: ADMM steps; else the exact block updates' sweeps (fm_admm_full_exact)
    float *St;            // Hᵀ transposed: kpad × sources, rank-major, zero-padded
    float *copies;        // parts × kpad × sources: each part's push into Xᵀ·W
    double *part_residual;
};

void fm_admm_full_free(fm_admm_full **work)
{
    if (!work || !*work) return;
    free((*work)->St);
    free((*work)->copies);
    free((*work)->part_residual);
    free(*work);
    *work = NULL;
}

int fm_admm_full_new(fm_admm_full **out, const fm_edges *rows, int k, char *msg)
{
    fm_admm_full *work = NULL;
#define FREE_ALL fm_admm_full_free(&work)
    FM_CHECK(out && !*out && rows && k > 0, FM_ERR_INVALID, "fm_admm_full_new: bad arguments");
    FM_CHECK(fm_admm_full_fits(rows, k), FM_ERR_INVALID, "fm_admm_full_new: not full storage, or too wide");
    FM_ALLOC(work, 1);
    work->parts = full_parts(rows->targets);
    work->k = k;
    work->kpad = fm_gather_full_padding(k);
    FM_ALLOC(work->St, (size_t)work->kpad * rows->sources);   // zero: the padded ranks stay 0
    FM_ALLOC(work->copies, (size_t)work->parts * work->kpad * rows->sources);
    FM_ALLOC(work->part_residual, work->parts);
    *out = work;
    return FM_OK;
#undef FREE_ALL
}

void fm_admm_full_exact(fm_admm_full *work, int sweeps)
{
    work->sweeps = sweeps > 0 ? sweeps : 0;
}

int fm_admm_update_full(fm_admm_full *work, fm_admm_factor factor, fm_dense *rhs, fm_dense *pushed,
                        double *residual, const fm_edges *rows, const fm_dense *sources, const double *gram,
                        fm_penalty penalty, int inner, char *msg)
{
    float *inverse = NULL;
#define FREE_ALL free(inverse)
    FM_PROFILE_START(profile_clock);
    const int k = (int)sources->cols, kpad = work->kpad;
    const int64_t m = rows->targets, n = rows->sources, parts = work->parts;
    FM_CHECK(k == work->k && parts == full_parts(m), FM_ERR_INVALID,
             "fm_admm_update_full: the workspace was made for another shape");
    full_update u = { .inner = inner, .l1 = penalty.l1, .sweeps = work->sweeps };
    double system[work->sweeps ? k * k : 1];
    if (work->sweeps) {
        fm_hals_system(system, gram, penalty, n, k);
        u.system = system;
    } else {
        FM_ALLOC(inverse, (size_t)k * k);
        FM_TRY(fm_admm_shared_system(inverse, &u.rho, &u.shrink, gram, penalty, n, k, msg));
        u.inverse = inverse;
    }
    float *St = work->St, *copies = work->copies;
    fm_dense_transpose(St, sources);
    const int level = fm_kernel_level();
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t p = 0; p < parts; p++) {
        float *copy = copies + p * kpad * n;
        memset(copy, 0, sizeof(float) * kpad * n);
        const int64_t first = m * p / parts, last = m * (p + 1) / parts;
        double sum = 0;
        for (int64_t begin = first; begin < last; begin += FM_FULL_BLOCK) {
            const int64_t end = last - begin < FM_FULL_BLOCK ? last : begin + FM_FULL_BLOCK;
            sum += full_block(copy, factor, rhs, rows, St, &u, k, kpad, begin, end, residual != NULL, level);
        }
        work->part_residual[p] = sum;
    }
    // Xᵀ·W (sources × k) = the parts' copies summed in order, transposed
#pragma omp parallel for schedule(static)
    for (int64_t s = 0; s < n; s++)
        for (int r = 0; r < k; r++) {
            float sum = 0;
            for (int64_t p = 0; p < parts; p++) sum += copies[(p * kpad + r) * n + s];
            pushed->data[s * k + r] = sum;
        }
    if (residual) {
        *residual = 0;
        for (int64_t p = 0; p < parts; p++) *residual += work->part_residual[p];
    }
    // flops: the gather and the push (2·m·n·k each), the residual (2·m·n·k
    // + 3·m·n), the steps; bytes: X once (4·m·n), the copies written and
    // read (8·parts·kpad·n), the factors
    const double M = (double)m, N = (double)n, mn = M * N;
    FM_PROFILE_STOP(profile_clock, residual ? "admm.update_full+residual" : "admm.update_full",
                    4 * mn * k + (residual ? mn * (2.0 * k + 3) : 0) + M * inner * (2.0 * k * k + 8.0 * k),
                    4 * mn + 8.0 * parts * kpad * N + 20 * M * k + 4 * N * k);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
