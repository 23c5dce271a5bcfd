// Where the learned models' files are when no file is named, for every model
// family (models/nmf: the L-Factormer's, models/precond: NeuralIF's and the
// learned LU's), the first of:
//   1. $FACTORMER_MODELS, when set and not empty;
//   2. the installed models, when that directory exists: <prefix>/share/
//      factormer/models as found from the file this code runs from, the
//      installed program (<prefix>/bin) or shared library (<prefix>/lib);
//      the install layout's relative paths are compiled in by CMake;
//   3. FM_MODEL_DIR, compiled in by CMake: the source tree's models/shipped,
//      for a program run from its build tree.
#ifndef FM_MODEL_DIR_H
#define FM_MODEL_DIR_H

#include <stddef.h>

#define FM_MODEL_DIR_ENV "FACTORMER_MODELS"
#define FM_LEARNED_PATH_LEN 4096

// The default directory above into `dir`, and (when `origin` is not NULL)
// a phrase that says which of the three it is. FM_ERR_INVALID if it does not
// fit in `size` bytes.
int fm_learned_model_dir(char *dir, size_t size, const char **origin, char *msg);

// `dir`/`file` for the default directory; FM_ERR_INVALID if it does not fit.
int fm_learned_model_path(char *path, size_t size, const char *file, char *msg);

#endif
