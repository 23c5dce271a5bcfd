// The GraphBLAS edge attention (ops/attention_graphblas.c) against the
// double-precision references of tests/attention_reference.c, and the
// references against finite differences and against the literal §4 block.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "profile.h"

TestSuite(attention_graphblas, .init = fm_test_setup);

//------------------------------------------------------------------------------
// (a) the reference backward against central differences of its forward
//------------------------------------------------------------------------------

Test(attention_graphblas, reference_backward_matches_finite_differences)
{
    struct { int64_t rows, cols; double density; fm_direction direction; int heads, width; } cases[] = {
        { 7, 5, 0.5, FM_TO_ROWS, 2, 4 },
        { 7, 5, 0.5, FM_TO_COLUMNS, 1, 4 },
        { 6, 9, 0.6, FM_TO_ROWS, 4, 8 },
        { 6, 9, 0.6, FM_TO_COLUMNS, 2, 8 },
    };
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem p = problem_new(random_graph(cases[c].rows, cases[c].cols, cases[c].density, 11 + c),
                                cases[c].direction, cases[c].heads, cases[c].width, 1.0, 100 + c);
        // every entry of every input
        double error = check_finite_differences(&p, PATH_REFERENCE, INT64_MAX, 200 + c);
        if (error > worst) worst = error;
        problem_free(&p);
    }
    cr_log_info("reference backward vs finite differences: worst relative error %.3g", worst);
}

//------------------------------------------------------------------------------
// (b) GraphBLAS (float) against the reference (double)
//------------------------------------------------------------------------------

// Every direction, heads ∈ {1, 2, 4} and width ∈ {4, 8}; the GraphBLAS
// backward runs twice into the same arrays and must give twice the
// reference (gradients are accumulated).
Test(attention_graphblas, matches_reference_1x1)
{
    cr_log_info("1x1: worst relative error %.3g", sweep(one_by_one, 1, PATH_GRAPHBLAS, 1e-4));
}

Test(attention_graphblas, matches_reference_7x5)
{
    cr_log_info("7x5: worst relative error %.3g", sweep(seven_by_five, 2, PATH_GRAPHBLAS, 1e-4));
}

Test(attention_graphblas, matches_reference_40x60)
{
    cr_log_info("40x60: worst relative error %.3g", sweep(forty_by_sixty, 3, PATH_GRAPHBLAS, 1e-4));
}

Test(attention_graphblas, matches_reference_60x40)
{
    cr_log_info("60x40: worst relative error %.3g", sweep(sixty_by_forty, 4, PATH_GRAPHBLAS, 1e-4));
}

Test(attention_graphblas, matches_reference_dense_kind)
{
    cr_log_info("dense 9x6: worst relative error %.3g", sweep(dense_nine_by_six, 5, PATH_GRAPHBLAS, 1e-4));
}

