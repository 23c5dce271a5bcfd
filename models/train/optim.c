// AdamW over the parameter block (§7).
#include "cpu.h"
#include "optim.h"

#include <float.h>
#include <math.h>

#include "profile.h"
#include "status.h"

// The gradient norm is summed over this many chunks of the block, whatever
// the thread count: each chunk in order, then the chunk sums in order.
#define NORM_CHUNKS 256

// Blocks smaller than this are updated by one thread.
#define PARALLEL_MIN 32768

void fm_adamw_default(fm_adamw *opt)
{
    *opt = (fm_adamw){
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .weight_decay = 0.01,
        .decay_vectors = false,
        .max_grad_norm = 0,
    };
}

double fm_optim_grad_norm(const fm_params *p)
{
    if (!p || p->count == 0) return 0;
    const int64_t count = p->count, chunk = (count + NORM_CHUNKS - 1) / NORM_CHUNKS;
    const float *grads = p->grads;
    double partial[NORM_CHUNKS];
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        const int64_t start = c * chunk, end = start + chunk < count ? start + chunk : count;
        double sum = 0;
        for (int64_t e = start; e < end; e++) sum += (double)grads[e] * grads[e];
        partial[c] = sum;
    }
    double sum = 0;
    for (int c = 0; c < NORM_CHUNKS; c++) sum += partial[c];
    return sqrt(sum);
}

static bool is_probability(double beta) { return beta >= 0 && beta < 1; }

// Weight decay applies to weight matrices (and to vectors if asked).
static double decay_of(const fm_tensor_spec *s, const fm_adamw *opt)
{
    const bool matrix = s->rows > 1 && s->cols > 1;
    return matrix || opt->decay_vectors ? opt->weight_decay : 0;
}

// One element's step (§7): its new first and second moments and value, in
// double.
typedef struct adamw_element {
    double first, second, value;
} adamw_element;

static inline __attribute__((always_inline)) adamw_element adamw_at(double g, float m, float v, float theta,
                                                                      double beta1, double beta2, double eps,
                                                                      double correction1, double correction2,
                                                                      double rate, double decay)
{
    const double first = beta1 * m + (1 - beta1) * g;
    const double second = beta2 * v + (1 - beta2) * g * g;
    const double update = (first / correction1) / (sqrt(second / correction2) + eps);
    return (adamw_element){first, second, theta - rate * (update + decay * theta)};
}

static bool fits_float(double x) { return fabs(x) <= FLT_MAX; }

FM_TARGET_CLONES
int fm_adamw_step(fm_params *p, const fm_adamw *opt, int64_t step, double rate, double *grad_norm,
                  char *msg)
{
#define FREE_ALL {}
    FM_CHECK(p && opt, FM_ERR_INVALID, "fm_adamw_step: no parameters or no options");
    FM_CHECK(step >= 1, FM_ERR_INVALID, "fm_adamw_step: step %lld; the first step is 1",
             (long long)step);
    FM_CHECK(isfinite(rate) && rate >= 0, FM_ERR_INVALID,
             "fm_adamw_step: learning rate %g must be finite and >= 0", rate);
    FM_CHECK(is_probability(opt->beta1) && is_probability(opt->beta2), FM_ERR_INVALID,
             "fm_adamw_step: betas %g and %g must lie in [0, 1)", opt->beta1, opt->beta2);
    FM_CHECK(opt->eps > 0 && isfinite(opt->eps), FM_ERR_INVALID, "fm_adamw_step: eps %g must be > 0",
             opt->eps);
    FM_CHECK(opt->weight_decay >= 0 && isfinite(opt->weight_decay), FM_ERR_INVALID,
             "fm_adamw_step: weight decay %g must be >= 0", opt->weight_decay);
    FM_CHECK(opt->max_grad_norm >= 0 && isfinite(opt->max_grad_norm), FM_ERR_INVALID,
             "fm_adamw_step: max_grad_norm %g must be >= 0 (0 disables clipping)", opt->max_grad_norm);
    FM_PROFILE_START(profile_clock);
    const double norm = fm_optim_grad_norm(p);
    if (grad_norm) *grad_norm = norm;
    FM_CHECK(isfinite(norm), FM_ERR_NUMERIC,
             "fm_adamw_step: the gradient norm at step %lld is %g; the parameters are unchanged",
             (long long)step, norm);
    const double scale = opt->max_grad_norm > 0 && norm > opt->max_grad_norm ? opt->max_grad_norm / norm : 1;
    const double beta1 = opt->beta1, beta2 = opt->beta2, eps = opt->eps;
    const double correction1 = 1 - pow(beta1, (double)step), correction2 = 1 - pow(beta2, (double)step);
    float *values = p->values, *grads = p->grads, *m = p->m, *v = p->v;
    double elements = 0;
    for (int t = 0; t < p->tensors; t++) elements += (double)fm_params_size(p, t);

    // a finite gradient can still take a value or a moment beyond float's
    // range (g² of a wrecked model, a huge rate): pass 0 checks, nothing
    // written, and such a step is refused; pass 1 writes. One loop for both
    // (in this function, so that its target clones compile it), so that both
    // round alike.
    for (int pass = 0; pass < 2; pass++) {
        const bool check = pass == 0;
        int overflow = 0;
#pragma omp parallel if (p->count >= PARALLEL_MIN) reduction(| : overflow)
        for (int t = 0; t < p->tensors; t++) {
            const double decay = decay_of(&p->specs[t], opt);
            const int64_t start = p->offsets[t], end = start + fm_params_size(p, t);
#pragma omp for schedule(static) nowait
            for (int64_t e = start; e < end; e++) {
                const adamw_element x = adamw_at(scale * grads[e], m[e], v[e], values[e], beta1, beta2, eps,
                                                 correction1, correction2, rate, decay);
                if (check) {
                    overflow |= !(fits_float(x.first) && fits_float(x.second) && fits_float(x.value));
                } else {
                    m[e] = (float)x.first;
                    v[e] = (float)x.second;
                    values[e] = (float)x.value;
                }
            }
        }
        FM_CHECK(!overflow, FM_ERR_NUMERIC,
                 "fm_adamw_step: step %lld at rate %g would take a parameter or its moments beyond float's range; "
                 "the parameters are unchanged", (long long)step, rate);
    }
    // flops: the norm (2 per element) and the update, checked then applied
    // (about 16 per element each); bytes: the gradients read three times,
    // values and both moments read twice and written once
    FM_PROFILE_STOP(profile_clock, "optim.adamw", 34 * elements, 4.0 * 12 * elements);
    return FM_OK;
#undef FREE_ALL
}

int fm_adamw_try_step(fm_params *p, const fm_adamw *opt, int64_t step, double rate, bool *taken, char *msg)
{
    const int status = fm_adamw_step(p, opt, step, rate, NULL, msg);
    *taken = status == FM_OK;
    if (status != FM_ERR_NUMERIC) return status;
    msg[0] = 0;
    return FM_OK;
}
