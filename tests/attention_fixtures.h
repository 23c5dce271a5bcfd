// Fixtures of the attention suites (test_attention, test_attention_graphblas,
// test_factormer_layer): one edge-attention problem in double and in float,
// the outputs and gradients of a run, the four paths that produce them (the
// double reference, the fused path in double and in float, the GraphBLAS
// path), and the norm-wise comparisons between two runs.
//
// Every random value is rounded to float, so the float and the double paths
// see identical inputs. Every fixture fails the test (Criterion) on error.
#ifndef FM_ATTENTION_FIXTURES_H
#define FM_ATTENTION_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include "attention_block.h"
#include "attention_reference.h"

enum { QUERIES, KEYS, VALUES, SOURCES, PROBES, EDGE_SCALES, INPUTS };
enum { VALUE_SUMS, SOURCE_SUMS, EDGE_SUMS, LOG_NORMS, OUTPUTS };
extern const char *const input_names[INPUTS];
extern const char *const output_names[OUTPUTS];

//------------------------------------------------------------------------------
// Arrays and norms
//------------------------------------------------------------------------------

double *zeros64(int64_t n);
float *zeros32(int64_t n);
// Uniform in [-scale, scale), rounded to float.
void fill_uniform(double *a, int64_t n, double scale, uint64_t seed);
float *to_float(const double *a, int64_t n);
double *to_double(const float *a, int64_t n);
// ‖a − b‖ / ‖b‖ (b the reference); ‖a − b‖ when ‖b‖ is 0.
double relative_error64(const double *a, const double *b, int64_t n);
double relative_error32(const float *a, const double *b, int64_t n);
double relative_error_float(const float *a, const float *b, int64_t n);
bool all_finite(const float *a, int64_t n);

// Central differences (step 1e-5) of loss(context) in up to `probes` entries
// of `array` (all of them when there are no more; else entries k·7919 mod
// size), against `analytic` at the same entries: returns
// ‖analytic − numeric‖ / max(‖numeric‖, floor) (‖analytic − numeric‖ when
// both are 0) and, if numeric_norm is not NULL, ‖numeric‖ there.
double central_differences(double *array, const double *analytic, int64_t size, int64_t probes,
                           double floor, double (*loss)(void *context), void *context,
                           double *numeric_norm);

//------------------------------------------------------------------------------
// Graphs
//------------------------------------------------------------------------------

// ref_random_graph (SPARSE kind, an empty, a one-edge and a full row and column).
fm_graph *random_graph(int64_t rows, int64_t cols, double density, uint64_t seed);
// DENSE kind, every value in [0.1, 1.1).
fm_graph *dense_graph(int64_t rows, int64_t cols, uint64_t seed);

// The graphs the path-against-reference sweeps run on.
typedef fm_graph *(*graph_maker)(uint64_t seed);
fm_graph *one_by_one(uint64_t seed);
fm_graph *seven_by_five(uint64_t seed);        // density 0.5
fm_graph *forty_by_sixty(uint64_t seed);       // density 0.3
fm_graph *sixty_by_forty(uint64_t seed);       // density 0.3
fm_graph *dense_nine_by_six(uint64_t seed);
fm_graph *dense_seventy_by_300(uint64_t seed); // more than one tile of the fused full path

//------------------------------------------------------------------------------
// One attention problem
//------------------------------------------------------------------------------

// A graph, a direction, inputs in double and the same values in float.
typedef struct problem {
    fm_graph *graph;
    fm_direction direction;
    fm_attention_shape shape;
    ref_edges edges;
    int64_t input_size[INPUTS], output_size[OUTPUTS];
    double *in64[INPUTS];
    float *in32[INPUTS];
    bool sampled;                 // problem_sample: the paths run on a sample
    fm_sampler_options sampler;
    uint64_t round;
} problem;

// Takes ownership of g. Inputs uniform in [-scale, scale).
problem problem_new(fm_graph *g, fm_direction direction, int heads, int width, double scale, uint64_t seed);
void problem_free(problem *p);
// From now on every fused path runs on the sample of round `round` of the
// graph (fm_message_graph_sample, with the backward), drawn afresh for each
// run, and the reference on the same sample's edges and log π. The GraphBLAS
// path does not read samples.
void problem_sample(problem *p, const fm_sampler_options *options, uint64_t round);
// After in64 is changed: in32 rounded from it again.
void problem_round_inputs(problem *p);
fm_attention_inputs_f64 inputs64(const problem *p);
fm_attention_inputs inputs32(const problem *p);
// "40x60 to rows, 2 heads, width 8", in static storage.
const char *problem_name(const problem *p);

