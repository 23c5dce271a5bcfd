// The edge attention's one interface over its two paths (ops/attention.h).
#include <string.h>

#include "attention.h"
#include "attention_fused.h"
#include "status.h"

double fm_attention_flops(int64_t edges, fm_attention_shape shape, bool backward)
{
    const double dh = shape.width / shape.heads, d = shape.width;
    const double forward = (double)edges * shape.heads * (4 * (dh + d) + 8);
    return backward ? 2.5 * forward : forward;
}

int fm_kernels_parse(fm_kernels *kernels, const char *name, char *msg)
{
    if (!strcmp(name, "fused")) *kernels = FM_KERNELS_FUSED;
    else if (!strcmp(name, "graphblas")) *kernels = FM_KERNELS_GRAPHBLAS;
    else return fm_fail(FM_ERR_INVALID, msg, "kernels must be fused or graphblas, not '%s'", name);
    return FM_OK;
}

static int check_shape(const fm_message_graph *mg, fm_direction direction, fm_attention_shape shape,
                       char *msg)
{
#define FREE_ALL
    FM_CHECK(mg && mg->graph, FM_ERR_INVALID, "attention: the message graph is not open");
    FM_CHECK(shape.heads >= 1 && shape.width >= shape.heads && shape.width % shape.heads == 0,
             FM_ERR_INVALID, "attention: width %d is not a positive multiple of heads %d", shape.width,
             shape.heads);
    FM_TRY(fm_message_graph_check_direction(mg, direction, msg));
    GrB_Index targets, sources;
    if (mg->kernels == FM_KERNELS_FUSED) {
        const fm_edges *edges = direction == FM_TO_ROWS ? &mg->rows : &mg->columns;
        targets = (GrB_Index)edges->targets;
        sources = (GrB_Index)edges->sources;
    } else {
        const GrB_Matrix by_target = fm_message_graph_graphblas_edges(mg, direction).by_target;
        FM_GRB(GrB_Matrix_nrows(&targets, by_target));
        FM_GRB(GrB_Matrix_ncols(&sources, by_target));
    }
    FM_CHECK((int64_t)targets == shape.targets && (int64_t)sources == shape.sources, FM_ERR_INVALID,
             "attention: shape %lld targets x %lld sources does not match the graph's %llu x %llu",
             (long long)shape.targets, (long long)shape.sources, (unsigned long long)targets,
             (unsigned long long)sources);
    return FM_OK;
#undef FREE_ALL
}

// A forward-only graph is refused: the GraphBLAS path's backward reads a
// sample's draws by source, which only a sample drawn with the backward has
// packed; both paths keep the one contract.
static int check_backward(const fm_message_graph *mg, fm_direction direction, fm_attention_shape shape, char *msg)
{
    int status = check_shape(mg, direction, shape, msg);
    if (status) return status;
    if (mg->forward_only)
        return fm_fail(FM_ERR_INVALID, msg,
                       "attention: the message graph is forward-only (a view, fm_message_graph_view, or a sample "
                       "drawn without the backward); the backward needs one opened by fm_message_graph_open or "
                       "sampled with the backward");
    return FM_OK;
}

int fm_attention_forward(fm_attention_outputs *out, const fm_attention_inputs *in, const fm_message_graph *mg,
                         fm_direction direction, fm_attention_shape shape, char *msg)
{
    int status = check_shape(mg, direction, shape, msg);
    if (status) return status;
    if (mg->kernels == FM_KERNELS_GRAPHBLAS) {
        const fm_graphblas_edges edges = fm_message_graph_graphblas_edges(mg, direction);
        return fm_attention_forward_graphblas(out, in, &edges, shape, msg);
    }
    return fm_attention_fused_forward(out, in, mg, direction, shape, msg);
}

int fm_attention_backward(fm_attention_grads *grads, const fm_attention_outputs *d_out,
                          const fm_attention_inputs *in, const fm_attention_outputs *saved,
                          const fm_message_graph *mg, fm_direction direction, fm_attention_shape shape, char *msg)
{
    int status = check_backward(mg, direction, shape, msg);
    if (status) return status;
    if (mg->kernels == FM_KERNELS_GRAPHBLAS) {
        const fm_graphblas_edges edges = fm_message_graph_graphblas_edges(mg, direction);
        return fm_attention_backward_graphblas(grads, d_out, in, saved, &edges, shape, msg);
    }
    return fm_attention_fused_backward(grads, d_out, in, saved, mg, direction, shape, msg);
}

int fm_attention_forward_f64(fm_attention_outputs_f64 *out, const fm_attention_inputs_f64 *in,
                             const fm_message_graph *mg, fm_direction direction, fm_attention_shape shape,
                             char *msg)
{
    int status = check_shape(mg, direction, shape, msg);
    if (status) return status;
    if (mg->kernels != FM_KERNELS_FUSED)
        return fm_fail(FM_ERR_INVALID, msg, "attention: the double build exists for the fused path only");
    return fm_attention_fused_forward_f64(out, in, mg, direction, shape, msg);
}

int fm_attention_backward_f64(fm_attention_grads_f64 *grads, const fm_attention_outputs_f64 *d_out,
                              const fm_attention_inputs_f64 *in, const fm_attention_outputs_f64 *saved,
                              const fm_message_graph *mg, fm_direction direction, fm_attention_shape shape,
                              char *msg)
{
    int status = check_backward(mg, direction, shape, msg);
    if (status) return status;
    if (mg->kernels != FM_KERNELS_FUSED)
        return fm_fail(FM_ERR_INVALID, msg, "attention: the double build exists for the fused path only");
    return fm_attention_fused_backward_f64(grads, d_out, in, saved, mg, direction, shape, msg);
}
