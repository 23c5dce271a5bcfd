// The unrolled learned initialization and acceleration (models/nmf/unroll,
// docs/factormer-math.md §6, §7): the loss against the chain put together by hand
// from the L-Factormer, the differentiable ADMM and the loss; the backward
// against central finite differences of the double forward for every
// parameter tensor; float against double; the forward without a tape;
// accumulation. Argument checks and a tiny model that trains:
// tests/test_unroll_training.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "attention_fixtures.h"
#include "helpers.h"
#include "loss_grad.h"
#include "unroll.h"
#include "unroll_fixtures.h"

TestSuite(unroll, .init = fm_test_setup);


// Whether the next update reads the dual of entry (t, a) of a clamped
// entry: M = (G + ρI)⁻¹ couples it into an entry (t, c) that is not
// clamped in the next update's first step (c = a included: the entry comes
// back). A clamp in a dead component (a zero column of the sources: M[a][c]
// = 0 for c ≠ a) passes nothing on.
static bool dual_is_read(const fm_admm_tape_f64 *next, int64_t t, int a)
{
    const int k = next->k;
    const double *M = next->inverse + (next->per_target ? t * k * k : 0);
    for (int c = 0; c < k; c++)
        if (next->shifted[t * k + c] > 0 && fabs(M[a * k + c]) > 1e-6 * fabs(M[a * k + a])) return true;
    return false;
}

// Which side of 0 every relu of the chain is on: the network outputs (after
// the relu, so > 0 or clamped), the FFN's hidden units of every layer, and
// the ADMM's T̃ − U of every step. Into
// `sides` when not NULL; returns how many there are. Counts the clamped
// ones when the counters are not NULL, and in carried[0] (H) and carried[1]
// (W) those of the updates whose duals carry a gradient: the updates that
// depend on the parameters (all but the acceleration's first c) and are read
// by a later one (all but the last). Elsewhere a clamp leaves U' = U + T' − T̃
// locally constant in the parameters.
static int64_t relu_sides(unsigned char *sides, const fm_unroll_tape_f64 *tape, int64_t *clamped_network,
                          int64_t *clamped_admm, int64_t *carried)
{
    const int first = tape->config.mode == FM_UNROLL_ACCEL ? tape->config.admm : 0;
    const int64_t m = tape->rows, n = tape->cols, k = tape->config.model.rank;
    int64_t count = 0;
    for (int call = 0; call < tape->calls; call++) {
        const fm_lfactormer_saved_f64 *s = &tape->networks[call];
        for (int64_t e = 0; e < m * k + n * k; e++) {
            const bool positive = e < m * k ? s->w_out[e] > 0 : s->ht_out[e - m * k] > 0;
            if (sides) sides[count] = positive;
            if (clamped_network) *clamped_network += !positive;
            count++;
        }
        // the FFN's hidden relu of every layer (targets × 2d)
        for (int l = 0; l < tape->config.model.layers; l++) {
            const int64_t targets = l % 2 == 0 ? n : m, hidden = targets * 2 * tape->config.model.width;
            for (int64_t e = 0; e < hidden; e++) {
                if (sides) sides[count] = s->layers[l].hidden[e] > 0;
                count++;
            }
        }
    }
    for (int u = 0; u < tape->updates; u++)
        for (int side = 0; side < 2; side++) {
            const fm_admm_tape_f64 *a = side ? tape->w_tapes[u] : tape->h_tapes[u];
            const fm_admm_tape_f64 *after = u + 1 < tape->updates ? (side ? tape->w_tapes[u + 1] : tape->h_tapes[u + 1]) : NULL;
            const int64_t last = (int64_t)(a->inner - 1) * a->targets * a->k;
            for (int64_t e = 0; e < a->inner * a->targets * a->k; e++) {
                const bool positive = a->shifted[e] > 0;
                if (sides) sides[count] = positive;
                if (clamped_admm) *clamped_admm += !positive;
                if (carried && u >= first && after && e >= last && !positive)
                    carried[side] += dual_is_read(after, (e - last) / a->k, (int)((e - last) % a->k));
                count++;
            }
        }
    return count;
}

