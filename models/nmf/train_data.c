// Synthetic training and validation matrices (§7, paper eq. 18).
#include "train_data.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "status.h"
#include "synthetic.h"

static const fm_shape_range ranges[FM_SHAPE_CLASSES] = {
    [FM_SHAPE_SMALL] = { 10, 30, 10, 30 },
    [FM_SHAPE_LARGE] = { 30, 70, 30, 70 },
    [FM_SHAPE_TALL] = { 30, 100, 10, 35 },
    [FM_SHAPE_WIDE] = { 10, 35, 30, 100 },
};

// Cumulative weights of the training classes: 10000 : 2000 : 1500 : 1500.
static const int64_t cumulative[FM_SHAPE_CLASSES + 1] = { 0, 20, 24, 27, 30 };

fm_shape_range fm_train_range(fm_shape_class shape)
{
    if (shape < 0 || shape >= FM_SHAPE_CLASSES) return (fm_shape_range){ 0, 0, 0, 0 };
    return ranges[shape];
}

const char *fm_train_set_name(fm_train_set set)
{
    switch (set) {
    case FM_SET_TRAIN: return "train";
    case FM_SET_VALID_SMALL: return "valid-small";
    case FM_SET_VALID_LARGE: return "valid-large";
    }
    return "unknown";
}

const char *fm_shape_class_name(fm_shape_class shape)
{
    static const char *names[FM_SHAPE_CLASSES] = { "small", "large", "tall", "wide" };
    return shape >= 0 && shape < FM_SHAPE_CLASSES ? names[shape] : "unknown";
}

static int check_set(fm_train_set set, int64_t set_size, char *msg)
{
    if (set != FM_SET_TRAIN && set != FM_SET_VALID_SMALL && set != FM_SET_VALID_LARGE)
        return fm_fail(FM_ERR_INVALID, msg, "training data: unknown set %d", (int)set);
    if (set_size < 1 || set_size > FM_TRAIN_MAX_SET)
        return fm_fail(FM_ERR_INVALID, msg, "training data: set size %lld; expected 1 to 2^40",
                       (long long)set_size);
    return FM_OK;
}

static int check_index(fm_train_set set, int64_t index, int64_t set_size, char *msg)
{
    const int status = check_set(set, set_size, msg);
    if (status) return status;
    if (index < 0 || index >= set_size)
        return fm_fail(FM_ERR_INVALID, msg, "training data: index %lld outside the %s set of %lld matrices",
                       (long long)index, fm_train_set_name(set), (long long)set_size);
    return FM_OK;
}

static fm_rng base_stream(uint64_t seed) { return fm_rng_stream(seed, FM_STREAM_TRAIN); }

int fm_train_class_counts(int64_t counts[FM_SHAPE_CLASSES], fm_train_set set, int64_t set_size, char *msg)
{
    if (!counts) return fm_fail(FM_ERR_INVALID, msg, "fm_train_class_counts: no output array");
    const int status = check_set(set, set_size, msg);
    if (status) return status;
    for (int c = 0; c < FM_SHAPE_CLASSES; c++) counts[c] = 0;
    if (set == FM_SET_VALID_SMALL) counts[FM_SHAPE_SMALL] = set_size;
    else if (set == FM_SET_VALID_LARGE) counts[FM_SHAPE_LARGE] = set_size;
    else
        for (int c = 0; c < FM_SHAPE_CLASSES; c++)
            counts[c] = set_size * cumulative[c + 1] / cumulative[FM_SHAPE_CLASSES] -
                        set_size * cumulative[c] / cumulative[FM_SHAPE_CLASSES];
    return FM_OK;
}

int fm_train_class(fm_shape_class *shape, fm_train_set set, int64_t index, int64_t set_size, uint64_t seed,
                   char *msg)
{
    if (!shape) return fm_fail(FM_ERR_INVALID, msg, "fm_train_class: no output");
    const int status = check_index(set, index, set_size, msg);
    if (status) return status;
    if (set != FM_SET_TRAIN) {
        *shape = set == FM_SET_VALID_SMALL ? FM_SHAPE_SMALL : FM_SHAPE_LARGE;
        return FM_OK;
    }
    const fm_rng order = fm_rng_stream(fm_rng_bits(base_stream(seed), (UINT64_C(0xFF) << 56) | (uint64_t)set),
                                       (uint64_t)set_size);
    const int64_t position = fm_rng_permute(index, set_size, order);
    int c = 0;
    while (position >= set_size * cumulative[c + 1] / cumulative[FM_SHAPE_CLASSES]) c++;
    *shape = (fm_shape_class)c;
    return FM_OK;
}

