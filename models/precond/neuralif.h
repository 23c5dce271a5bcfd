// NeuralIF (P5): a graph network that reads the graph of an SPD matrix A and
// outputs a sparse lower-triangular L on the pattern of tril(A), so that
// L Lᵀ preconditions CG.
#ifndef FM_NEURALIF_H
#define FM_NEURALIF_H

#include <stdbool.h>
#include <stddef.h>

#include "square.h"

typedef struct fm_neuralif fm_neuralif;

// Inference options (P5), each a default only where it measured better.
typedef struct fm_neuralif_options {
    double drop_tolerance; // remove off-diagonal |l̂_ij| ≤ τ (NeuralIF-sp); 0 keeps all
    bool normalize_diag;   // rescale each row so (L̂ L̂ᵀ)_ii = â_ii
} fm_neuralif_options;

void fm_neuralif_defaults(fm_neuralif_options *opt);

// A model from a checkpoint (kind "neuralif"; another kind is FM_ERR_PARSE
// naming the file and both kinds).
int fm_neuralif_load(fm_neuralif **out, const char *path, char *msg);
void fm_neuralif_free(fm_neuralif **model);

// L for A (not Â: scaled back, L = D^{1/2} L̂, P2), lower by rows with the
// diagonal last and positive.
int fm_neuralif_factor(fm_csr **L, const fm_neuralif *model, const fm_square *A,
                       const fm_neuralif_options *opt, char *msg);

#define FM_NEURALIF_MODEL_FILE "neuralif.fmw"
// The shipped model's path: FM_NEURALIF_MODEL_FILE in the learned models'
// directory ($FACTORMER_MODELS, the installed models, or the source tree's
// models/shipped: fm_learned_model_dir). Whether it exists is the reader's
// business.
int fm_neuralif_default_path(char *path, size_t size, char *msg);

#endif
