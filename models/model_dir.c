// The directory of the learned models when no file is named: see model_dir.h.
#define _GNU_SOURCE   // dladdr1, RTLD_DL_LINKMAP
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_dir.h"
#include "status.h"

// Set by CMake: the source tree's models/shipped, and the installed models
// directory relative to the installed program's directory and to the
// installed library's (or absolute, for an absolute install layout).
#ifndef FM_MODEL_DIR
#define FM_MODEL_DIR "models/shipped"
#endif
#ifndef FM_MODELS_FROM_BIN
#define FM_MODELS_FROM_BIN "../share/factormer/models"
#endif
#ifndef FM_MODELS_FROM_LIB
#define FM_MODELS_FROM_LIB "../share/factormer/models"
#endif

// The installed models directory of the file this code was loaded from (the
// shared library, or the program it is linked into), canonical, into `dir`;
// false if that directory does not exist or does not fit.
static bool installed_dir(char *dir, size_t size)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1((void *)installed_dir, &info, (void **)&map, RTLD_DL_LINKMAP) || !map) return false;
    // the program's own link map has an empty name
    const bool program = !map->l_name || !*map->l_name;
    char *file = realpath(program ? "/proc/self/exe" : map->l_name, NULL);
    if (!file) return false;
    *strrchr(file, '/') = '\0';   // realpath's answer is absolute
    const char *relative = program ? FM_MODELS_FROM_BIN : FM_MODELS_FROM_LIB;
    char joined[FM_LEARNED_PATH_LEN];
    const int n = relative[0] == '/' ? snprintf(joined, sizeof joined, "%s", relative)
                                     : snprintf(joined, sizeof joined, "%s/%s", file, relative);
    free(file);
    if (n < 0 || (size_t)n >= sizeof joined) return false;
    char *canonical = realpath(joined, NULL);
    struct stat st;
    const bool found = canonical && stat(canonical, &st) == 0 && S_ISDIR(st.st_mode) && strlen(canonical) < size;
    if (found) strcpy(dir, canonical);
    free(canonical);
    return found;
}

int fm_learned_model_dir(char *dir, size_t size, const char **origin, char *msg)
{
    const char *env = getenv(FM_MODEL_DIR_ENV);
    char installed[FM_LEARNED_PATH_LEN];
    const char *chosen = FM_MODEL_DIR, *from =
        "the source tree's models, as $" FM_MODEL_DIR_ENV " is not set and no installed models were found";
    if (env && *env) {
        chosen = env;
        from = "$" FM_MODEL_DIR_ENV;
    } else if (installed_dir(installed, sizeof installed)) {
        chosen = installed;
        from = "the installed models";
    }
    const int n = snprintf(dir, size, "%s", chosen);
    if (n < 0 || (size_t)n >= size)
        return fm_fail(FM_ERR_INVALID, msg, "the model directory '%s' is longer than %zu bytes", chosen, size - 1);
    if (origin) *origin = from;
    return FM_OK;
}

int fm_learned_model_path(char *path, size_t size, const char *file, char *msg)
{
    char dir[FM_LEARNED_PATH_LEN];
    const int status = fm_learned_model_dir(dir, sizeof dir, NULL, msg);
    if (status != FM_OK) return status;
    const int n = snprintf(path, size, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= size)
        return fm_fail(FM_ERR_INVALID, msg, "the model path '%s/%s' is longer than %zu bytes", dir, file, size - 1);
    return FM_OK;
}
