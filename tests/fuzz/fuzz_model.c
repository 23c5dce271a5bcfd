// libFuzzer harness: the model loader (io/checkpoint, models/nmf/learned): bytes
// to a file, loaded, checked, freed. The first byte of an input is options,
// the rest the file:
//   bit 0  reseal the header: write the CRC of bytes 0..59 at 60..63
//   bit 1  reseal the file: write the CRC of all but the last 4 bytes there
//          (with both, a mutation gets past the checksums to the checks
//          behind them: the layout, the tensor table, the values, the state)
//   bit 2  load with fm_learned_load (inference), else fm_checkpoint_read
//   bit 3  expect another kind than the file's header names
//   bit 4  fm_checkpoint_read: expect a training state
//   bit 5  fm_checkpoint_read: ask for the training state
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lfactormer_checkpoint.h"
#include "common.h"
#include "learned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

static uint32_t get_u32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static void put_u32(uint8_t *b, uint32_t x)
{
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(x >> (8 * i));
}

static void check_params(const fm_params *p, const fm_lfactormer_config *c, bool moments)
{
    char why[FM_MSG_LEN] = "";
    FUZZ_ASSERT(fm_lfactormer_check(c, why) == FM_OK, "loaded a model the layout rejects: %s", why);
    FUZZ_ASSERT(p && p->count > 0 && p->tensors == fm_lfactormer_tensors(c), "a block of %lld floats",
                p ? (long long)p->count : -1LL);
    for (int64_t e = 0; e < p->count; e++) {
        FUZZ_ASSERT(isfinite(p->values[e]), "value %lld is %g", (long long)e, (double)p->values[e]);
        FUZZ_ASSERT(!moments || (isfinite(p->m[e]) && isfinite(p->v[e]) && p->v[e] >= 0), "moments %lld", (long long)e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t options = data[0];
    const size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) return 0;
    memcpy(bytes, data + 1, n);
    if ((options & 1) && n >= FM_CHECKPOINT_HEADER_BYTES)
        put_u32(bytes + 60, (uint32_t)crc32(0, bytes, 60));
    if ((options & 2) && n >= FM_CHECKPOINT_HEADER_BYTES + 4)
        put_u32(bytes + n - 4, (uint32_t)crc32(0, bytes, (uInt)(n - 4)));
    // The kind and rank the file's header names, or ones that load nothing.
    fm_model_kind kind = FM_MODEL_INIT;
    int rank = 1;
    if (n >= FM_CHECKPOINT_HEADER_BYTES) {
        const uint32_t k = get_u32(bytes + 16), r = get_u32(bytes + 24);
        if (k == FM_MODEL_ACCEL) kind = FM_MODEL_ACCEL;
        if (r >= 1 && r <= FM_CHECKPOINT_MAX_DIM) rank = (int)r;
    }
    if (options & 8) kind = kind == FM_MODEL_INIT ? FM_MODEL_ACCEL : FM_MODEL_INIT;
    const char *path = fuzz_file(bytes, n);
    free(bytes);

    char msg[FM_MSG_LEN] = "";
    if (options & 4) {
        fm_learned model;
        const int status = fm_learned_load(&model, path, kind, rank, msg);
        if (status != FM_OK) {
            fuzz_check_failure(status, msg, 1);
        } else {
            FUZZ_ASSERT(model.kind == kind && model.weights.config.rank == rank, "loaded an %s model of rank %d",
                        fm_model_kind_name(model.kind), model.weights.config.rank);
            check_params(model.params, &model.weights.config, false);
        }
        fm_learned_free(&model);
        return 0;
    }
    const fm_checkpoint_expect expect = {.kind = kind, .rank = rank, .training = options & 16};
    fm_checkpoint_header header;
    fm_params *params = NULL;
    fm_train_state state;
    const int status = fm_checkpoint_read(path, &header, &params, (options & 32) ? &state : NULL,
                                          (options & (8 | 16)) ? &expect : NULL, msg);
    if (status != FM_OK) {
        fuzz_check_failure(status, msg, params == NULL);
        return 0;
    }
    const bool training = header.flags & FM_CHECKPOINT_TRAINING;
    FUZZ_ASSERT(header.version == FM_CHECKPOINT_VERSION && !(header.flags & ~FM_CHECKPOINT_TRAINING),
                "version %u, flags %u", header.version, header.flags);
    FUZZ_ASSERT(header.config.inputs == fm_model_kind_inputs(header.kind, header.config.rank),
                "an %s model of rank %d reads %d inputs", fm_model_kind_name(header.kind), header.config.rank,
                header.config.inputs);
    FUZZ_ASSERT(!(options & (8 | 16)) || (header.kind == kind && header.config.rank == rank),
                "the expectation was not kept");
    FUZZ_ASSERT(!(options & 16) || training, "expected a training state, loaded none");
    check_params(params, &header.config, training);
    if (options & 32)
        FUZZ_ASSERT(isfinite(state.learning_rate) && state.learning_rate >= 0 && state.best_validation_rmse >= 0,
                    "state: learning rate %g, best RMSE %g", state.learning_rate, state.best_validation_rmse);
    fm_params_free(&params);
    return 0;
}
