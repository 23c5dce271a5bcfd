// The edge attention on sampled message graphs (docs/factormer-math.md §8,
// fm_message_graph_sample): forward and backward against the double
// reference run on the same sample with score − log π, against finite
// differences, for one and two threads; the output's error against full
// attention falls as the fanout grows; what a sample refuses.
#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"

TestSuite(sampled_attention, .init = fm_test_setup);

static fm_sampler_options sampler(fm_sampler strategy, int64_t fanout, uint64_t seed)
{
    return (fm_sampler_options){ .strategy = strategy, .fanout = fanout, .zero_ratio = 1.0, .seed = seed };
}

// How many of the sample's edges have π < 1: the correction is exercised.
static int64_t corrected_edges(const problem *p)
{
    int64_t n = 0;
    for (int64_t e = 0; e < p->edges.count; e++) n += p->edges.log_pi && p->edges.log_pi[e] < -1e-3;
    return n;
}

// Fused double, fused float and GraphBLAS against the reference on the same
// sample, for every strategy that applies, both directions, 1 and 4 heads. A fanout below the
// degrees, so most edges carry a log π.
Test(sampled_attention, both_paths_match_reference_on_samples)
{
    const fm_sampler strategies[] = { FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED, FM_SAMPLER_STRATIFIED };
    double worst64 = 0, worst32 = 0;
    for (int s = 0; s < 3; s++)
        for (int dense = 0; dense < 2; dense++) {
            if (dense && strategies[s] == FM_SAMPLER_STRATIFIED) continue;   // refused for the dense kind
            for (int dir = 0; dir < 2; dir++)
                for (int h = 0; h < 2; h++) {
                    const uint64_t seed = 1000 + s * 100 + dense * 10 + dir * 2 + h;
                    fm_graph *g = dense ? dense_graph(30, 40, seed) : random_graph(40, 60, 0.3, seed);
                    problem p = problem_new(g, (fm_direction)dir, h ? 4 : 1, 8, 1.0, seed);
                    const fm_sampler_options options = sampler(strategies[s], 4, seed);
                    problem_sample(&p, &options, 3);
                    cr_assert_gt(corrected_edges(&p), p.edges.count / 4, "%s, %s: only %lld of %lld edges have π < 1",
                                 fm_sampler_name(strategies[s]), problem_name(&p), (long long)corrected_edges(&p),
                                 (long long)p.edges.count);
                    const differences a = compare_paths(&p, seed, PATH_FUSED_F64, PATH_REFERENCE, 1e-10, 1e-10);
                    const differences b = compare_paths(&p, seed, PATH_FUSED, PATH_FUSED_F64, 1e-5, 1e-5);
                    // the same sample packed for GraphBLAS (fm_message_graph_pack)
                    const differences c = compare_paths(&p, seed, PATH_GRAPHBLAS, PATH_FUSED_F64, 1e-5, 1e-5);
                    worst64 = fmax(worst64, fmax(a.forward, a.backward));
                    worst32 = fmax(worst32, fmax(fmax(b.forward, b.backward), fmax(c.forward, c.backward)));
                    problem_free(&p);
                }
        }
    cr_log_info("sampled fused vs reference: double %.3g; fused float and GraphBLAS vs double %.3g", worst64, worst32);
}

// The same check with the correction dropped from the reference fails: the
// test above could tell a kernel that ignores log π.
Test(sampled_attention, reference_without_correction_differs)
{
    problem p = problem_new(random_graph(40, 60, 0.3, 7), FM_TO_COLUMNS, 2, 8, 1.0, 7);
    const fm_sampler_options options = sampler(FM_SAMPLER_WEIGHTED, 4, 7);
    problem_sample(&p, &options, 1);
    results64 corrected = results64_new(&p, 8), plain = results64_new(&p, 8);
    run64(&p, &corrected, PATH_FUSED_F64, 1);
    free(p.edges.log_pi);
    p.edges.log_pi = NULL;
    run64(&p, &plain, PATH_REFERENCE, 1);
    const double error = relative_error64(corrected.out[VALUE_SUMS], plain.out[VALUE_SUMS], p.output_size[VALUE_SUMS]);
    cr_expect_gt(error, 1e-3, "without log π the outputs should differ, relative difference %.3g", error);
    results64_free(&corrected);
    results64_free(&plain);
    problem_free(&p);
}

Test(sampled_attention, backward_matches_finite_differences)
{
    for (int dir = 0; dir < 2; dir++) {
        problem p = problem_new(random_graph(23, 17, 0.5, 31 + dir), (fm_direction)dir, 2, 8, 1.2, 41 + dir);
        const fm_sampler_options options = sampler(FM_SAMPLER_WEIGHTED, 3, 51 + dir);
        problem_sample(&p, &options, 0);
        const double worst = check_finite_differences(&p, PATH_FUSED_F64, 60, 61 + dir);
        cr_log_info("sampled fused (double) vs finite differences, %s: %.3g", problem_name(&p), worst);
        problem_free(&p);
    }
}

