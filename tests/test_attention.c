// The fused edge attention (ops/attention_fused.inc): its double build
// against central finite differences and against the double reference
// (tests/attention_reference.c), its float build against its double build
// and against the GraphBLAS path, stability, isolated targets, thread counts.
#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"

TestSuite(attention, .init = fm_test_setup);

//------------------------------------------------------------------------------
// The double build against finite differences and against the reference
//------------------------------------------------------------------------------

// Central differences of the double forward on up to 60 entries of every
// input, against the double backward.
static void check_gradients(fm_graph *g, fm_direction dir, int heads, int width, uint64_t seed)
{
    problem p = problem_new(g, dir, heads, width, 1.2, seed);
    const double worst = check_finite_differences(&p, PATH_FUSED_F64, 60, seed + 1);
    cr_log_info("fused (double) vs finite differences, %s: %.3g", problem_name(&p), worst);
    problem_free(&p);
}

Test(attention, fused_backward_matches_finite_differences_sparse)
{
    const int shapes[][2] = {{1, 4}, {2, 8}, {4, 8}};
    for (int c = 0; c < 3; c++) {
        check_gradients(random_graph(23, 17, 0.25, 11), FM_TO_COLUMNS, shapes[c][0], shapes[c][1], 100 + c);
        check_gradients(random_graph(23, 17, 0.25, 11), FM_TO_ROWS, shapes[c][0], shapes[c][1], 200 + c);
    }
}

// More targets and sources than one tile (64 × 256), so tiles and the online
// softmax across them are exercised.
Test(attention, fused_backward_matches_finite_differences_full)
{
    check_gradients(dense_seventy_by_300(5), FM_TO_COLUMNS, 2, 4, 300);
    check_gradients(dense_seventy_by_300(5), FM_TO_ROWS, 2, 4, 301);
}

// The shapes of the GraphBLAS suite's sweeps, and a full graph of more than
// one tile: forward outputs and all six gradients (accumulated over two
// backward calls) within 1e-10 of the reference.
Test(attention, fused_matches_reference)
{
    graph_maker graphs[] = { one_by_one, seven_by_five, forty_by_sixty, sixty_by_forty, dense_nine_by_six,
                             dense_seventy_by_300 };
    double worst = 0;
    for (size_t g = 0; g < sizeof graphs / sizeof graphs[0]; g++)
        worst = fmax(worst, sweep(graphs[g], 11 + g, PATH_FUSED_F64, 1e-10));
    cr_log_info("fused (double) vs reference: worst relative error %.3g", worst);
}

//------------------------------------------------------------------------------
// The float build against the double build and against the GraphBLAS path
//------------------------------------------------------------------------------

// The float build runs the same code as the double one; on O(1) inputs the
// two agree to float rounding.
Test(attention, float_build_matches_double_build)
{
    double worst = 0;
    for (int dir = 0; dir < 2; dir++) {
        problem sparse = problem_new(random_graph(60, 45, 0.3, 21), (fm_direction)dir, 4, 16, 1.0, 31 + dir);
        problem full = problem_new(dense_graph(90, 270, 6), (fm_direction)dir, 4, 16, 1.0, 41 + dir);
        const differences a = compare_paths(&sparse, 32 + dir, PATH_FUSED, PATH_FUSED_F64, 1e-5, 1e-5);
        const differences b = compare_paths(&full, 42 + dir, PATH_FUSED, PATH_FUSED_F64, 1e-5, 1e-5);
        worst = fmax(worst, fmax(fmax(a.forward, a.backward), fmax(b.forward, b.backward)));
        problem_free(&sparse);
        problem_free(&full);
    }
    cr_log_info("fused float vs double: worst relative error %.3g", worst);
}

// Two message graphs on the same graph, one per path, each opened, run and
// closed in turn (a fused open empties the GraphBLAS matrices until close):
// every output and gradient within 1e-5.
Test(attention, fused_matches_graphblas)
{
    const struct { int64_t rows, cols; double density; } graphs[] = {
        { 40, 60, 0.3 }, { 300, 200, 0.05 }, { 150, 150, 0.6 }, { 70, 300, -1 },   // -1: the dense kind
    };
    const int heads[] = { 1, 2, 4 };   // (2 heads of 8: the fused kernel's shape of the shipped models)
    differences worst = { 0, 0 };
    for (int g = 0; g < 4; g++)
        for (int dir = 0; dir < 2; dir++)
            for (int h = 0; h < 3; h++) {
                const uint64_t seed = 500 + g * 10 + dir * 3 + h;
                fm_graph *graph = graphs[g].density < 0 ? dense_graph(graphs[g].rows, graphs[g].cols, seed)
                                                        : random_graph(graphs[g].rows, graphs[g].cols,
                                                                       graphs[g].density, seed);
                problem p = problem_new(graph, (fm_direction)dir, heads[h], 16, 1.0, seed);
                const differences error = compare_paths(&p, seed, PATH_FUSED, PATH_GRAPHBLAS, 1e-5, 1e-5);
                worst.forward = fmax(worst.forward, error.forward);
                worst.backward = fmax(worst.backward, error.backward);
                problem_free(&p);
            }
    cr_log_info("fused vs GraphBLAS (float): worst relative error %.3g forward, %.3g backward", worst.forward,
                worst.backward);
}

