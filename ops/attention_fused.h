// The fused path of the edge attention (ops/attention_fused.inc), float and
// double; ops/attention.c dispatches to it.
#ifndef FM_ATTENTION_FUSED_H
#define FM_ATTENTION_FUSED_H

#include "attention.h"

#define FM_ATTENTION_FUSED_DECLARE(suffix)                                                            \
    int fm_attention_fused_forward##suffix(fm_attention_outputs##suffix *out,                         \
                                           const fm_attention_inputs##suffix *in,                      \
                                           const fm_message_graph *mg, fm_direction direction,         \
                                           fm_attention_shape shape, char *msg);                       \
    int fm_attention_fused_backward##suffix(fm_attention_grads##suffix *grads,                        \
                                            const fm_attention_outputs##suffix *d_out,                 \
                                            const fm_attention_inputs##suffix *in,                     \
                                            const fm_attention_outputs##suffix *saved,                 \
                                            const fm_message_graph *mg, fm_direction direction,        \
                                            fm_attention_shape shape, char *msg);

FM_ATTENTION_FUSED_DECLARE()
FM_ATTENTION_FUSED_DECLARE(_f64)

#endif