// The double forward's loss; the relu sides compared with c->sides when set.
static double chain_loss(unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    fm_lfactormer_weights_f64 w;
    fm_lfactormer_bind_f64(&w, &c->config.model, c->values, c->params->offsets);
    fm_unroll_tape_f64 *tape = NULL;
    double loss = NAN;
    cr_assert_eq(fm_unroll_forward_f64(&loss, &tape, c->w_start, c->ht_start, &w, &c->config, &c->mg, msg), FM_OK,
                 "%s", msg);
    if (c->sides) {
        const int64_t count = relu_sides(NULL, tape, NULL, NULL, NULL);
        cr_assert_eq(count, c->side_count);
        unsigned char *now = calloc(count, 1);
        cr_assert_not_null(now);
        relu_sides(now, tape, NULL, NULL, NULL);
        for (int64_t e = 0; e < count; e++) c->crossings += now[e] != c->sides[e];
        free(now);
    }
    fm_unroll_tape_free_f64(&tape);
    return loss;
}

static double context_loss(void *context) { return chain_loss(context); }

// Forward and backward in double (d_loss 1, gradients zeroed first); keeps
// the relu sides. Returns the loss.
static double chain_gradients(unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    memset(c->grads, 0, sizeof(double) * c->params->count);
    fm_lfactormer_weights_f64 w;
    fm_lfactormer_grads_f64 g;
    fm_lfactormer_bind_f64(&w, &c->config.model, c->values, c->params->offsets);
    fm_lfactormer_bind_grads_f64(&g, &c->config.model, c->grads, c->params->offsets);
    fm_unroll_tape_f64 *tape = NULL;
    double loss = NAN;
    cr_assert_eq(fm_unroll_forward_f64(&loss, &tape, c->w_start, c->ht_start, &w, &c->config, &c->mg, msg), FM_OK,
                 "%s", msg);
    cr_assert_eq(fm_unroll_backward_f64(&g, 1.0, tape, &w, &c->mg, msg), FM_OK, "%s", msg);
    free(c->sides);
    c->clamped_network = c->clamped_admm = c->carried[0] = c->carried[1] = 0;
    c->side_count = relu_sides(NULL, tape, NULL, NULL, NULL);
    c->sides = calloc(c->side_count, 1);
    cr_assert_not_null(c->sides);
    relu_sides(c->sides, tape, &c->clamped_network, &c->clamped_admm, c->carried);
    fm_unroll_tape_free_f64(&tape);
    return loss;
}

//------------------------------------------------------------------------------
// (a), (b) The backward against central finite differences (double)
//------------------------------------------------------------------------------

#define PROBES 5
#define STEP 1e-4

// The central difference with Richardson extrapolation, (4 D(h) − D(2h))/3,
// whose error is O(h⁴): a step large enough for rounding to matter little.
static double richardson_difference(double *x, int64_t e, unroll_chain *c)
{
    const double near = fm_test_central_difference(x, e, STEP, context_loss, c);
    const double far = fm_test_central_difference(x, e, 2 * STEP, context_loss, c);
    return (4 * near - far) / 3;
}

