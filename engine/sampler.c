// Node-wise edge samplers (docs/factormer-math.md §8): the strategies and their
// inclusion probabilities are described in sampler.h.
//
// Every draw of target t in round r comes from the stream key
// mix(mix(key(seed, FM_STREAM_SAMPLE), r), t) at counters 0, 1, 2, ..., so a
// target's sample does not depend on which thread draws it, or when. The
// output is built in two passes: each target's capacity (the most edges it
// can keep: exact for every strategy but weighted, whose duplicates merge)
// gives the row pointers, then the targets fill their slots in parallel;
// weighted then closes the gaps its merged duplicates left.
#include "cpu.h"
#include "sampler.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fast_math.h"
#include "profile.h"
#include "rng.h"
#include "status.h"

// Targets per chunk of the parallel loops. A graph with fewer targets than a
// chunk runs on one thread: the others would get nothing, and starting the
// region costs more than a small draw (up to 0.3 ms when another process
// holds a core: perf/README.md).
#define TARGET_CHUNK 256

static const char *const sampler_names[FM_SAMPLER_COUNT] = { "full",       "uniform", "weighted",
                                                              "stratified", "edge",    "random-walk" };

const char *fm_sampler_name(fm_sampler strategy)
{
    return (unsigned)strategy < FM_SAMPLER_COUNT ? sampler_names[strategy] : "unknown";
}

int fm_sampler_parse(fm_sampler *strategy, const char *name, char *msg)
{
    for (int s = 0; s < FM_SAMPLER_COUNT; s++)
        if (name && !strcmp(name, sampler_names[s])) {
            *strategy = (fm_sampler)s;
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "unknown sampler '%s': expected full, uniform, weighted, stratified, edge or random-walk",
                   name ? name : "(null)");
}

int fm_sampler_check_node_wise(fm_sampler strategy, char *msg)
{
    if (strategy >= FM_SAMPLER_NODE_WISE)
        return fm_fail(FM_ERR_INVALID, msg, "the %s sampler draws subgraphs for training (factormer train), not "
                       "in-edges per target: use full, uniform, weighted or stratified", fm_sampler_name(strategy));
    return FM_OK;
}

int fm_sampler_parse_node_wise(fm_sampler *strategy, const char *name, char *msg)
{
    fm_sampler parsed = FM_SAMPLER_FULL;
    int status = fm_sampler_parse(&parsed, name, msg);
    if (!status) status = fm_sampler_check_node_wise(parsed, msg);
    if (!status) *strategy = parsed;
    return status;
}

void fm_sampled_edges_free(fm_sampled_edges **sampled)
{
    if (!sampled || !*sampled) return;
    free((*sampled)->ptr);
    free((*sampled)->idx);
    free((*sampled)->val);
    free((*sampled)->log_pi);
    free(*sampled);
    *sampled = NULL;
}

//------------------------------------------------------------------------------
// One target's in-edges, for either storage
//------------------------------------------------------------------------------

typedef struct row_view {
    int64_t degree;
    const GrB_Index *idx;      // NULL for full storage: the source is the position
    const float *val;
} row_view;

static inline row_view row_of(const fm_edges *edges, int64_t t)
{
    row_view row;
    if (!edges->ptr) {
        row.degree = edges->sources;
        row.idx = NULL;
        row.val = edges->val + t * edges->sources;
    } else {
        row.degree = (int64_t)(edges->ptr[t + 1] - edges->ptr[t]);
        row.idx = edges->idx + edges->ptr[t];
        row.val = edges->val + edges->ptr[t];
    }
    return row;
}

static inline GrB_Index row_source(row_view row, int64_t position)
{
    return row.idx ? row.idx[position] : (GrB_Index)position;
}

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Unstored zeros a stratified target asks for: round(ratio · fanout), at most
// `sources` (no target has more unstored positions than that).
static int64_t zeros_wanted(const fm_sampler_options *options, int64_t sources)
{
    const double z = options->zero_ratio * (double)options->fanout;
    return z >= (double)sources ? sources : (int64_t)llround(z);
}