uint64_t fm_train_matrix_key(uint64_t seed, fm_train_set set, int64_t index)
{
    return fm_rng_bits(base_stream(seed), ((uint64_t)set << 48) | (uint64_t)index);
}

static int64_t uniform_between(fm_rng r, uint64_t counter, int64_t lo, int64_t hi)
{
    const int64_t value = lo + (int64_t)(fm_rng_uniform(r, counter) * (double)(hi - lo + 1));
    return value < hi ? value : hi;   // uniform < 1, so only a rounding could reach hi + 1
}

fm_shape_range fm_train_range_at_rank(fm_shape_class shape, int rank)
{
    fm_shape_range r = fm_train_range(shape);
    const int64_t up_rows = rank > r.min_rows ? rank - r.min_rows : 0, up_cols = rank > r.min_cols ? rank - r.min_cols : 0;
    r.min_rows += up_rows, r.max_rows += up_rows;
    r.min_cols += up_cols, r.max_cols += up_cols;
    return r;
}

int fm_train_shape(int64_t *rows, int64_t *cols, fm_train_set set, int64_t index, int64_t set_size, int rank,
                   uint64_t seed, char *msg)
{
    if (!rows || !cols) return fm_fail(FM_ERR_INVALID, msg, "fm_train_shape: no output");
    fm_shape_class shape;
    const int status = fm_train_class(&shape, set, index, set_size, seed, msg);
    if (status) return status;
    const fm_rng draw = fm_rng_stream(fm_train_matrix_key(seed, set, index), 0);
    const fm_shape_range range = fm_train_range_at_rank(shape, rank);
    *rows = uniform_between(draw, 0, range.min_rows, range.max_rows);
    *cols = uniform_between(draw, 1, range.min_cols, range.max_cols);
    return FM_OK;
}

void fm_train_exponential_factors(float *W, float *H, int64_t rows, int64_t cols, int rank, uint64_t key)
{
    const fm_rng w_draw = fm_rng_stream(key, 1), h_draw = fm_rng_stream(key, 2);
    const double lambda = sqrt((double)rank);
    for (int64_t e = 0; e < rows * rank; e++) W[e] = (float)fm_rng_exponential(w_draw, (uint64_t)e, lambda);
    for (int64_t e = 0; e < rank * cols; e++) H[e] = (float)fm_rng_exponential(h_draw, (uint64_t)e, lambda);
}

int fm_train_data_shape(int64_t *rows, int64_t *cols, const fm_train_data *data, fm_train_set set, int64_t index,
                        int64_t set_size, int rank, uint64_t seed, char *msg)
{
    const int status = fm_train_shape(rows, cols, set, index, set_size, rank, seed, msg);
    if (status) return status;
    const int scale = data && data->scale > 1 ? data->scale : 1;
    *rows *= scale;
    *cols *= scale;
    return FM_OK;
}

// §7's X = max(W H + noise, 0) of rows × cols from the matrix's key.
static void fill_exponential(float *X, float *W, float *H, int64_t rows, int64_t cols, fm_train_set set,
                             int64_t index, int rank, uint64_t seed)
{
    const uint64_t key = fm_train_matrix_key(seed, set, index);
    const fm_rng noise_draw = fm_rng_stream(key, 3);
    const double noise = set == FM_SET_TRAIN ? FM_TRAIN_NOISE : 0;
    fm_train_exponential_factors(W, H, rows, cols, rank, key);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double x = 0;
            for (int r = 0; r < rank; r++) x += (double)W[i * rank + r] * H[r * cols + j];
            if (noise > 0) x += noise * fm_rng_normal(noise_draw, (uint64_t)(i * cols + j));
            X[i * cols + j] = (float)(x > 0 ? x : 0);
        }
}