// Up to PROBES entries of every tensor: norm-wise relative error below 1e-6
// and a numeric gradient that is not zero (the check is not empty); the key
// biases, whose gradient is zero by construction, absolutely (both below
// 1e-9). No relu may change side during any difference. Returns the worst
// relative error.
static double check_gradients(unroll_chain *c)
{
    const double loss = chain_gradients(c);
    cr_assert(isfinite(loss) && loss > 0, "%s: loss %g", c->name, loss);
    c->crossings = 0;
    double worst = 0;
    const char *worst_tensor = "none";
    for (int t = 0; t < c->params->tensors; t++) {
        const int64_t at = c->params->offsets[t], size = fm_params_size(c->params, t);
        const int64_t probes = size < PROBES ? size : PROBES;
        // spread entries, and the one with the largest gradient last (a
        // dead FFN hidden unit gives a row of exact zeros)
        int64_t largest = 0;
        for (int64_t e = 1; e < size; e++)
            if (fabs(c->grads[at + e]) > fabs(c->grads[at + largest])) largest = e;
        double numeric[PROBES], analytic[PROBES];
        for (int64_t p = 0; p < probes; p++) {
            const int64_t e = probes == size ? p : p == probes - 1 ? largest : (p * 7919) % size;
            numeric[p] = richardson_difference(c->values + at, e, c);
            analytic[p] = c->grads[at + e];
        }
        const char *tensor = c->params->specs[t].name;
        if (fm_test_is_key_bias(tensor)) {
            const double whole = fm_test_norm(c->grads + at, size), numeric_norm = fm_test_norm(numeric, probes);
            cr_expect_lt(whole, 1e-9, "%s: d %s = %.3g, expected 0", c->name, tensor, whole);
            cr_expect_lt(numeric_norm, 1e-9, "%s: numeric d %s = %.3g, expected 0", c->name, tensor, numeric_norm);
            continue;
        }
        const double error = relative_error64(analytic, numeric, probes), numeric_norm = fm_test_norm(numeric, probes);
        cr_expect_lt(error, 1e-6, "%s: d %s vs central differences, relative error %.3g (‖numeric‖ %.3g)", c->name,
                     tensor, error, numeric_norm);
        cr_expect_gt(numeric_norm, 1e-8, "%s: the numeric gradient of %s is %.3g: the check is empty", c->name, tensor,
                     numeric_norm);
        if (error > worst) worst = error, worst_tensor = tensor;
    }
    cr_expect_eq(c->crossings, 0, "%s: %lld relus changed side during the differences (kink)", c->name,
                 (long long)c->crossings);
    cr_log_info("finite differences, %s: loss %.6g, worst relative error %.3g (%s); clamped: %lld network outputs, "
                "%lld ADMM relus (of %lld relus)",
                c->name, loss, worst, worst_tensor, (long long)c->clamped_network, (long long)c->clamped_admm,
                (long long)c->side_count);
    return worst;
}

// "learned init (n_unroll 2), sparse 7x6", in static storage.
static const char *case_name(const fm_unroll_config *config, unroll_graph_case which)
{
    static char name[96];
    char chain_name[48];
    if (config->mode == FM_UNROLL_INIT)
        snprintf(chain_name, sizeof chain_name, "learned init (n_unroll %d)", config->steps);
    else
        snprintf(chain_name, sizeof chain_name, "acceleration (T %d, c %d)", config->steps, config->admm);
    snprintf(name, sizeof name, "%s, %s", chain_name,
             which == GRAPH_DENSE ? "dense 6x5" : which == GRAPH_SPARSE ? "sparse 7x6" : "incomplete 7x6");
    return name;
}

// The finite-difference check of one mode on one graph, with output biases
// about 0.4 and seeds picked (from a sweep) so that relus clamp where it matters: some
// network outputs, and entries of H- and W-updates whose duals carry a
// gradient into a later update (the dual's path of the backward), with no
// relu crossing 0 during the differences.
static void check_case(fm_unroll_mode mode, unroll_graph_case which, uint64_t seed)
{
    const fm_unroll_config config = unroll_tiny_config(mode, 2, 2);
    unroll_chain c = unroll_chain_new(unroll_make_graph(which, 1000 + seed), &config, 0.4, 2000 + seed,
                                      case_name(&config, which));
    check_gradients(&c);
    cr_expect_gt(c.clamped_network, 0, "%s: no network output clamps: its relu's mask is not checked", c.name);
    cr_expect_gt(c.carried[0], 0, "%s: no clamp in an H-update whose dual is read later", c.name);
    cr_expect_gt(c.carried[1], 0, "%s: no clamp in a W-update whose dual is read later", c.name);
    cr_log_info("%s: %lld and %lld clamps in H- and W-updates whose duals carry on", c.name, (long long)c.carried[0],
                (long long)c.carried[1]);
    unroll_chain_free(&c);
}