// NULL members: outputs not written, d_out read as zeros, gradients skipped.
Test(attention_graphblas, null_members_are_skipped)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(random_graph(12, 9, 0.4, 7), FM_TO_COLUMNS, 2, 8, 1.0, 7);
    results64 r64 = results64_new(&p, 7);
    results32 r32 = results32_new(&p, &r64);
    fm_attention_inputs_f64 in64 = inputs64(&p);
    fm_attention_inputs in32 = inputs32(&p);
    const fm_graphblas_edges own = fm_graphblas_edges_of(p.graph, p.direction);
    // forward with edge_sums only
    fm_attention_outputs_f64 out64 = { NULL, NULL, r64.out[EDGE_SUMS], NULL };
    fm_attention_outputs out32 = { NULL, NULL, r32.out[EDGE_SUMS], NULL };
    cr_assert_eq(ref_attention_forward(&out64, &in64, &p.edges, p.shape, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_attention_forward_graphblas(&out32, &in32, &own, p.shape, msg), FM_OK,
                 "%s", msg);
    cr_expect_lt(relative_error32(r32.out[EDGE_SUMS], r64.out[EDGE_SUMS], p.output_size[EDGE_SUMS]), 1e-4);
    // log_norms from a full forward, for the backward
    fm_attention_outputs saved = { r32.out[VALUE_SUMS], r32.out[SOURCE_SUMS], NULL, r32.out[LOG_NORMS] };
    cr_assert_eq(fm_attention_forward_graphblas(&saved, &in32, &own, p.shape, msg), FM_OK,
                 "%s", msg);
    // one gradient at a time, from the source_sums gradient only
    for (int k = 0; k < INPUTS; k++) {
        fm_attention_outputs_f64 d64 = { NULL, r64.weight[SOURCE_SUMS], NULL, NULL };
        fm_attention_outputs d32 = { NULL, r32.weight[SOURCE_SUMS], NULL, NULL };
        double *g64[INPUTS] = { NULL };
        float *g32[INPUTS] = { NULL };
        g64[k] = r64.grad[k];
        g32[k] = r32.grad[k];
        fm_attention_grads_f64 grads64 = { g64[0], g64[1], g64[2], g64[3], g64[4], g64[5] };
        fm_attention_grads grads32 = { g32[0], g32[1], g32[2], g32[3], g32[4], g32[5] };
        cr_assert_eq(ref_attention_backward(&grads64, &d64, &in64, &p.edges, p.shape, msg), FM_OK, "%s", msg);
        cr_assert_eq(fm_attention_backward_graphblas(&grads32, &d32, &in32, &saved, &own, p.shape, msg),
                     FM_OK, "%s", msg);
        const double error = relative_error32(r32.grad[k], r64.grad[k], p.input_size[k]);
        cr_expect_lt(error, 1e-4, "d %s alone: relative error %.3g", input_names[k], error);
    }
    // values get nothing from source_sums alone
    double norm = 0;
    for (int64_t e = 0; e < p.input_size[VALUES]; e++) norm += fabs(r32.grad[VALUES][e]);
    cr_expect_eq(norm, 0.0, "d values from a source_sums gradient alone should be zero, is %g", norm);
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// (c) large scores and isolated targets
//------------------------------------------------------------------------------

Test(attention_graphblas, large_scores_stay_finite_and_isolated_targets_get_zeros)
{
    for (int dir = 0; dir < 2; dir++) {
        // head width 4: q·k of 4 products of numbers up to 100, over 2
        problem p = problem_new(random_graph(30, 20, 0.5, 21), dir ? FM_TO_COLUMNS : FM_TO_ROWS, 2, 8, 100.0,
                                21 + dir);
        results64 r64 = results64_new(&p, 22), tried = results64_new(&p, 22);
        results32 r32 = results32_new(&p, &r64);
        run64(&p, &r64, PATH_REFERENCE, 1);
        run32(&p, &r32, FM_KERNELS_GRAPHBLAS, 1);
        const double largest = largest_log_norm(&p, &r64);
        cr_assert_gt(largest, 5e3, "scores should reach the order of 1e4, the largest log_norm is %g", largest);
        results_widen(&tried, &p, &r32);
        const differences error = compare_results(&p, &tried, &r64, 1.0, 1e-2, 1e-2, "GraphBLAS vs reference, scores ~1e4");
        cr_log_info("scores ~1e4 (largest log_norm %.4g), direction %d: worst relative error %.3g",
                    largest, dir, fmax(error.forward, error.backward));
        // target 0 has no in-edges in either direction (empty row and column 0)
        check_isolated_node_zeros(&p, &r32);
        results64_free(&r64);
        results64_free(&tried);
        results32_free(&r32);
        problem_free(&p);
    }
}

//------------------------------------------------------------------------------
// (d) one thread and two
//------------------------------------------------------------------------------

// A sparse graph and a dense-kind one; the GraphBLAS path gives the same
// bits with one thread and with two.
Test(attention_graphblas, graphblas_same_for_any_thread_count)
{
    for (int dir = 0; dir < 2; dir++) {
        fm_direction direction = dir ? FM_TO_COLUMNS : FM_TO_ROWS;
        problem sparse = problem_new(random_graph(300, 200, 0.3, 31), direction, 2, 8, 1.0, 31);
        problem full = problem_new(dense_graph(130, 300, 33), direction, 2, 8, 1.0, 33);
        int64_t sparse_differ, full_differ;
        check_thread_counts(&sparse, PATH_GRAPHBLAS, 32, &sparse_differ);
        check_thread_counts(&full, PATH_GRAPHBLAS, 34, &full_differ);
        cr_expect_eq(sparse_differ, 0, "%s: %lld entries differ between 1 and 2 threads", problem_name(&sparse),
                     (long long)sparse_differ);
        cr_expect_eq(full_differ, 0, "%s: %lld entries differ between 1 and 2 threads", problem_name(&full),
                     (long long)full_differ);
        problem_free(&sparse);
        problem_free(&full);
    }
}

//------------------------------------------------------------------------------
// (e) the factorization of §4.1 against the literal block formulas
//------------------------------------------------------------------------------

Test(attention_graphblas, factorized_attention_matches_literal_block)
{
    char msg[FM_MSG_LEN];
    for (int dir = 0; dir < 2; dir++) {
        const int nh = 2, d = 8, dh = d / nh;
        problem p = problem_new(random_graph(11, 8, 0.5, 41), dir ? FM_TO_COLUMNS : FM_TO_ROWS, nh, d, 1.0, 41);
        const int64_t nt = p.shape.targets, ns = p.shape.sources;
        // node features and parameters
        block_problem block = block_problem_new(p.shape, 42);
        const double *T = block.targets, *S = block.sources;
        const ref_block_params bp = block.params;
        double *literal = zeros64(nt * d);
        cr_assert_eq(ref_attention_block_forward(literal, T, S, &bp, &p.edges, p.shape, msg), FM_OK, "%s", msg);

        // the attention inputs of §4.1: q, kN, vN, P^h_j = t_j ⊙ (B_K^hᵀ q^h_j), c^h_j = q^h_j·a_K^h
        double *const *in = p.in64;
        for (int64_t j = 0; j < nt; j++)
            for (int o = 0; o < d; o++) {
                double q = bp.b_Q[o];
                for (int k = 0; k < d; k++) q += bp.W_Q[o * d + k] * T[j * d + k];
                in[QUERIES][j * d + o] = q;
            }
        for (int64_t i = 0; i < ns; i++)
            for (int o = 0; o < d; o++) {
                double k_ = bp.b_K[o], v = bp.b_V[o];
                for (int k = 0; k < d; k++) {
                    k_ += bp.W_K[o * d + k] * S[i * d + k];
                    v += bp.W_V[o * d + k] * S[i * d + k];
                }
                in[KEYS][i * d + o] = k_;
                in[VALUES][i * d + o] = v;
                in[SOURCES][i * d + o] = S[i * d + o];
            }
        for (int64_t j = 0; j < nt; j++)
            for (int h = 0; h < nh; h++) {
                double c = 0;
                for (int a = 0; a < dh; a++) c += in[QUERIES][j * d + h * dh + a] * bp.a_K[h * dh + a];
                in[EDGE_SCALES][j * nh + h] = c;
                for (int k = 0; k < d; k++) {
                    double b = 0;
                    for (int a = 0; a < dh; a++) b += bp.B_K[(h * dh + a) * d + k] * in[QUERIES][j * d + h * dh + a];
                    in[PROBES][j * nh * d + h * d + k] = T[j * d + k] * b;
                }
            }
        problem_round_inputs(&p);
        results64 r64 = results64_new(&p, 44), r32 = results64_new(&p, 44);   // r32: GraphBLAS, widened
        run64(&p, &r64, PATH_REFERENCE, 0);
        run64(&p, &r32, PATH_GRAPHBLAS, 0);

        // msg^h_j = value_sums^h_j + edge_sums^h_j a_V^h + B_V^h (t_j ⊙ source_sums^h_j) + b_VE^h
        double *assembled64 = zeros64(nt * d), *assembled32 = zeros64(nt * d);
        for (int64_t j = 0; j < nt; j++)
            for (int h = 0; h < nh; h++) {
                const int64_t degree = p.edges.ptr[j + 1] - p.edges.ptr[j];
                for (int a = 0; a < dh; a++) {
                    const int o = h * dh + a;
                    double m64 = r64.out[VALUE_SUMS][j * d + o] + r64.out[EDGE_SUMS][j * nh + h] * bp.a_V[o];
                    double m32 = r32.out[VALUE_SUMS][j * d + o] + r32.out[EDGE_SUMS][j * nh + h] * bp.a_V[o];
                    for (int k = 0; k < d; k++) {
                        m64 += bp.B_V[o * d + k] * T[j * d + k] * r64.out[SOURCE_SUMS][j * nh * d + h * d + k];
                        m32 += bp.B_V[o * d + k] * T[j * d + k] * r32.out[SOURCE_SUMS][j * nh * d + h * d + k];
                    }
                    if (degree > 0) {   // Σ α = 1: b_VE passes through
                        m64 += bp.b_VE[o];
                        m32 += bp.b_VE[o];
                    }
                    assembled64[j * d + o] = m64;
                    assembled32[j * d + o] = m32;
                }
            }
        const double error64 = relative_error64(assembled64, literal, nt * d);
        const double error32 = relative_error64(assembled32, literal, nt * d);
        cr_expect_lt(error64, 1e-12, "factorized (double) vs literal block: relative error %.3g", error64);
        cr_expect_lt(error32, 1e-4, "factorized (GraphBLAS) vs literal block: relative error %.3g", error32);
        cr_log_info("block, direction %d: factorized double %.3g, GraphBLAS %.3g", dir, error64, error32);
        block_problem_free(&block);
        free(literal);
        free(assembled64);
        free(assembled32);
        results64_free(&r64);
        results64_free(&r32);
        problem_free(&p);
    }
}

//------------------------------------------------------------------------------
// Profile counters and argument checks
//------------------------------------------------------------------------------

Test(attention_graphblas, profile_counts_calls_and_flops)
{
    problem p = problem_new(random_graph(10, 8, 0.5, 61), FM_TO_ROWS, 2, 4, 1.0, 61);
    results64 r64 = results64_new(&p, 62);
    results32 r32 = results32_new(&p, &r64);
    fm_profile_reset();
    fm_profile_enable(true);
    run32(&p, &r32, FM_KERNELS_GRAPHBLAS, 2);
    fm_profile_enable(false);
    const fm_profile_entry *entries = NULL;
    const int count = fm_profile_entries(&entries);
    int forward = -1, backward = -1;
    for (int e = 0; e < count; e++) {
        if (!strcmp(entries[e].name, "attention.graphblas.forward")) forward = e;
        if (!strcmp(entries[e].name, "attention.graphblas.backward")) backward = e;
    }
    cr_assert(forward >= 0 && backward >= 0, "both ops should be recorded");
    cr_expect_eq(entries[forward].calls, 1);
    cr_expect_eq(entries[backward].calls, 2);
    cr_expect_gt(entries[forward].flops, 0);
    cr_expect_gt(entries[backward].flops, entries[forward].flops);
    cr_expect_gt(entries[forward].bytes, 0);
    fm_profile_reset();
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

Test(attention_graphblas, rejects_a_shape_that_does_not_fit)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(random_graph(10, 8, 0.5, 71), FM_TO_ROWS, 2, 4, 1.0, 71);
    results64 r64 = results64_new(&p, 72);
    results32 r32 = results32_new(&p, &r64);
    fm_attention_inputs in = inputs32(&p);
    const fm_graphblas_edges own = fm_graphblas_edges_of(p.graph, p.direction);
    fm_attention_outputs out = { r32.out[VALUE_SUMS], r32.out[SOURCE_SUMS], r32.out[EDGE_SUMS], r32.out[LOG_NORMS] };
    fm_attention_shape swapped = { p.shape.sources, p.shape.targets, 2, 4 };
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, &own, swapped, msg), FM_ERR_INVALID);
    fm_attention_shape uneven = { p.shape.targets, p.shape.sources, 3, 4 };
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, &own, uneven, msg), FM_ERR_INVALID);
    in.keys = NULL;
    cr_expect_eq(fm_attention_forward_graphblas(&out, &in, &own, p.shape, msg), FM_ERR_INVALID);
    results64_free(&r64);
    results32_free(&r32);
    problem_free(&p);
}

