// What every training run shares (run_state.h).
#include "run_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "status.h"

int fm_run_probe_output(const char *out, char *msg)
{
    fm_atomic_file probe;
#define FREE_ALL
    struct stat st;
    FM_CHECK(!(stat(out, &st) == 0 && S_ISDIR(st.st_mode)), FM_ERR_IO, "%s: is a directory; expected a model file",
             out);
    FM_TRY(fm_atomic_open(&probe, out, msg));
    fm_atomic_abort(&probe);
    return FM_OK;
#undef FREE_ALL
}

int fm_run_check_position(const fm_train_state *st, uint64_t seed, int64_t train_size, int batch,
                          int64_t steps_per_epoch, const char *path, char *msg)
{
#define FREE_ALL
    FM_CHECK(st->seed == seed, FM_ERR_INVALID, "%s: the run has seed %llu; the options say %llu", path,
             (unsigned long long)st->seed, (unsigned long long)seed);
    const int64_t n = train_size, steps = steps_per_epoch;
    const uint64_t done = st->rng_counter;
    FM_CHECK(st->epoch <= (uint64_t)INT32_MAX && done < (uint64_t)n && done % (uint64_t)batch == 0 &&
                 st->step == st->epoch * (uint64_t)steps + done / (uint64_t)batch,
             FM_ERR_INVALID,
             "%s: the run stands at epoch %llu, matrix %llu, step %llu, which a train size of %lld in batches of %d "
             "does not give (step = epoch x steps per epoch + matrix / batch): was it trained with another "
             "--train-size or --batch?",
             path, (unsigned long long)st->epoch, (unsigned long long)done, (unsigned long long)st->step,
             (long long)n, batch);
    return FM_OK;
#undef FREE_ALL
}

bool fm_run_same_rate(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b)); }

#define STATE_SUFFIX ".state"

int fm_run_state_path(char **path, const char *out, char *msg)
{
#define FREE_ALL do { } while (0)
    const size_t size = strlen(out) + sizeof STATE_SUFFIX;
    char *p = NULL;
    FM_ALLOC(p, size);
    snprintf(p, size, "%s%s", out, STATE_SUFFIX);
    *path = p;
    return FM_OK;
#undef FREE_ALL
}

int fm_run_state_absent(const char *path, char *msg)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return fm_fail_path(FM_ERR_INVALID, msg, path,
                            ": a training state exists: continue it with --resume, or remove it");
    return FM_OK;
}