Test(unroll, init_backward_matches_finite_differences_dense) { check_case(FM_UNROLL_INIT, GRAPH_DENSE, 3); }
Test(unroll, init_backward_matches_finite_differences_sparse) { check_case(FM_UNROLL_INIT, GRAPH_SPARSE, 5); }
Test(unroll, init_backward_matches_finite_differences_incomplete) { check_case(FM_UNROLL_INIT, GRAPH_INCOMPLETE, 33); }
Test(unroll, accel_backward_matches_finite_differences_dense) { check_case(FM_UNROLL_ACCEL, GRAPH_DENSE, 3); }
Test(unroll, accel_backward_matches_finite_differences_sparse) { check_case(FM_UNROLL_ACCEL, GRAPH_SPARSE, 4); }
Test(unroll, accel_backward_matches_finite_differences_incomplete)
{
    check_case(FM_UNROLL_ACCEL, GRAPH_INCOMPLETE, 58);
}

// The loss read against a target other than X (mg.loss_rows, §7's limit
// term), the ADMM still on X: a target equal to X gives the loss of X (the
// sparse kind's expansion against every entry summed directly), and the
// backward against another target matches finite differences. Full storage
// for the dense and sparse kinds (kind dense), X's stored edges for the
// incomplete kind; `lift` is added to every entry of Ω.
typedef struct target { fm_edges edges; float *values; } target;

static target target_of(const unroll_chain *c, unroll_graph_case which, double lift, uint64_t seed)
{
    const fm_edges *x = &c->mg.rows;
    target t = { .edges = { .targets = c->rows, .sources = c->cols, .count = c->rows * c->cols } };
    if (which == GRAPH_INCOMPLETE) {
        t.edges = *x;
        t.edges.log_pi = NULL;
        t.edges.owner = NULL;
    }
    t.values = calloc(t.edges.count, sizeof(float));
    cr_assert_not_null(t.values);
    for (int64_t i = 0; i < c->rows; i++) {
        const int64_t begin = x->ptr ? (int64_t)x->ptr[i] : i * c->cols;
        const int64_t end = x->ptr ? (int64_t)x->ptr[i + 1] : (i + 1) * c->cols;
        for (int64_t e = begin; e < end; e++) {
            const int64_t j = x->ptr ? (int64_t)x->idx[e] : e - begin;
            t.values[which == GRAPH_INCOMPLETE ? e : i * c->cols + j] = x->val[e];
        }
    }
    float *noise = fm_test_uniform(t.edges.count, seed);
    for (int64_t e = 0; e < t.edges.count; e++) t.values[e] += (float)(lift * noise[e]);
    free(noise);
    t.edges.val = t.values;
    return t;
}

static void read_against(unroll_chain *c, const target *t, unroll_graph_case which)
{
    c->mg.loss_rows = &t->edges;
    c->mg.loss_kind = which == GRAPH_INCOMPLETE ? FM_KIND_INCOMPLETE : FM_KIND_DENSE;
}

Test(unroll, a_target_equal_to_x_gives_the_loss_of_x)
{
    for (int which = GRAPH_DENSE; which <= GRAPH_INCOMPLETE; which++) {
        const fm_unroll_config config = unroll_tiny_config(FM_UNROLL_INIT, 2, 2);
        unroll_chain c = unroll_chain_new(unroll_make_graph((unroll_graph_case)which, 1100 + which), &config, 0.4,
                                          2100 + which, case_name(&config, (unroll_graph_case)which));
        const double of_x = chain_loss(&c);
        target t = target_of(&c, (unroll_graph_case)which, 0, 1);
        read_against(&c, &t, (unroll_graph_case)which);
        const double of_target = chain_loss(&c);
        cr_expect_lt(fabs(of_target - of_x), 1e-12 * of_x, "%s: %.17g against X's %.17g", c.name, of_target, of_x);
        t.values[0] += 1;   // and the loss reads the target, not X
        cr_expect_gt(fabs(chain_loss(&c) - of_x), 1e-9 * of_x, "%s: the loss did not read the target", c.name);
        unroll_chain_free(&c);
        free(t.values);
    }
}