// The most edges target `row` can keep.
static int64_t capacity(const fm_sampler_options *options, row_view row, int64_t sources, int64_t zeros)
{
    if (options->strategy == FM_SAMPLER_FULL) return row.degree;
    int64_t kept = min64(row.degree, options->fanout);
    if (options->strategy == FM_SAMPLER_STRATIFIED) kept += min64(zeros, sources - row.degree);
    return kept;
}

//------------------------------------------------------------------------------
// Drawing
//------------------------------------------------------------------------------

// Uniform in [0, n), n >= 1, exactly: Lemire's multiply-shift, rejecting the
// few products that would favour some values. A rejected draw moves on to the
// next counter, so the stream stays a function of its counters.
static inline uint64_t draw_below(fm_rng rng, uint64_t *counter, uint64_t n)
{
    unsigned __int128 product = (unsigned __int128)fm_rng_bits(rng, (*counter)++) * n;
    uint64_t low = (uint64_t)product;
    if (low < n) {
        const uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            product = (unsigned __int128)fm_rng_bits(rng, (*counter)++) * n;
            low = (uint64_t)product;
        }
    }
    return (uint64_t)(product >> 64);
}

// Floyd's algorithm: a uniformly random `size`-subset of [0, n), size < n,
// written to `set` in increasing order, in O(size) draws whatever n is. It
// takes t uniform in [0, j] for j = n − size, ..., n − 1 and adds t, or j when
// t is already in. Membership, two ways with the same result:
// - n <= 64·size: a bitmap of n bits (at most `size` words of `bits`, all
//   zero on entry and on return), read out in order at the end: about 7 ns
//   an element.
// - otherwise: insertion into the sorted prefix, scanning from the end;
//   size²/4 moves in all, about 20 ns an element for a size of 16 to 64 (a
//   binary search with memmove measured 1.6 times slower: its compares on
//   random values mispredict).
static void floyd(GrB_Index *set, int64_t size, int64_t n, fm_rng rng, uint64_t *counter, uint64_t *bits)
{
    if (n <= 64 * size) {
        for (int64_t j = n - size; j < n; j++) {
            const GrB_Index t = draw_below(rng, counter, (uint64_t)j + 1);
            const uint64_t mask = UINT64_C(1) << (t & 63);
            if (bits[t >> 6] & mask) bits[j >> 6] |= UINT64_C(1) << (j & 63);
            else bits[t >> 6] |= mask;
        }
        int64_t k = 0;
        for (int64_t w = 0; w < (n + 63) / 64; w++) {
            for (uint64_t word = bits[w]; word; word &= word - 1)
                set[k++] = (GrB_Index)(64 * w + __builtin_ctzll(word));
            bits[w] = 0;
        }
        return;
    }
    int64_t have = 0;
    for (int64_t j = n - size; j < n; j++) {
        const GrB_Index t = draw_below(rng, counter, (uint64_t)j + 1);
        int64_t k = have;
        for (; k > 0 && set[k - 1] > t; k--) set[k] = set[k - 1];
        if (k > 0 && set[k - 1] == t) {
            // t is in: close the gap again, and j, above every member, goes last
            for (int64_t m = k; m < have; m++) set[m] = set[m + 1];
            set[have++] = (GrB_Index)j;
        } else {
            set[k] = t;
            have++;
        }
    }
}

static int64_t keep_all(GrB_Index *idx, float *val, float *log_pi, row_view row)
{
    for (int64_t p = 0; p < row.degree; p++) {
        idx[p] = row_source(row, p);
        val[p] = row.val[p];
        log_pi[p] = 0;
    }
    return row.degree;
}

// uniform (and the stored stratum of stratified): all edges if d <= f, else f
// of them without replacement, π = f/d.
static int64_t uniform_target(GrB_Index *idx, float *val, float *log_pi, row_view row, int64_t fanout,
                              fm_rng rng, uint64_t *counter, uint64_t *bits)
{
    if (row.degree <= fanout) return keep_all(idx, val, log_pi, row);
    floyd(idx, fanout, row.degree, rng, counter, bits);   // positions, increasing
    const float log_pi_kept = (float)log((double)fanout / (double)row.degree);
    for (int64_t k = 0; k < fanout; k++) {
        const int64_t p = (int64_t)idx[k];
        idx[k] = row_source(row, p);
        val[k] = row.val[p];
        log_pi[k] = log_pi_kept;
    }
    return fanout;
}

