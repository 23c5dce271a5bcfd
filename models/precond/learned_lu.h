// Learned LU (P6): a graph network that reads the graph of a general square
// matrix A and outputs sparse factors L (lower) and U (upper) on the pattern
// of A, so that L U preconditions GMRES.
#ifndef FM_LEARNED_LU_H
#define FM_LEARNED_LU_H

#include <stddef.h>
#include <stdint.h>

#include "square.h"

typedef struct fm_learned_lu fm_learned_lu;

// The loss a model was trained with (P6), recorded in its checkpoint.
typedef enum fm_llu_loss_kind {
    FM_LLU_LOSS_SKETCHED = 0,  // ‖L̂Û z − Â z‖, z ~ N(0, I)
    FM_LLU_LOSS_SPECTRUM = 1,  // ‖L̂Û x − b‖, x = Â⁻¹ b (spectrum-aware)
    FM_LLU_LOSS_PRECONDITIONED = 2, // NeuralIF only: ‖L̂⁻¹ Â L̂⁻ᵀ z − z‖ (P5.5 [ext])
} fm_llu_loss_kind;

// "sketched", "spectrum", "preconditioned"; the parse is FM_ERR_INVALID naming the text.
const char *fm_llu_loss_name(fm_llu_loss_kind kind);
int fm_llu_loss_parse(fm_llu_loss_kind *out, const char *text, char *msg);

// How the network's output z becomes the factors' off-diagonal values (P6.3),
// recorded in its checkpoint.
typedef enum fm_llu_output {
    FM_LLU_OUTPUT_DIRECT = 0,  // v_ij = z_ij (P6 as the paper has it)
    FM_LLU_OUTPUT_SCALED = 1,  // v_ij = â_ij z_ij [ext]: the factor scales with the entry it stands on
} fm_llu_output;

// "direct", "scaled"; the parse is FM_ERR_INVALID naming the text.
const char *fm_llu_output_name(fm_llu_output output);
int fm_llu_output_parse(fm_llu_output *out, const char *text, char *msg);

// What inference did beyond the network.
typedef struct fm_learned_lu_info {
    int64_t clamped;       // diagonal entries of L̂ set to ±ε by the inference step (P6)
} fm_learned_lu_info;

// A model from a checkpoint (kind "learned-lu"; another kind is FM_ERR_PARSE
// naming the file and both kinds).
int fm_learned_lu_load(fm_learned_lu **out, const char *path, char *msg);
void fm_learned_lu_free(fm_learned_lu **model);
fm_llu_loss_kind fm_learned_lu_loss(const fm_learned_lu *model);
fm_llu_output fm_learned_lu_output(const fm_learned_lu *model);

// L and U for A (not Â: scaled back, P2), for fm_precond_from_lu: L lower
// by rows with the diagonal last, U upper by rows with the diagonal first.
// info may be NULL.
int fm_learned_lu_factor(fm_csr **L, fm_csr **U, const fm_learned_lu *model, const fm_square *A,
                         fm_learned_lu_info *info, char *msg);

#define FM_LEARNED_LU_MODEL_FILE "learned-lu.fmw"
// The shipped model's path in the learned models' directory (as
// fm_neuralif_default_path).
int fm_learned_lu_default_path(char *path, size_t size, char *msg);

#endif
