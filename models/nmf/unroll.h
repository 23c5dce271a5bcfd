// The unrolled computations that training differentiates (docs/factormer-math.md
// §6, §7): the learned initialization and the learned acceleration, each a
// chain of L-Factormer calls (models/nmf/lfactormer.h) and differentiable ADMM
// outer iterations (ops/admm_grad.h), with the discounted loss over the
// chain's iterates and its backward to every parameter of the model.
//
// f(W, H) = ½ Σ_Ω (x_ij − w_i·h_j)² / |Ω| (ops/loss_grad.h), γ = `discount`;
// the weighted ½ Σ_Ω ω_ij r_ij² when the message graph has loss_weights (a
// GraphSAINT subgraph, engine/subgraph.h). With loss_rows the loss reads its
// x_ij there (a target other than X, §7's limit term) while the ADMM reads X.
// One ADMM outer iteration (§3) from (W, Hᵀ, U_W, U_H): the H-update over the
// column edges (mg.columns, sources W), then the W-update over the row edges
// (mg.rows, sources the new Hᵀ), `inner` ADMM steps each.
//
// FM_UNROLL_INIT, the learned initialization (Algorithm 1), inputs = rank:
//   (W_0, Hᵀ_0) = L-Factormer(W_start, Hᵀ_start)        network output, t = 0
//   U_W = U_H = 0
//   (W_t, Hᵀ_t) = one ADMM outer iteration from (W_{t−1}, Hᵀ_{t−1})   t = 1..T
//   loss = Σ_{t=0..T} γ^{T−t} f(W_t, H_t),  T = steps (n_unroll)
// The sum has T + 1 terms: the network output (weight γ^T) and every one of
// the T outer iterations after it (the last with weight 1).
//
// FM_UNROLL_ACCEL, the learned acceleration (Algorithm 2), inputs = 2·rank:
//   (W_0, Hᵀ_0) = (W_start, Hᵀ_start),  U_W = U_H = 0
//   for t = 1..T (T = steps):
//     (Ŵ, Ĥᵀ) = `admm` (c) ADMM outer iterations from (W_{t−1}, Hᵀ_{t−1}),
//               the duals carried from the step before (§6 [choice])
//     (W_t, Hᵀ_t) = L-Factormer([W_{t−1} | Ŵ], [Hᵀ_{t−1} | Ĥᵀ])
//   loss = Σ_{t=1..T} γ^{T−t} f(W_t, H_t)
// T terms: the accelerator's outputs only (not W_0, not the ADMM iterates).
//
// W_start, Hᵀ_start (NNDSVD, from the caller) are constants: no gradient goes
// to them. The caller scales X to mean 1 over Ω before opening the message
// graph (models/nmf/lfactormer.h, "Scale"). The message graph must be opened for
// the fused kernels (the ADMM and the loss read its borrowed CSR or full
// edges, and the double build of the network exists for them only).
//
// The tape keeps what the backward needs and nothing else: every factor
// state of the chain (the ADMM's sources and the loss's arguments), one
// ops/admm_grad tape per factor update and one fm_lfactormer_saved per
// network call. The duals are not kept (no backward step reads them).
// Without a tape (tape == NULL) the forward only computes the loss: it keeps
// one network's activations and frees each ADMM tape at once, so that an
// inference path (the solver's) is this loop with a cheaper ADMM.
//
// Built twice from models/nmf/unroll.inc: float (no suffix) and double (_f64).
#ifndef FM_UNROLL_H
#define FM_UNROLL_H

#include <stdint.h>

#include "admm_grad.h"
#include "attention.h"
#include "lfactormer.h"

#define FM_UNROLL_STEPS 5        // n_unroll (init) and T (acceleration), §7 [choice]
#define FM_UNROLL_ADMM 5         // c: outer ADMM iterations per accelerator step, §6
#define FM_UNROLL_DISCOUNT 0.9   // γ, §7 [choice]