// The weighted sampler's draw probabilities p = share·|x| + base (sampler.h).
// The floor: the estimator divides by π, and an edge of value 0 still adds
// exp(score) to the denominator and its node value (vN_i of §4) to the
// numerator, so with p ∝ |x| alone it would have π = 0, never be drawn and
// its terms would be missing from every estimate: biased. Mixing in the
// uniform draw with weight λ (defensive importance sampling) gives every edge
// p >= λ/d, which also bounds the importance weights 1/π.
typedef struct weighted_mix {
    double share, base;
} weighted_mix;

FM_TARGET_CLONES
static weighted_mix weighted_mix_of(row_view row)
{
    // (a SIMD sum: its order, and so the last bits of the probabilities,
    // follows the vector width the build targets, not the thread count)
    double total = 0;
#pragma omp simd reduction(+ : total)
    for (int64_t p = 0; p < row.degree; p++) total += fabs((double)row.val[p]);
    const double floor = FM_SAMPLER_WEIGHTED_FLOOR;
    weighted_mix mix;
    if (total > 0) {
        mix.share = (1 - floor) / total;
        mix.base = floor / (double)row.degree;
    } else {   // every value 0: the uniform draw
        mix.share = 0;
        mix.base = 1.0 / (double)row.degree;
    }
    return mix;
}

// π = 1 − (1 − p)^f for f draws with replacement, as log π. The power by
// squaring (about 2·log2 f products, each within an ulp) instead of
// exp(f·log1p(−p)): two transcendentals fewer per kept edge, and for small p
// the cancellation in 1 − (1 − p)^f costs about f·2^−53 absolute, a relative
// error of 2^−53/p in π: far below float's for any p above 1e-8 (p ≥ λ/d).
// For `count` edges at once, edge by edge in the inner loops (which
// vectorize): bases holds 1 − p on entry and is overwritten; powers is
// scratch.
FM_TARGET_CLONES
static void weighted_log_pis(float *restrict log_pi, double *restrict bases, double *restrict powers,
                             int64_t count, int64_t fanout)
{
    for (int64_t e = 0; e < count; e++) powers[e] = 1;
    for (int64_t n = fanout; n > 0; n >>= 1) {
        if (n & 1)
            for (int64_t e = 0; e < count; e++) powers[e] *= bases[e];
        for (int64_t e = 0; e < count; e++) bases[e] *= bases[e];
    }
    // 1 − (1 − p)^f >= p·f/2 for p·f <= 1, and p >= λ/d: never 0, always in
    // fm_fast_log's domain
#pragma omp simd
    for (int64_t e = 0; e < count; e++) log_pi[e] = (float)fm_fast_log(1 - powers[e]);
}

// One edge's log π, as weighted_log_pis gives it.
static inline float weighted_log_pi(double p, int64_t fanout)
{
    double base = 1 - p, power;
    float log_pi;
    weighted_log_pis(&log_pi, &base, &power, 1, fanout);
    return log_pi;
}