int fm_train_fill(float *X, float *W, float *H, fm_train_set set, int64_t index, int64_t set_size, int rank,
                  uint64_t seed, char *msg)
{
    if (!X || !W || !H) return fm_fail(FM_ERR_INVALID, msg, "fm_train_fill: X, W and H are all needed");
    if (rank < 1) return fm_fail(FM_ERR_INVALID, msg, "fm_train_fill: rank %d must be >= 1", rank);
    int64_t rows = 0, cols = 0;
    const int status = fm_train_shape(&rows, &cols, set, index, set_size, rank, seed, msg);
    if (status) return status;
    fill_exponential(X, W, H, rows, cols, set, index, rank, seed);
    return FM_OK;
}

int fm_train_planted_rank(const fm_train_data *data, fm_train_set set, int64_t index, int64_t rows, int64_t cols,
                          int rank, uint64_t seed)
{
    const bool scenes = data && data->family == FM_FAMILY_SCENES;
    if (!data || (!(data->rank_spread > 0) && !scenes)) return rank;
    const int64_t side = rows < cols ? rows : cols;
    int64_t planted = rank;
    if (data->rank_spread > 0) {
        const double u = fm_rng_uniform(fm_rng_stream(fm_train_matrix_key(seed, set, index), 12), 0);
        planted = lround(rank * exp2(data->rank_spread * (2 * u - 1)));
        planted = planted < 1 ? 1 : planted > side ? side : planted;
    }
    if (scenes) planted *= 2;   // more materials than the rank (train_families.h)
    return (int)(planted > side ? side : planted);
}

void fm_train_data_default(fm_train_data *data)
{
    *data = (fm_train_data){ .kind = FM_KIND_DENSE, .zeros = FM_TRAIN_ZEROS, .observed = FM_TRAIN_OBSERVED,
                             .degrees = FM_DEGREES_UNIFORM, .family = FM_FAMILY_EXPONENTIAL, .scale = 1 };
}

fm_train_data fm_train_data_member(const fm_train_data *data, int64_t index)
{
    fm_train_data member;
    if (!data) fm_train_data_default(&member);
    else member = *data;
    if (!fm_train_family_is_mix(member.family)) return member;
    const bool scenes = member.family == FM_FAMILY_MIX_SCENES;
    member.family = (fm_train_family)(index % FM_FAMILIES);   // the enum's order is the mix's
    if (scenes && member.family == FM_FAMILY_SPECTRA) member.family = FM_FAMILY_SCENES;
    member.kind = fm_train_family_kind(member.family, FM_KIND_DENSE);
    if (member.family == FM_FAMILY_RATINGS) member.degrees = FM_DEGREES_POWER_LAW;
    return member;
}

int fm_train_data_check(const fm_train_data *data, char *msg)
{
    if (!data) return FM_OK;
    if (data->kind != FM_KIND_DENSE && data->kind != FM_KIND_SPARSE && data->kind != FM_KIND_INCOMPLETE)
        return fm_fail(FM_ERR_INVALID, msg, "training data: the kind must be dense, sparse or incomplete, not %s",
                       fm_kind_name(data->kind));
    if (data->kind == FM_KIND_SPARSE && !(data->zeros >= 0 && data->zeros < 1))
        return fm_fail(FM_ERR_INVALID, msg, "training data: the fraction of zeros %g must be in [0, 1)", data->zeros);
    if (data->kind == FM_KIND_INCOMPLETE && !(data->observed > 0 && data->observed <= 1))
        return fm_fail(FM_ERR_INVALID, msg, "training data: the fraction observed %g must be in (0, 1]",
                       data->observed);
    if (data->kind == FM_KIND_INCOMPLETE && (unsigned)data->degrees > FM_DEGREES_POWER_LAW)
        return fm_fail(FM_ERR_INVALID, msg, "training data: unknown degrees %d", (int)data->degrees);
    if ((unsigned)data->family > FM_FAMILY_MIX_SCENES)
        return fm_fail(FM_ERR_INVALID, msg, "training data: unknown family %d", (int)data->family);
    if (fm_train_family_is_mix(data->family) && data->kind != FM_KIND_DENSE)
        return fm_fail(FM_ERR_INVALID, msg, "training data: the mix takes each family's own kind (its kind field "
                       "is dense), not %s", fm_kind_name(data->kind));
    if (!(data->rank_spread >= 0 && data->rank_spread <= FM_TRAIN_MAX_RANK_SPREAD))
        return fm_fail(FM_ERR_INVALID, msg, "training data: the rank spread %g must be 0 to %g octaves",
                       data->rank_spread, FM_TRAIN_MAX_RANK_SPREAD);
    if (data->scale < 0 || data->scale > FM_TRAIN_MAX_SCALE)
        return fm_fail(FM_ERR_INVALID, msg, "training data: the shape scale %d must be 1 to %d", data->scale,
                       FM_TRAIN_MAX_SCALE);
    if (fm_train_family_kind(data->family, data->kind) != data->kind)
        return fm_fail(FM_ERR_INVALID, msg, "training data: the %s family is of the %s kind, not %s",
                       fm_train_family_name(data->family),
                       fm_kind_name(fm_train_family_kind(data->family, data->kind)), fm_kind_name(data->kind));
    return FM_OK;
}