static void check_target_case(fm_unroll_mode mode, unroll_graph_case which, uint64_t seed)
{
    const fm_unroll_config config = unroll_tiny_config(mode, 2, 2);
    unroll_chain c = unroll_chain_new(unroll_make_graph(which, 1000 + seed), &config, 0.4, 2000 + seed,
                                      case_name(&config, which));
    target t = target_of(&c, which, 0.3, seed);
    read_against(&c, &t, which);
    check_gradients(&c);
    unroll_chain_free(&c);
    free(t.values);
}

Test(unroll, backward_against_a_target_matches_finite_differences)
{
    check_target_case(FM_UNROLL_INIT, GRAPH_DENSE, 3);
    check_target_case(FM_UNROLL_INIT, GRAPH_SPARSE, 5);
    check_target_case(FM_UNROLL_INIT, GRAPH_INCOMPLETE, 33);
}

//------------------------------------------------------------------------------
// The forward against the chain put together by hand (double)
//------------------------------------------------------------------------------

// One ADMM outer iteration in place: the H-update over the column edges
// (sources W), then the W-update over the row edges (sources the new Hᵀ).
static void outer_iteration(double *W, double *Ht, double *UW, double *UH, const unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    const fm_kind kind = c->graph->stats.kind;
    fm_admm_tape_f64 *tape = NULL;
    cr_assert_eq(fm_admm_grad_forward_f64(Ht, UH, &tape, W, Ht, UH, &c->mg.columns, kind, c->k, c->config.inner, msg),
                 FM_OK, "%s", msg);
    fm_admm_tape_free_f64(&tape);
    cr_assert_eq(fm_admm_grad_forward_f64(W, UW, &tape, Ht, W, UW, &c->mg.rows, kind, c->k, c->config.inner, msg),
                 FM_OK, "%s", msg);
    fm_admm_tape_free_f64(&tape);
}

static double frobenius(const double *W, const double *Ht, const unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    double f = NAN;
    cr_assert_eq(fm_loss_frobenius_forward_f64(&f, W, Ht, &c->mg.rows, c->graph->stats.kind, c->k, msg), FM_OK, "%s",
                 msg);
    return f;
}

// The loss of models/nmf/unroll.h written out from the ops; the unweighted terms
// into `terms`, the last factors into W and Ht.
static double chain_by_hand(double *terms, double *W, double *Ht, const unroll_chain *c)
{
    char msg[FM_MSG_LEN];
    const fm_unroll_config *config = &c->config;
    const int64_t m = c->rows, n = c->cols, k = c->k;
    fm_lfactormer_weights_f64 w;
    fm_lfactormer_bind_f64(&w, &config->model, c->values, c->params->offsets);
    fm_lfactormer_saved_f64 saved;
    cr_assert_eq(fm_lfactormer_saved_new_f64(&saved, &config->model, m, n, msg), FM_OK, "%s", msg);
    double *UW = zeros64(m * k), *UH = zeros64(n * k), loss = 0;
    const int T = config->steps;
    if (config->mode == FM_UNROLL_INIT) {
        // t = 0: the network's output; t = 1..T: one outer iteration each
        cr_assert_eq(fm_lfactormer_forward_f64(W, Ht, &saved, c->w_start, c->ht_start, &w, &c->mg, msg), FM_OK, "%s",
                     msg);
        terms[0] = frobenius(W, Ht, c);
        for (int t = 1; t <= T; t++) {
            outer_iteration(W, Ht, UW, UH, c);
            terms[t] = frobenius(W, Ht, c);
        }
        for (int t = 0; t <= T; t++) loss += pow(config->discount, T - t) * terms[t];
    } else {
        double *Wa = zeros64(m * k), *Ha = zeros64(n * k), *Wc = zeros64(2 * m * k), *Hc = zeros64(2 * n * k);
        memcpy(W, c->w_start, sizeof(double) * m * k);
        memcpy(Ht, c->ht_start, sizeof(double) * n * k);
        for (int t = 1; t <= T; t++) {
            memcpy(Wa, W, sizeof(double) * m * k);
            memcpy(Ha, Ht, sizeof(double) * n * k);
            for (int j = 0; j < config->admm; j++) outer_iteration(Wa, Ha, UW, UH, c);   // the duals carry on
            for (int64_t i = 0; i < m; i++)
                for (int a = 0; a < k; a++) Wc[i * 2 * k + a] = W[i * k + a], Wc[i * 2 * k + k + a] = Wa[i * k + a];
            for (int64_t j = 0; j < n; j++)
                for (int a = 0; a < k; a++) Hc[j * 2 * k + a] = Ht[j * k + a], Hc[j * 2 * k + k + a] = Ha[j * k + a];
            cr_assert_eq(fm_lfactormer_forward_f64(W, Ht, &saved, Wc, Hc, &w, &c->mg, msg), FM_OK, "%s", msg);
            terms[t - 1] = frobenius(W, Ht, c);
        }
        for (int t = 1; t <= T; t++) loss += pow(config->discount, T - t) * terms[t - 1];
        free(Wa);
        free(Ha);
        free(Wc);
        free(Hc);
    }
    fm_lfactormer_saved_free_f64(&saved);
    free(UW);
    free(UH);
    return loss;
}