// weighted: all edges if d <= f, else f draws with replacement by inverting
// the cumulative probabilities at f sorted uniforms in one sweep over the
// row, duplicates merged. The sorted uniforms come in order, without a sort:
// with E_1, ..., E_{f+1} i.i.d. exponential and S_k = E_1 + ... + E_k,
// (S_1, ..., S_f) / S_{f+1} has the distribution of the order statistics of
// f uniforms on (0, 1). O(d + f) time, 3f + 1 doubles of scratch (the
// uniforms and S_{f+1}, then 1 − p and the powers of the kept edges for
// weighted_log_pis).
FM_TARGET_CLONES
static int64_t weighted_target(GrB_Index *idx, float *val, float *log_pi, row_view row, int64_t fanout,
                               fm_rng rng, double *uniforms)
{
    if (row.degree <= fanout) return keep_all(idx, val, log_pi, row);
    double *bases = uniforms + fanout + 1, *powers = bases + fanout;
    const weighted_mix mix = weighted_mix_of(row);
    // E_1, ..., E_{f+1} (the uniforms lie in (0, 1): in fm_fast_log's domain)
    // in a vectorized loop, then their running sums S_k
#pragma omp simd
    for (int64_t k = 0; k <= fanout; k++) uniforms[k] = -fm_fast_log(fm_rng_uniform(rng, (uint64_t)k));
    for (int64_t k = 1; k <= fanout; k++) uniforms[k] += uniforms[k - 1];
    const double sum = uniforms[fanout];
    for (int64_t k = 0; k < fanout; k++) uniforms[k] /= sum;
    double cdf = 0;
    int64_t k = 0, kept = 0;
    for (int64_t p = 0; p < row.degree && k < fanout; p++) {
        const double prob = mix.share * fabs((double)row.val[p]) + mix.base;
        cdf += prob;
        if (uniforms[k] >= cdf) continue;
        while (k < fanout && uniforms[k] < cdf) k++;
        idx[kept] = row_source(row, p);
        val[kept] = row.val[p];
        bases[kept++] = 1 - prob;
    }
    // The sum of the probabilities may round a hair below 1: a uniform above
    // it belongs to the last edge.
    const int64_t last = row.degree - 1;
    if (k < fanout && !(kept > 0 && idx[kept - 1] == row_source(row, last))) {
        const double prob = mix.share * fabs((double)row.val[last]) + mix.base;
        idx[kept] = row_source(row, last);
        val[kept] = row.val[last];
        bases[kept++] = 1 - prob;
    }
    weighted_log_pis(log_pi, bases, powers, kept, fanout);
    return kept;
}

// The source of the rank-th unstored position (0-based) of a row whose
// stored sources are `stored[0..degree)`, increasing: stored[k] − k unstored
// positions lie below stored[k], a nondecreasing count, so the answer is
// rank + (the number of k with stored[k] − k <= rank), found by a
// branch-free binary search (invariant: every index below `base` counts).
static GrB_Index unstored_source(const GrB_Index *stored, int64_t degree, GrB_Index rank)
{
    if (degree == 0) return rank;
    const GrB_Index *base = stored;
    for (int64_t n = degree; n > 1;) {
        const int64_t half = n / 2;
        const GrB_Index last = (GrB_Index)(base - stored) + (GrB_Index)half - 1;
        base = stored[last] - last <= rank ? base + half : base;
        n -= half;
    }
    const GrB_Index at = (GrB_Index)(base - stored);
    return rank + at + (*base - at <= rank);
}

// stratified: the stored stratum as uniform, then z of the u unstored
// positions (all of them when z >= u) with value 0 and π_z = z/u, merged into
// one increasing list. `zeros` holds min(z, u) sources of scratch.
static int64_t stratified_target(GrB_Index *idx, float *val, float *log_pi, row_view row, int64_t sources,
                                 int64_t fanout, int64_t wanted, fm_rng rng, uint64_t *counter,
                                 GrB_Index *zeros, uint64_t *bits)
{
    const int64_t stored = uniform_target(idx, val, log_pi, row, fanout, rng, counter, bits);
    const int64_t unstored = sources - row.degree, drawn = min64(wanted, unstored);
    if (drawn == 0) return stored;
    if (drawn == unstored) {
        int64_t k = 0, p = 0;
        for (GrB_Index s = 0; s < (GrB_Index)sources; s++) {
            if (p < row.degree && row.idx[p] == s) p++;
            else zeros[k++] = s;
        }
    } else {
        floyd(zeros, drawn, unstored, rng, counter, bits);   // ranks among the unstored, increasing
        for (int64_t k = 0; k < drawn; k++) zeros[k] = unstored_source(row.idx, row.degree, zeros[k]);
    }
    // Merge from the back: the stored stratum sits in [0, stored), the output
    // fills [0, stored + drawn).
    const float log_pi_zero = (float)log((double)drawn / (double)unstored);
    int64_t i = stored - 1, k = drawn - 1, w = stored + drawn - 1;
    for (; k >= 0; w--) {
        if (i >= 0 && idx[i] > zeros[k]) {
            idx[w] = idx[i];
            val[w] = val[i];
            log_pi[w] = log_pi[i];
            i--;
        } else {
            idx[w] = zeros[k--];
            val[w] = 0;
            log_pi[w] = log_pi_zero;
        }
    }
    return stored + drawn;
}