Test(sampled_attention, same_for_any_thread_count)
{
    for (int dir = 0; dir < 2; dir++) {
        problem p = problem_new(random_graph(300, 200, 0.3, 71), (fm_direction)dir, 2, 8, 1.0, 71 + dir);
        const fm_sampler_options options = sampler(FM_SAMPLER_UNIFORM, 8, 72);
        problem_sample(&p, &options, 5);
        int64_t differ;
        const differences d = check_thread_counts(&p, PATH_FUSED, 73 + dir, &differ);
        cr_log_info("sampled, direction %d, 2, 3, 7 threads vs 1: %.3g forward, %.3g backward", dir, d.forward, d.backward);
        problem_free(&p);
    }
}

// The mean relative error of value_sums against full attention over `draws`
// samples of fanout f.
static double sampled_error(problem *p, const results32 *full, fm_sampler strategy, int64_t fanout, int draws)
{
    problem_sample(p, &(fm_sampler_options){ .strategy = strategy, .fanout = fanout, .seed = 99 }, 0);
    double sum = 0;
    for (int r = 0; r < draws; r++) {
        p->round = (uint64_t)r;
        results64 weights = results64_new(p, 5);
        results32 out = results32_new(p, &weights);
        run32(p, &out, FM_KERNELS_FUSED, 0);
        sum += relative_error_float(out.out[VALUE_SUMS], full->out[VALUE_SUMS], p->output_size[VALUE_SUMS]);
        results64_free(&weights);
        results32_free(&out);
    }
    p->sampled = false;
    return sum / draws;
}

// Targets of degree ~150 and ~200: the self-normalized estimate's error falls
// as the fanout grows from 4 to 16 to 64, for both samplers of the stored edges.
Test(sampled_attention, error_falls_with_fanout)
{
    const fm_sampler strategies[] = { FM_SAMPLER_UNIFORM, FM_SAMPLER_WEIGHTED };
    const int64_t fanouts[] = { 4, 16, 64 };
    for (int dir = 0; dir < 2; dir++) {
        problem p = problem_new(random_graph(400, 300, 0.5, 81), (fm_direction)dir, 2, 8, 1.0, 82 + dir);
        results64 weights = results64_new(&p, 5);
        results32 full = results32_new(&p, &weights);
        run32(&p, &full, FM_KERNELS_FUSED, 0);
        for (int s = 0; s < 2; s++) {
            double error[3];
            for (int f = 0; f < 3; f++) error[f] = sampled_error(&p, &full, strategies[s], fanouts[f], 8);
            cr_log_info("%s, direction %d: error %.3g (fanout 4), %.3g (16), %.3g (64)", fm_sampler_name(strategies[s]),
                        dir, error[0], error[1], error[2]);
            cr_expect_lt(error[1], 0.75 * error[0], "%s: fanout 16 %.3g vs 4 %.3g", fm_sampler_name(strategies[s]),
                         error[1], error[0]);
            cr_expect_lt(error[2], 0.75 * error[1], "%s: fanout 64 %.3g vs 16 %.3g", fm_sampler_name(strategies[s]),
                         error[2], error[1]);
        }
        results64_free(&weights);
        results32_free(&full);
        problem_free(&p);
    }
}

Test(sampled_attention, refusals)
{
    char msg[FM_MSG_LEN];
    problem p = problem_new(random_graph(20, 30, 0.4, 91), FM_TO_COLUMNS, 2, 8, 1.0, 91);
    fm_edges rows, columns;
    cr_assert_eq(fm_edges_borrow(&rows, p.graph, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_borrow(&columns, p.graph, FM_TO_COLUMNS, msg), FM_OK, "%s", msg);
    const fm_sampler_options options = sampler(FM_SAMPLER_UNIFORM, 3, 1);
    fm_message_graph mg;
    // only the W-direction drawn, forward-only
    cr_assert_eq(fm_message_graph_sample(&mg, p.graph, &rows, &columns, 1.0, &options, 0, 1u << FM_TO_ROWS, false,
                                         msg), FM_OK, "%s", msg);
    results64 weights = results64_new(&p, 1);
    results32 r = results32_new(&p, &weights);
    fm_attention_inputs in = inputs32(&p);
    fm_attention_outputs out = { r.out[VALUE_SUMS], r.out[SOURCE_SUMS], r.out[EDGE_SUMS], r.out[LOG_NORMS] };
    cr_expect_eq(fm_attention_forward(&out, &in, &mg, FM_TO_COLUMNS, p.shape, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "no draw for the H-direction"), "%s", msg);
    fm_attention_shape rows_shape = { p.shape.sources, p.shape.targets, 2, 8 };
    fm_attention_grads grads = { 0 };
    cr_expect_eq(fm_attention_backward(&grads, &out, &in, &out, &mg, FM_TO_ROWS, rows_shape, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "forward-only"), "%s", msg);
    cr_assert_eq(fm_message_graph_close(&mg, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_message_graph_sample(&mg, p.graph, &rows, &columns, 0.0, &options, 0, 3, false, msg),
                 FM_ERR_INVALID);
    cr_expect_eq(fm_message_graph_sample(&mg, p.graph, &rows, &columns, 1.0, &options, 0, 0, false, msg),
                 FM_ERR_INVALID);
    cr_assert_eq(fm_edges_return(&rows, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_edges_return(&columns, msg), FM_OK, "%s", msg);
    results64_free(&weights);
    results32_free(&r);
    problem_free(&p);
}