static void check_by_hand(fm_unroll_mode mode, unroll_graph_case which, int steps, int admm, uint64_t seed)
{
    char msg[FM_MSG_LEN];
    fm_unroll_config config = unroll_tiny_config(mode, steps, admm);
    config.discount = 0.7;
    config.inner = which == GRAPH_SPARSE ? 2 : 1;
    unroll_chain c = unroll_chain_new(unroll_make_graph(which, seed), &config, 1, seed + 1, case_name(&config, which));
    const int64_t m = c.rows, n = c.cols, k = c.k;
    const int terms = mode == FM_UNROLL_INIT ? steps + 1 : steps;
    double *expected = zeros64(terms), *W = zeros64(m * k), *Ht = zeros64(n * k);
    const double by_hand = chain_by_hand(expected, W, Ht, &c);

    fm_lfactormer_weights_f64 w;
    fm_lfactormer_bind_f64(&w, &config.model, c.values, c.params->offsets);
    fm_unroll_tape_f64 *tape = NULL;
    double loss = NAN;
    cr_assert_eq(fm_unroll_forward_f64(&loss, &tape, c.w_start, c.ht_start, &w, &config, &c.mg, msg), FM_OK, "%s", msg);
    cr_expect_eq(tape->terms, terms, "%s: %d terms, expected %d", c.name, tape->terms, terms);
    cr_expect_eq(fm_unroll_terms(&config), terms);
    cr_expect_lt(fabs(loss - by_hand), 1e-13 * by_hand, "%s: loss %.17g, by hand %.17g", c.name, loss, by_hand);
    for (int t = 0; t < terms; t++)
        cr_expect_lt(fabs(tape->losses[t] - expected[t]), 1e-13 * expected[t], "%s: term %d is %.17g, by hand %.17g",
                     c.name, t, tape->losses[t], expected[t]);
    // the last term reads the last state: the chain's final factors
    const int last = fm_unroll_term_state(&config, terms - 1);
    cr_expect_eq(last, tape->states - 1);
    const fm_unroll_tape_f64 *t = tape;
    cr_expect_lt(relative_error64(t->w_states + last * m * k, W, m * k), 1e-14, "%s: last W", c.name);
    cr_expect_lt(relative_error64(t->ht_states + last * n * k, Ht, n * k), 1e-14, "%s: last Hᵀ", c.name);
    cr_expect_gt(fm_test_norm(W, m * k), 0, "%s: the last W is zero", c.name);
    // the terms differ (the iterates move), so a term left out or counted twice shows
    for (int a = 1; a < terms; a++) cr_expect_neq(expected[a], expected[a - 1], "%s: terms %d and %d equal", c.name, a - 1, a);
    cr_log_info("by hand, %s, %d terms: loss %.10g, first term %.6g, last %.6g", c.name, terms, loss, expected[0],
                expected[terms - 1]);
    fm_unroll_tape_free_f64(&tape);
    free(expected);
    free(W);
    free(Ht);
    unroll_chain_free(&c);
}