//------------------------------------------------------------------------------
// The public functions
//------------------------------------------------------------------------------

static int check_arguments(const fm_edges *edges, fm_kind kind, const fm_sampler_options *options, char *msg)
{
#define FREE_ALL
    FM_CHECK(edges && options, FM_ERR_INVALID, "sampler: bad arguments");
    FM_CHECK((unsigned)options->strategy < FM_SAMPLER_COUNT, FM_ERR_INVALID, "sampler: unknown strategy %d",
             (int)options->strategy);
    FM_TRY(fm_sampler_check_node_wise(options->strategy, msg));
    FM_CHECK(options->strategy == FM_SAMPLER_FULL || options->fanout >= 1, FM_ERR_INVALID,
             "fanout %lld: the %s sampler keeps at most fanout in-edges per target, so the fanout must be at "
             "least 1", (long long)options->fanout, fm_sampler_name(options->strategy));
    FM_CHECK(isfinite(options->zero_ratio) && options->zero_ratio >= 0, FM_ERR_INVALID,
             "zero ratio %g: a stratified target draws ratio x fanout unstored zeros, so the ratio must be a "
             "finite number >= 0", options->zero_ratio);
    if (options->strategy == FM_SAMPLER_STRATIFIED) {
        FM_CHECK(kind != FM_KIND_INCOMPLETE, FM_ERR_INVALID,
                 "the stratified sampler draws unstored entries as zeros, but an incomplete matrix's unstored "
                 "entries are unknown, not zero, and it never invents edges (§8): use full, uniform or weighted");
        FM_CHECK(kind == FM_KIND_SPARSE && edges->ptr, FM_ERR_INVALID,
                 "the stratified sampler draws unstored zeros, which only the sparse kind has (a %s matrix "
                 "stores every entry): use full, uniform or weighted, or read the data as sparse",
                 fm_kind_name(kind));
    }
    FM_CHECK(edges->targets >= 0 && edges->sources >= 0, FM_ERR_INVALID, "sampler: a graph of %lld x %lld nodes",
             (long long)edges->targets, (long long)edges->sources);
    FM_CHECK(edges->ptr || edges->count == edges->targets * edges->sources, FM_ERR_INVALID,
             "sampler: full storage of %lld x %lld holds %lld values", (long long)edges->targets,
             (long long)edges->sources, (long long)edges->count);
    return FM_OK;
#undef FREE_ALL
}

// Asks the kernel to back a large fresh array with huge pages (Linux
// transparent huge pages in `madvise` mode): every draw fills new arrays of
// up to hundreds of MB, and their first touch is otherwise a page fault per
// 4 KiB. Advice only: nothing changes where it is not taken.
static void advise_huge_pages(void *array, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const long size = sysconf(_SC_PAGESIZE);
    const uintptr_t page = size > 0 ? (uintptr_t)size : 4096, start = ((uintptr_t)array + page - 1) & ~(page - 1);
    const uintptr_t end = ((uintptr_t)array + bytes) & ~(page - 1);
    if (bytes >= ((size_t)4 << 20) && end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)array;
    (void)bytes;
#endif
}