//------------------------------------------------------------------------------
// The random graph and the message graph
//------------------------------------------------------------------------------

Test(attention_graphblas, random_graph_has_the_promised_rows_and_columns)
{
    fm_graph *g = random_graph(9, 7, 0.3, 81);
    char msg[FM_MSG_LEN];
    for (int dir = 0; dir < 2; dir++) {
        ref_edges e = { 0 };
        cr_assert_eq(ref_edges_from_graph(&e, g, dir ? FM_TO_COLUMNS : FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_expect_eq(e.ptr[1] - e.ptr[0], 0, "node 0 should have no edges");
        cr_expect_eq(e.ptr[2] - e.ptr[1], 1, "node 1 should have one edge");
        cr_expect_eq(e.ptr[3] - e.ptr[2], e.sources - 1, "node 2 should reach every non-empty node");
        for (int64_t t = 0; t < e.targets; t++)
            for (int64_t k = e.ptr[t]; k < e.ptr[t + 1]; k++) {
                cr_expect_gt(e.val[k], 0.0);
                if (k > e.ptr[t]) cr_expect_gt(e.idx[k], e.idx[k - 1], "sources sorted within a target");
            }
        ref_edges_free(&e);
    }
    fm_graph_free(&g);
}

// For the fused path: both orientations borrowed, position maps inverse to
// each other and pointing at the same edge; the graph intact after close.
Test(attention_graphblas, message_graph_maps_positions_between_orientations)
{
    char msg[FM_MSG_LEN];
    fm_graph *graphs[2] = { random_graph(13, 9, 0.4, 91), dense_graph(4, 3, 92) };
    for (int k = 0; k < 2; k++) {
        fm_graph *g = graphs[k];
        ref_edges before = { 0 };
        cr_assert_eq(ref_edges_from_graph(&before, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        fm_message_graph mg;
        cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_FUSED, msg), FM_OK, "%s", msg);
        cr_expect_eq(mg.rows.count, before.count);
        cr_expect_eq(mg.columns.count, before.count);
        if (k == 0) {
            cr_assert_not_null(mg.row_to_column);
            cr_assert_not_null(mg.column_to_row);
            for (int64_t r = 0; r < mg.rows.targets; r++)
                for (int64_t e = (int64_t)mg.rows.ptr[r]; e < (int64_t)mg.rows.ptr[r + 1]; e++) {
                    const int64_t c = (int64_t)mg.rows.idx[e], slot = mg.row_to_column[e];
                    cr_assert(slot >= (int64_t)mg.columns.ptr[c] && slot < (int64_t)mg.columns.ptr[c + 1],
                              "edge (%lld, %lld) mapped outside its column", (long long)r, (long long)c);
                    cr_expect_eq((int64_t)mg.columns.idx[slot], r);
                    cr_expect_eq(mg.columns.val[slot], mg.rows.val[e]);
                    cr_expect_eq(mg.column_to_row[slot], e);
                }
        } else {
            cr_expect_null(mg.rows.ptr);
            cr_expect_null(mg.row_to_column);
            cr_expect_eq(mg.rows.count, 12);
        }
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
        cr_expect_null(mg.row_to_column);
        cr_expect_null(mg.rows.owner);
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "a second close is harmless");
        ref_edges after = { 0 };
        cr_assert_eq(ref_edges_from_graph(&after, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
        cr_expect_eq(after.count, before.count, "the graph should be whole again after close");
        for (int64_t e = 0; e < after.count && e < before.count; e++)
            cr_expect_eq(after.val[e], before.val[e]);
        ref_edges_free(&before);
        ref_edges_free(&after);
        // the GraphBLAS path only records the graph
        cr_assert_eq(fm_message_graph_open(&mg, g, FM_KERNELS_GRAPHBLAS, msg), FM_OK, "%s", msg);
        cr_expect_eq(mg.graph, g);
        cr_expect_null(mg.rows.owner);
        cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
        fm_graph_free(&graphs[k]);
    }
    fm_message_graph zeroed = { 0 };
    cr_expect_eq(fm_message_graph_close(&zeroed, msg), FM_OK, "closing a zeroed message graph");
}