Test(unroll, forward_matches_the_chain_by_hand)
{
    const unroll_graph_case graphs[] = {GRAPH_DENSE, GRAPH_SPARSE, GRAPH_INCOMPLETE};
    for (int g = 0; g < 3; g++) {
        check_by_hand(FM_UNROLL_INIT, graphs[g], 3, 0, 100 + g);
        check_by_hand(FM_UNROLL_INIT, graphs[g], 0, 0, 110 + g);   // the network's output alone
        check_by_hand(FM_UNROLL_ACCEL, graphs[g], 3, 2, 120 + g);
        check_by_hand(FM_UNROLL_ACCEL, graphs[g], 1, 1, 130 + g);
    }
}

//------------------------------------------------------------------------------
// (c) Float against double; the forward without a tape; accumulation
//------------------------------------------------------------------------------

// The float forward and backward (d_loss) into c->params->grads (zeroed
// first, unless `accumulate`); returns the loss.
static double float_gradients(unroll_chain *c, float d_loss, bool accumulate)
{
    char msg[FM_MSG_LEN];
    if (!accumulate) fm_params_zero_grads(c->params);
    fm_lfactormer_weights w;
    fm_lfactormer_grads g;
    fm_lfactormer_bind(&w, &c->config.model, c->params->values, c->params->offsets);
    fm_lfactormer_bind_grads(&g, &c->config.model, c->params->grads, c->params->offsets);
    fm_unroll_tape *tape = NULL;
    double loss = NAN;
    cr_assert_eq(fm_unroll_forward(&loss, &tape, c->w_start32, c->ht_start32, &w, &c->config, &c->mg, msg), FM_OK,
                 "%s", msg);
    cr_assert_eq(fm_unroll_backward(&g, d_loss, tape, &w, &c->mg, msg), FM_OK, "%s", msg);
    fm_unroll_tape_free(&tape);
    return loss;
}

static void check_float(fm_unroll_mode mode, unroll_graph_case which, uint64_t seed, double *worst_loss,
                        double *worst_grad)
{
    const fm_unroll_config config =
        mode == FM_UNROLL_INIT ? unroll_tiny_config(mode, 5, 0) : unroll_tiny_config(mode, 3, 5);
    unroll_chain c = unroll_chain_new(unroll_make_graph(which, seed), &config, 1, seed + 1, case_name(&config, which));
    const double loss64 = chain_gradients(&c);
    const double loss32 = float_gradients(&c, 1.0f, false);
    const double loss_error = fabs(loss32 - loss64) / loss64;
    cr_expect_lt(loss_error, 1e-4, "%s: float loss %.9g, double %.9g", c.name, loss32, loss64);
    double *grads32 = to_double(c.params->grads, c.params->count);
    const double whole = relative_error64(grads32, c.grads, c.params->count);
    cr_expect_lt(whole, 1e-4, "%s: float gradients vs double, relative error %.3g", c.name, whole);
    cr_expect_gt(fm_test_norm(c.grads, c.params->count), 0, "%s: zero gradient", c.name);
    double worst = whole;
    for (int t = 0; t < c.params->tensors; t++) {
        const char *tensor = c.params->specs[t].name;
        if (fm_test_is_key_bias(tensor)) continue;   // zero in double; rounding in float
        const int64_t at = c.params->offsets[t], size = fm_params_size(c.params, t);
        const double error = relative_error64(grads32 + at, c.grads + at, size);
        cr_expect_lt(error, 1e-3, "%s: float d %s vs double, relative error %.3g", c.name, tensor, error);
        worst = fmax(worst, error);
    }
    *worst_loss = fmax(*worst_loss, loss_error);
    *worst_grad = fmax(*worst_grad, whole);
    cr_log_info("float vs double, %s: loss %.3g, all gradients %.3g, worst tensor %.3g", c.name, loss_error, whole,
                worst);
    free(grads32);
    unroll_chain_free(&c);
}