typedef enum { FM_UNROLL_INIT = 0, FM_UNROLL_ACCEL = 1 } fm_unroll_mode;

typedef struct fm_unroll_config {
    fm_unroll_mode mode;
    fm_lfactormer_config model;   // inputs = rank (init) or 2·rank (acceleration)
    int steps;                    // init: n_unroll (≥ 0); acceleration: T (≥ 1)
    int admm;                     // acceleration: c (≥ 1); the initialization ignores it
    int inner;                    // ADMM steps per factor update (≥ 1; §3 default 1)
    double discount;              // γ (> 0)
} fm_unroll_config;

// The defaults of §6 and §7 for `mode` and `rank`: the paper's network
// (width 100, 4 heads, 4 layers), steps 5, admm 5, inner 1, γ 0.9.
void fm_unroll_config_default(fm_unroll_config *config, fm_unroll_mode mode, int rank);
// FM_OK if every field is in range (rank ≤ FM_ADMM_GRAD_MAX_RANK), else
// FM_ERR_INVALID with the reason.
int fm_unroll_check(const fm_unroll_config *config, char *msg);
// Factor states on the chain: init steps + 1 (state t = (W_t, Hᵀ_t));
// acceleration 1 + steps·(admm + 1) (state 0 the start; step t's ADMM
// iterates j = 1..c at (t−1)(c+1) + j, its output W_t at t(c+1)).
int fm_unroll_states(const fm_unroll_config *config);
// Loss terms: init steps + 1, acceleration steps; term i reads state
// fm_unroll_term_state(config, i) with weight γ^(terms − 1 − i).
int fm_unroll_terms(const fm_unroll_config *config);
int fm_unroll_term_state(const fm_unroll_config *config, int term);

#define FM_UNROLL_DECLARE(real, suffix)                                                             \
    typedef struct fm_unroll_tape##suffix {                                                         \
        fm_unroll_config config;                                                                    \
        int64_t rows, cols;                                                                         \
        int states;                   /* fm_unroll_states(config)                                */ \
        real *w_states, *ht_states;   /* states × rows × k, states × cols × k                    */ \
        int terms;                    /* fm_unroll_terms(config)                                 */ \
        double *losses;               /* f of each term, before the discount                     */ \
        int calls;                    /* network calls: 1 (init) or steps                        */ \
        fm_lfactormer_saved##suffix *networks;                                                      \
        int updates;                  /* ADMM outer iterations: steps, or steps·admm             */ \
        fm_admm_tape##suffix **h_tapes, **w_tapes;   /* one per outer iteration, in order        */ \
        real *block;                                                                                \
    } fm_unroll_tape##suffix;                                                                       \
                                                                                                    \
    /* *loss (double in both builds) from the starting factors w_start (rows × k) and ht_start   */ \
    /* (cols × k) with the model `w` (w->config must be config->model) over the edges of mg      */ \
    /* (opened for FM_KERNELS_FUSED). Sets *tape (NULL on entry) when `tape` is not NULL.        */ \
    int fm_unroll_forward##suffix(double *loss, fm_unroll_tape##suffix **tape, const real *w_start,  \
                                  const real *ht_start, const fm_lfactormer_weights##suffix *w,     \
                                  const fm_unroll_config *config, const fm_message_graph *mg,       \
                                  char *msg);                                                       \
    /* Adds (+=) d_loss · d loss / d θ to the gradients `g` of every model parameter, from the   */ \
    /* forward's tape, the same weights and the same message graph.                              */ \
    int fm_unroll_backward##suffix(const fm_lfactormer_grads##suffix *g, real d_loss,               \
                                   const fm_unroll_tape##suffix *tape,                              \
                                   const fm_lfactormer_weights##suffix *w, const fm_message_graph *mg, \
                                   char *msg);                                                      \
    void fm_unroll_tape_free##suffix(fm_unroll_tape##suffix **tape);

FM_UNROLL_DECLARE(float, )
FM_UNROLL_DECLARE(double, _f64)

#endif