static int sampler_draw(fm_sampled_edges **out, const fm_edges *edges, const fm_sampler_options *options,
                        uint64_t round, char *msg)
{
    fm_sampled_edges *s = NULL;
    int64_t *kept = NULL;
    uint64_t *scratch = NULL;
#define FREE_ALL { fm_sampled_edges_free(&s); free(kept); free(scratch); }
    const int64_t targets = edges->targets, sources = edges->sources, fanout = options->fanout;
    const fm_sampler strategy = options->strategy;
    const int64_t wanted = strategy == FM_SAMPLER_STRATIFIED ? zeros_wanted(options, sources) : 0;
    FM_ALLOC(s, 1);
    s->targets = targets;
    s->sources = sources;
    FM_ALLOC(s->ptr, targets + 1);

    // Pass 1: capacities, then row pointers.
    int64_t max_degree = 0, zeros = 0;
#pragma omp parallel for schedule(static, TARGET_CHUNK) reduction(max : max_degree) reduction(+ : zeros) \
    if (targets > TARGET_CHUNK)
    for (int64_t t = 0; t < targets; t++) {
        const row_view row = row_of(edges, t);
        s->ptr[t + 1] = (GrB_Index)capacity(options, row, sources, wanted);
        max_degree = row.degree > max_degree ? row.degree : max_degree;
        zeros += min64(wanted, sources - row.degree);
    }
    for (int64_t t = 0; t < targets; t++) s->ptr[t + 1] += s->ptr[t];
    // At least one slot each, so that an empty sample still has arrays.
    const int64_t room = (int64_t)s->ptr[targets] > 0 ? (int64_t)s->ptr[targets] : 1;
    FM_ALLOC(s->idx, room);
    FM_ALLOC(s->val, room);
    FM_ALLOC(s->log_pi, room);
    advise_huge_pages(s->idx, sizeof *s->idx * (size_t)room);
    advise_huge_pages(s->val, sizeof *s->val * (size_t)room);
    advise_huge_pages(s->log_pi, sizeof *s->log_pi * (size_t)room);
    s->zeros = zeros;
    if (strategy == FM_SAMPLER_WEIGHTED) FM_ALLOC(kept, targets);

    // Per-thread scratch, O(fanout + zeros) words: Floyd's bitmap (used for
    // n <= 64·size: at most `size` words, and at most a bitmap of every
    // source), stratified's zeros, weighted's sorted uniforms. Zeroed (calloc),
    // which the bitmap needs.
    const int64_t kept_most = strategy == FM_SAMPLER_FULL ? 0 : min64(fanout, max_degree);   // full reads no fanout
    const int64_t bit_words = min64(kept_most > wanted ? kept_most : wanted, sources / 64 + 1);
    const int64_t zero_words = strategy == FM_SAMPLER_STRATIFIED ? wanted : 0;
    const int64_t uniform_words = strategy == FM_SAMPLER_WEIGHTED ? 3 * kept_most + 1 : 0;
    const int64_t words = bit_words + zero_words + uniform_words;
    const int threads = omp_get_max_threads();
    FM_ALLOC(scratch, words * threads + 1);   // + 1: never a NULL base to offset

    // Pass 2: every target fills its slots. Dynamic scheduling: the cost of
    // a target follows its degree (weighted sweeps the row).
    const fm_rng round_key = { fm_rng_bits(fm_rng_stream(options->seed, FM_STREAM_SAMPLE), round) };
#pragma omp parallel for schedule(dynamic, TARGET_CHUNK) if (targets > TARGET_CHUNK)
    for (int64_t t = 0; t < targets; t++) {
        const row_view row = row_of(edges, t);
        const fm_rng rng = { fm_rng_bits(round_key, (uint64_t)t) };
        uint64_t *bits = scratch + words * omp_get_thread_num();
        GrB_Index *zeros = (GrB_Index *)(bits + bit_words);
        double *uniforms = (double *)(bits + bit_words + zero_words);
        GrB_Index *idx = s->idx + s->ptr[t];
        float *val = s->val + s->ptr[t], *log_pi = s->log_pi + s->ptr[t];
        uint64_t counter = 0;
        switch (strategy) {
        case FM_SAMPLER_FULL: keep_all(idx, val, log_pi, row); break;
        case FM_SAMPLER_UNIFORM: uniform_target(idx, val, log_pi, row, fanout, rng, &counter, bits); break;
        case FM_SAMPLER_WEIGHTED: kept[t] = weighted_target(idx, val, log_pi, row, fanout, rng, uniforms); break;
        default:
            stratified_target(idx, val, log_pi, row, sources, fanout, wanted, rng, &counter, zeros, bits);
            break;
        }
    }

    // Weighted kept fewer edges where draws repeated: close the gaps, in
    // order (a serial pass of memmoves over the kept edges).
    if (kept) {
        int64_t write = 0;
        for (int64_t t = 0; t < targets; t++) {
            const int64_t start = (int64_t)s->ptr[t];
            if (write != start) {
                memmove(s->idx + write, s->idx + start, sizeof *s->idx * (size_t)kept[t]);
                memmove(s->val + write, s->val + start, sizeof *s->val * (size_t)kept[t]);
                memmove(s->log_pi + write, s->log_pi + start, sizeof *s->log_pi * (size_t)kept[t]);
            }
            s->ptr[t] = (GrB_Index)write;
            write += kept[t];
        }
        s->ptr[targets] = (GrB_Index)write;
    }
    s->count = (int64_t)s->ptr[targets];
    *out = s;
    s = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_sampler_draw(fm_sampled_edges **out, const fm_edges *edges, fm_kind kind,
                    const fm_sampler_options *options, uint64_t round, char *msg)
{
    if (!out || *out) return fm_fail(FM_ERR_INVALID, msg, "fm_sampler_draw: the output must be a NULL handle");
    const int status = check_arguments(edges, kind, options, msg);
    if (status) return status;
    FM_PROFILE_START(profile_clock);
    const int drawn = sampler_draw(out, edges, options, round, msg);
    // bytes: the row pointers read and written, the kept edges' source and
    // value read and source, value and log π written; weighted also reads
    // every value of the rows it samples (counted in full).
    if (drawn == FM_OK)
        FM_PROFILE_STOP(profile_clock, "sampler.draw", 0,
                        16.0 * (edges->targets + 1) + 28.0 * (*out)->count +
                            (options->strategy == FM_SAMPLER_WEIGHTED ? 4.0 * edges->count : 0));
    return drawn;
}

int fm_sampler_inclusion(float *log_pi, float *zero_log_pi, const fm_edges *edges, fm_kind kind,
                         const fm_sampler_options *options, char *msg)
{
#define FREE_ALL
    FM_CHECK(log_pi, FM_ERR_INVALID, "fm_sampler_inclusion: no output array");
    FM_TRY(check_arguments(edges, kind, options, msg));
    const int64_t sources = edges->sources, fanout = options->fanout;
    const fm_sampler strategy = options->strategy;
    const int64_t wanted = strategy == FM_SAMPLER_STRATIFIED ? zeros_wanted(options, sources) : 0;
#pragma omp parallel for schedule(dynamic, TARGET_CHUNK) if (edges->targets > TARGET_CHUNK)
    for (int64_t t = 0; t < edges->targets; t++) {
        const row_view row = row_of(edges, t);
        float *out = log_pi + (edges->ptr ? (int64_t)edges->ptr[t] : t * sources);
        const bool all = strategy == FM_SAMPLER_FULL || row.degree <= fanout;
        if (all || strategy != FM_SAMPLER_WEIGHTED) {
            const float value = all ? 0.0f : (float)log((double)fanout / (double)row.degree);
            for (int64_t p = 0; p < row.degree; p++) out[p] = value;
        } else {
            const weighted_mix mix = weighted_mix_of(row);
            for (int64_t p = 0; p < row.degree; p++)
                out[p] = weighted_log_pi(mix.share * fabs((double)row.val[p]) + mix.base, fanout);
        }
        if (zero_log_pi) {
            const int64_t unstored = sources - row.degree, drawn = min64(wanted, unstored);
            zero_log_pi[t] = unstored == 0 ? 0.0f
                             : drawn == 0  ? -INFINITY
                                           : (float)log((double)drawn / (double)unstored);
        }
    }
    return FM_OK;
#undef FREE_ALL
}

void fm_sampler_estimate(double *numerator, double *denominator, int64_t count, int width,
                         const double *scores, const float *log_pi, const double *values, double shift)
{
    for (int c = 0; c < width; c++) numerator[c] = 0;
    double sum = 0;
    for (int64_t e = 0; e < count; e++) {
        const double weight = exp(scores[e] - (log_pi ? (double)log_pi[e] : 0.0) - shift);
        sum += weight;
        for (int c = 0; c < width; c++) numerator[c] += weight * values[e * width + c];
    }
    *denominator = sum;
}