Test(unroll, float_matches_double)
{
    double worst_loss = 0, worst_grad = 0;
    const unroll_graph_case graphs[] = {GRAPH_DENSE, GRAPH_SPARSE, GRAPH_INCOMPLETE};
    for (int g = 0; g < 3; g++) {
        check_float(FM_UNROLL_INIT, graphs[g], 200 + g, &worst_loss, &worst_grad);
        check_float(FM_UNROLL_ACCEL, graphs[g], 210 + g, &worst_loss, &worst_grad);
    }
    cr_log_info("float vs double: worst loss %.3g, worst gradient block %.3g", worst_loss, worst_grad);
}

// Without a tape the forward computes the same loss, in both builds.
Test(unroll, forward_without_tape_gives_the_same_loss)
{
    char msg[FM_MSG_LEN];
    for (int mode = FM_UNROLL_INIT; mode <= FM_UNROLL_ACCEL; mode++) {
        const fm_unroll_config config = unroll_tiny_config(mode, 3, 2);
        unroll_chain c = unroll_chain_new(unroll_make_graph(GRAPH_SPARSE, 300 + mode), &config, 1, 301,
                                          case_name(&config, GRAPH_SPARSE));
        const double taped64 = chain_loss(&c), taped32 = float_gradients(&c, 1.0f, false);
        fm_lfactormer_weights_f64 w64;
        fm_lfactormer_weights w32;
        fm_lfactormer_bind_f64(&w64, &config.model, c.values, c.params->offsets);
        fm_lfactormer_bind(&w32, &config.model, c.params->values, c.params->offsets);
        double loss64 = NAN, loss32 = NAN;
        cr_assert_eq(fm_unroll_forward_f64(&loss64, NULL, c.w_start, c.ht_start, &w64, &config, &c.mg, msg), FM_OK,
                     "%s", msg);
        cr_assert_eq(fm_unroll_forward(&loss32, NULL, c.w_start32, c.ht_start32, &w32, &config, &c.mg, msg), FM_OK,
                     "%s", msg);
        cr_expect_eq(loss64, taped64, "%s: double loss %.17g without a tape, %.17g with", c.name, loss64, taped64);
        cr_expect_eq(loss32, taped32, "%s: float loss %.9g without a tape, %.9g with", c.name, loss32, taped32);
        cr_expect_gt(loss64, 0);
        unroll_chain_free(&c);
    }
}

// Two backward calls add up; d_loss scales.
Test(unroll, backward_accumulates_and_scales)
{
    for (int mode = FM_UNROLL_INIT; mode <= FM_UNROLL_ACCEL; mode++) {
        const fm_unroll_config config = unroll_tiny_config(mode, 2, 2);
        unroll_chain c = unroll_chain_new(unroll_make_graph(GRAPH_DENSE, 400 + mode), &config, 1, 401,
                                          case_name(&config, GRAPH_DENSE));
        const int64_t count = c.params->count;
        float_gradients(&c, 1.0f, false);
        float_gradients(&c, 1.0f, true);
        double *twice = to_double(c.params->grads, count);
        float_gradients(&c, 2.0f, false);
        double *doubled = to_double(c.params->grads, count);
        float_gradients(&c, 0.5f, false);
        double *halved = to_double(c.params->grads, count);
        for (int64_t e = 0; e < count; e++) halved[e] *= 4;
        const double accumulated = relative_error64(twice, doubled, count), scaled = relative_error64(halved, doubled, count);
        cr_expect_lt(accumulated, 1e-6, "%s: two backward calls vs d_loss 2, relative error %.3g", c.name, accumulated);
        cr_expect_lt(scaled, 1e-6, "%s: 4 × d_loss 0.5 vs d_loss 2, relative error %.3g", c.name, scaled);
        cr_expect_gt(fm_test_norm(doubled, count), 0);
        free(twice);
        free(doubled);
        free(halved);
        unroll_chain_free(&c);
    }
}