// Node weights of the incomplete kind, divided by their mean.
static void degree_weights(double *w, int64_t n, fm_degrees degrees, fm_rng draw, uint64_t offset)
{
    double sum = 0;
    for (int64_t v = 0; v < n; v++) {
        w[v] = fm_degree_weight(degrees, draw, offset + (uint64_t)v);
        sum += w[v];
    }
    for (int64_t v = 0; v < n; v++) w[v] *= (double)n / sum;
}

static int64_t pick_below(fm_rng draw, uint64_t counter, int64_t n)
{
    return uniform_between(draw, counter, 0, n - 1);
}

int fm_train_observed_pattern(unsigned char *stored, int64_t rows, int64_t cols, double observed, fm_degrees degrees,
                              uint64_t key, char *msg)
{
    double *a = NULL;
#define FREE_ALL free(a)
    FM_CHECK(stored && rows >= 1 && cols >= 1, FM_ERR_INVALID, "fm_train_observed_pattern: bad arguments");
    FM_ALLOC(a, rows + cols);
    double *b = a + rows;
    const fm_rng weights = fm_rng_stream(key, 5), draw = fm_rng_stream(key, 6), fill = fm_rng_stream(key, 7);
    degree_weights(a, rows, degrees, weights, 0);
    degree_weights(b, cols, degrees, weights, (uint64_t)rows);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            stored[i * cols + j] = fm_rng_uniform(draw, (uint64_t)(i * cols + j)) < observed * a[i] * b[j];
    for (int64_t i = 0; i < rows; i++) {
        bool any = false;
        for (int64_t j = 0; j < cols && !any; j++) any = stored[i * cols + j];
        if (!any) stored[i * cols + pick_below(fill, (uint64_t)i, cols)] = 1;
    }
    for (int64_t j = 0; j < cols; j++) {
        bool any = false;
        for (int64_t i = 0; i < rows && !any; i++) any = stored[i * cols + j];
        if (!any) stored[pick_below(fill, (uint64_t)(rows + j), rows) * cols + j] = 1;
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_pattern(unsigned char *stored, const fm_train_data *data, fm_train_set set, int64_t index,
                     int64_t set_size, int rank, uint64_t seed, char *msg)
{
    double *a = NULL;
#define FREE_ALL free(a)
    FM_CHECK(stored, FM_ERR_INVALID, "fm_train_pattern: no output");
    FM_TRY(fm_train_data_check(data, msg));
    const fm_train_data member = fm_train_data_member(data, index);
    data = &member;
    int64_t rows = 0, cols = 0;
    FM_TRY(fm_train_data_shape(&rows, &cols, data, set, index, set_size, rank, seed, msg));
    const uint64_t key = fm_train_matrix_key(seed, set, index);
    const fm_kind kind = data->kind;
    if (kind == FM_KIND_DENSE) {
        memset(stored, 1, (size_t)(rows * cols));
    } else if (kind == FM_KIND_SPARSE) {
        const fm_rng draw = fm_rng_stream(key, 4);
        for (int64_t e = 0; e < rows * cols; e++) stored[e] = !(fm_rng_uniform(draw, (uint64_t)e) < data->zeros);
    } else {
        FM_TRY(fm_train_observed_pattern(stored, rows, cols, data->observed, data->degrees, key, msg));
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The graph of X (rows × cols) restricted to `stored`, of `kind`.
static int pattern_graph(fm_graph **g, const float *X, const unsigned char *stored, int64_t rows, int64_t cols,
                         fm_kind kind, char *msg)
{
    int64_t *ptr = NULL, *idx = NULL;
    float *val = NULL;
#define FREE_ALL { free(ptr); free(idx); free(val); }
    if (kind == FM_KIND_DENSE) return fm_graph_from_dense(g, rows, cols, X, kind, msg);
    int64_t count = 0;
    for (int64_t e = 0; e < rows * cols; e++) count += stored[e];
    FM_ALLOC(ptr, rows + 1);
    FM_ALLOC(idx, count + 1);
    FM_ALLOC(val, count + 1);
    ptr[0] = 0;
    for (int64_t i = 0, w = 0; i < rows; i++) {
        for (int64_t j = 0; j < cols; j++)
            if (stored[i * cols + j]) {
                idx[w] = j;
                val[w++] = X[i * cols + j];
            }
        ptr[i + 1] = w;
    }
    // the sparse kind drops the zeros the noise's clipping left among them
    FM_TRY(fm_graph_from_csr(g, rows, cols, ptr, idx, val, kind, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_train_matrix(fm_graph **g, fm_dense **W_true, fm_dense **H_true, double *mean, const fm_train_data *data,
                    fm_train_set set, int64_t index, int64_t set_size, int rank, uint64_t seed, char *msg)
{
    float *X = NULL;
    unsigned char *stored = NULL;
    fm_dense *W = NULL, *H = NULL;
    fm_graph *graph = NULL;
#define FREE_ALL { free(X); free(stored); fm_dense_free(&W); fm_dense_free(&H); fm_graph_free(&graph); }
    FM_CHECK(g && !*g, FM_ERR_INVALID, "fm_train_matrix: the graph handle must be non-NULL and empty");
    FM_CHECK((!W_true || !*W_true) && (!H_true || !*H_true), FM_ERR_INVALID,
             "fm_train_matrix: the factor handles must be empty");
    FM_CHECK(rank >= 1, FM_ERR_INVALID, "fm_train_matrix: rank %d must be >= 1", rank);
    const fm_train_data member = fm_train_data_member(data, index);
    data = &member;
    int64_t rows = 0, cols = 0;
    FM_TRY(fm_train_data_shape(&rows, &cols, data, set, index, set_size, rank, seed, msg));
    // the values' own rank, which may differ from the factorization's (the shape's and pattern's)
    const int planted = fm_train_planted_rank(data, set, index, rows, cols, rank, seed);
    FM_ALLOC(X, rows * cols);
    FM_TRY(fm_dense_new(&W, rows, planted, msg));
    FM_TRY(fm_dense_new(&H, planted, cols, msg));
    FM_ALLOC(stored, rows * cols);
    const fm_train_family family = data->family;
    if (family == FM_FAMILY_EXPONENTIAL) {
        fill_exponential(X, W->data, H->data, rows, cols, set, index, planted, seed);
        FM_TRY(fm_train_pattern(stored, data, set, index, set_size, rank, seed, msg));
    } else {   // the family's values, and its own pattern but for ratings' incomplete one
        FM_TRY(fm_train_family_fill(X, W->data, H->data, stored, family, rows, cols, planted,
                                    fm_train_matrix_key(seed, set, index), set == FM_SET_TRAIN, msg));
        if (family == FM_FAMILY_RATINGS) FM_TRY(fm_train_pattern(stored, data, set, index, set_size, rank, seed, msg));
    }
    const fm_kind kind = data->kind;
    if (kind == FM_KIND_SPARSE)
        for (int64_t e = 0; e < rows * cols; e++) X[e] = stored[e] ? X[e] : 0;
    if (mean) {   // §5: X / its mean over Ω (every entry but the incomplete kind's unobserved ones)
        double sum = 0;
        int64_t omega = 0;
        for (int64_t e = 0; e < rows * cols; e++)
            if (kind != FM_KIND_INCOMPLETE || stored[e]) {
                sum += X[e];
                omega++;
            }
        *mean = sum / (double)omega;
        FM_CHECK(*mean > 0 && isfinite(*mean), FM_ERR_NUMERIC, "training data: the %s matrix %lld has mean %g",
                 fm_train_set_name(set), (long long)index, *mean);
        for (int64_t e = 0; e < rows * cols; e++) X[e] = (float)(X[e] / *mean);
    }
    FM_TRY(pattern_graph(&graph, X, stored, rows, cols, kind, msg));
    *g = graph;
    graph = NULL;
    if (W_true) {
        *W_true = W;
        W = NULL;
    }
    if (H_true) {
        *H_true = H;
        H = NULL;
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
