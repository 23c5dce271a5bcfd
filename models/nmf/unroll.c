// The unrolled learned initialization and acceleration (§6, §7): their
// configuration, the shape of their chains, and the float and double builds
// of models/nmf/unroll.inc.
#include "unroll.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loss_grad.h"
#include "status.h"

void fm_unroll_config_default(fm_unroll_config *config, fm_unroll_mode mode, int rank)
{
    if (!config) return;
    *config = (fm_unroll_config){
        .mode = mode,
        .model = {.inputs = mode == FM_UNROLL_ACCEL ? 2 * rank : rank, .rank = rank, .width = 100, .heads = 4,
                  .layers = 4},
        .steps = FM_UNROLL_STEPS,
        .admm = FM_UNROLL_ADMM,
        .inner = 1,
        .discount = FM_UNROLL_DISCOUNT,
    };
}

int fm_unroll_check(const fm_unroll_config *config, char *msg)
{
    if (!config) return fm_fail(FM_ERR_INVALID, msg, "unroll: no configuration");
    const fm_unroll_config *c = config;
    if (c->mode != FM_UNROLL_INIT && c->mode != FM_UNROLL_ACCEL)
        return fm_fail(FM_ERR_INVALID, msg, "unroll: unknown mode %d", (int)c->mode);
    const int status = fm_lfactormer_check(&c->model, msg);
    if (status) return status;
    const int k = c->model.rank;
    if (k > FM_ADMM_GRAD_MAX_RANK)
        return fm_fail(FM_ERR_INVALID, msg, "unroll: rank %d is above %d, the differentiable ADMM's limit", k,
                       FM_ADMM_GRAD_MAX_RANK);
    const bool accel = c->mode == FM_UNROLL_ACCEL;
    if (c->model.inputs != (accel ? 2 * k : k))
        return fm_fail(FM_ERR_INVALID, msg, "unroll: the %s model reads %d inputs per node; expected %s = %d",
                       accel ? "acceleration" : "initialization", c->model.inputs, accel ? "2·rank" : "rank",
                       accel ? 2 * k : k);
    if (accel ? c->steps < 1 : c->steps < 0)
        return fm_fail(FM_ERR_INVALID, msg, "unroll: %d steps; expected at least %d", c->steps, accel ? 1 : 0);
    if (accel && c->admm < 1)
        return fm_fail(FM_ERR_INVALID, msg, "unroll: %d ADMM iterations per accelerator step; expected at least 1",
                       c->admm);
    if (c->inner < 1)
        return fm_fail(FM_ERR_INVALID, msg, "unroll: %d inner ADMM steps; expected at least 1", c->inner);
    if (!(c->discount > 0) || !isfinite(c->discount))
        return fm_fail(FM_ERR_INVALID, msg, "unroll: discount %g; expected a finite number above 0", c->discount);
    // the chain's arrays are indexed by int
    const int64_t states = accel ? 1 + (int64_t)c->steps * (c->admm + 1) : (int64_t)c->steps + 1;
    if (states > (1 << 20))
        return fm_fail(FM_ERR_INVALID, msg, "unroll: %lld factor states on the chain; at most %d", (long long)states,
                       1 << 20);
    return FM_OK;
}

int fm_unroll_states(const fm_unroll_config *config)
{
    return config->mode == FM_UNROLL_ACCEL ? 1 + config->steps * (config->admm + 1) : config->steps + 1;
}

int fm_unroll_terms(const fm_unroll_config *config)
{
    return config->mode == FM_UNROLL_ACCEL ? config->steps : config->steps + 1;
}

int fm_unroll_term_state(const fm_unroll_config *config, int term)
{
    return config->mode == FM_UNROLL_ACCEL ? (term + 1) * (config->admm + 1) : term;
}

// γ^(terms − 1 − term): the weight of a term of the loss.
static double term_weight(const fm_unroll_config *config, int term)
{
    return pow(config->discount, fm_unroll_terms(config) - 1 - term);
}

#define FM_BODY "unroll.inc"
#include "instantiate.h"