// Scores of magnitude 1e4: without the running max exp() would overflow.
// Every output and gradient stays finite, and the outputs match the double
// build to the rounding of a float score of 1e4 (1e-3). The gradients are
// finite but not compared: with a one-hot softmax they are differences of
// nearly equal terms in either precision.
static void check_huge_scores(fm_graph *g, fm_direction dir, uint64_t seed)
{
    // inputs up to 100 on head width 16: scores reach ~1e4
    problem p = problem_new(g, dir, 1, 16, 100.0, seed);
    results64 reference = results64_new(&p, seed), result = results64_new(&p, seed);
    run64(&p, &reference, PATH_FUSED_F64, 1);
    run64(&p, &result, PATH_FUSED, 1);
    const double largest = largest_log_norm(&p, &reference);
    cr_assert_gt(largest, 5e3, "scores should reach the order of 1e4, the largest log_norm is %g", largest);
    const differences error = compare_results(&p, &result, &reference, 1.0, 1e-3, INFINITY,
                                              "fused float vs double, scores ~1e4");
    cr_log_info("%s, largest log_norm %.4g: forward %.3g", problem_name(&p), largest, error.forward);
    results64_free(&reference);
    results64_free(&result);
    problem_free(&p);
}

Test(attention, softmax_stays_finite_for_huge_scores)
{
    check_huge_scores(random_graph(30, 20, 0.4, 51), FM_TO_COLUMNS, 61);
    check_huge_scores(dense_seventy_by_300(7), FM_TO_ROWS, 62);
}

// Row 0 and column 0 of the test graph have no edges: as targets they get
// zero sums, log_norm 0 and zero gradients, and as sources zero gradients.
Test(attention, isolated_target_gets_zero_message)
{
    for (int dir = 0; dir < 2; dir++) {
        problem p = problem_new(random_graph(12, 9, 0.5, 71), (fm_direction)dir, 2, 8, 1.0, 81 + dir);
        results64 weights = results64_new(&p, 91 + dir);
        results32 r = results32_new(&p, &weights);
        for (int k = 0; k < OUTPUTS; k++)   // overwritten even for an isolated target
            for (int64_t e = 0; e < p.output_size[k]; e++) r.out[k][e] = NAN;
        run32(&p, &r, FM_KERNELS_FUSED, 1);
        check_isolated_node_zeros(&p, &r);
        for (int k = 0; k < OUTPUTS; k++) cr_expect(all_finite(r.out[k], p.output_size[k]), "%s", output_names[k]);
        for (int k = 0; k < INPUTS; k++) cr_expect(all_finite(r.grad[k], p.input_size[k]), "d %s", input_names[k]);
        results64_free(&weights);
        results32_free(&r);
        problem_free(&p);
    }
}

//------------------------------------------------------------------------------
// One thread and two
//------------------------------------------------------------------------------

// A sparse graph and a dense-kind one of more than one tile, both directions.
Test(attention, fused_same_for_any_thread_count)
{
    for (int dir = 0; dir < 2; dir++) {
        problem sparse = problem_new(random_graph(300, 200, 0.3, 131), (fm_direction)dir, 2, 8, 1.0, 131);
        problem full = problem_new(dense_graph(130, 300, 133), (fm_direction)dir, 2, 8, 1.0, 133);
        int64_t sparse_differ, full_differ;
        const differences a = check_thread_counts(&sparse, PATH_FUSED, 132, &sparse_differ);
        const differences b = check_thread_counts(&full, PATH_FUSED, 134, &full_differ);
        cr_log_info("fused, direction %d, 2, 3, 7 threads vs 1: sparse %.3g forward, %.3g backward (%lld entries differ); "
                    "full %.3g forward, %.3g backward (%lld entries differ)",
                    dir, a.forward, a.backward, (long long)sparse_differ, b.forward, b.backward,
                    (long long)full_differ);
        problem_free(&sparse);
        problem_free(&full);
    }
}
