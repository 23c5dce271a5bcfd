// Fixtures of the preconditioner trainers' suites (tests/test_neuralif.c,
// tests/test_learned_lu_train.c), both run by models/train/epochs.
#ifndef FM_TEST_EPOCHS_FIXTURES_H
#define FM_TEST_EPOCHS_FIXTURES_H

#include <stdint.h>

#include "epochs.h"

// What a run at a rate that wrecks the model leaves: every epoch and step
// done, some steps skipped but not all, and a model written to `out`.
void fm_test_expect_wreck_survived(const fm_epochs_result *r, int64_t epochs, int64_t steps, const char *out);

#endif