// Outputs, gradients, and the weights of the loss Σ_k weight_k ⊙ output_k
// (the gradients of the outputs the backward is given; that of log_norms is
// never read), indexed like the enums.
typedef struct results64 { double *out[OUTPUTS], *grad[INPUTS], *weight[OUTPUTS]; } results64;
typedef struct results32 { float *out[OUTPUTS], *grad[INPUTS], *weight[OUTPUTS]; } results32;

// Zero outputs and gradients; weights uniform in [-1, 1).
results64 results64_new(const problem *p, uint64_t seed);
// Zero outputs and gradients; r64's weights in float.
results32 results32_new(const problem *p, const results64 *r64);
void results64_free(results64 *r);
// r's outputs and gradients into `wide`'s.
void results_widen(results64 *wide, const problem *p, const results32 *r);
void results32_free(results32 *r);

//------------------------------------------------------------------------------
// Paths
//------------------------------------------------------------------------------

typedef enum { PATH_REFERENCE, PATH_FUSED_F64, PATH_FUSED, PATH_GRAPHBLAS } attention_path;
const char *path_name(attention_path path);

// Forward once, then backward `backward_calls` times adding into r's
// gradients, in float through fm_attention_forward/backward on a message
// graph opened for `kernels` (and closed again).
void run32(problem *p, results32 *r, fm_kernels kernels, int backward_calls);
// The same for any path; a float path runs on in32 and r's weights in float
// (run32), its outputs and gradients widened into r.
void run64(problem *p, results64 *r, attention_path path, int backward_calls);
// Σ_k weight_k ⊙ output_k over value_sums, source_sums, edge_sums after a
// forward of `path` (a double one) into r's outputs.
double loss64(problem *p, results64 *r, attention_path path);

//------------------------------------------------------------------------------
// Comparisons
//------------------------------------------------------------------------------

typedef struct differences { double forward, backward; } differences;

// Every output of `a` against `b`'s and every gradient of `a` against
// grad_factor × b's, norm-wise: each error expected below out_tolerance and
// grad_tolerance (INFINITY: only checked finite), every entry of `a` finite.
// `what` names the comparison in the messages. Returns the worst errors.
differences compare_results(const problem *p, const results64 *a, const results64 *b, double grad_factor,
                            double out_tolerance, double grad_tolerance, const char *what);

// Runs `against` (backward once) and `tried` (backward twice: the
// gradients accumulate, so they must be twice `against`'s) on p, with the
// loss weights of `seed`, and compares them (compare_results).
differences compare_paths(problem *p, uint64_t seed, attention_path tried, attention_path against,
                          double out_tolerance, double grad_tolerance);

// `path` against the reference (compare_paths, `tolerance` for outputs and
// gradients alike) for both directions, heads ∈ {1, 2, 4} and width ∈ {4, 8},
// each case on a graph made afresh by `make`. Returns the worst error.
double sweep(graph_maker make, uint64_t seed, attention_path path, double tolerance);

// Central differences of loss64 under `path` (a double one) in up to
// `probes` entries of every input, against the path's backward: each below
// 1e-6, the numeric gradient of every input nonzero. Returns the worst.
double check_finite_differences(problem *p, attention_path path, int64_t probes, uint64_t seed);

// Forward and backward of `path` (a float one) with 1 thread and with 2, 3
// and 7 (OpenMP and GraphBLAS; the earlier count restored after): every
// output and gradient within 1e-5 norm-wise. Returns the largest
// differences, and how many entries differ at all in *entries_differ.
differences check_thread_counts(problem *p, attention_path path, uint64_t seed, int64_t *entries_differ);

// The largest |log_norm| of r: how large the scores are.
double largest_log_norm(const problem *p, const results64 *r);

// Target 0 and source 0 of p have no edges (ref_random_graph): the target's
// outputs and the gradients of both are exactly zero in `r`.
void check_isolated_node_zeros(const problem *p, const results32 *r);

//------------------------------------------------------------------------------
// The attention block
//------------------------------------------------------------------------------

// Node features uniform in ±1 and the block's parameters in ±0.7 (double),
// seen both as the reference's ref_block_params and as the library's
// fm_attention_weights_f64 (the same tensors: W_Q = query_weight, b_Q =
// query_bias, …, a_K = edge_key_scale, B_K = edge_key_weight, a_V =
// edge_value_scale, B_V = edge_value_weight, b_VE = edge_value_bias).
enum { BLOCK_TENSORS = 11 };
typedef struct block_problem {
    double *targets, *sources;   // shape.targets × d, shape.sources × d
    double *tensor[BLOCK_TENSORS];
    ref_block_params params;
    fm_attention_weights_f64 weights;
} block_problem;

block_problem block_problem_new(fm_attention_shape shape, uint64_t seed);
void block_problem_free(block_problem *b);

#endif
