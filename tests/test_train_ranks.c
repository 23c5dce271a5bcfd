// The ranks of the matrices a model of any rank (§5.1-§5.2) trains and is
// chosen on (models/nmf/train.c: fm_train_rank, fm_train_valid_rank).
#include <criterion/criterion.h>

#include "helpers.h"
#include "train.h"

TestSuite(train_ranks, .init = fm_test_setup);

// A model of any rank trains each matrix at its own rank: a keyed draw from
// [rank, max_rank], the same for an index whenever it is asked, covering the
// range; without max_rank, the rank itself.
Test(train_ranks, one_per_training_matrix)
{
    fm_train_options o;
    fm_train_options_default(&o, FM_MODEL_INIT);
    o.any_rank = true;
    o.rank = 3;
    cr_expect_eq(fm_train_rank(&o, 17), 3);
    o.max_rank = 7;
    int seen[8] = {0};
    for (int64_t i = 0; i < 500; i++) {
        const int r = fm_train_rank(&o, i);
        cr_assert(r >= 3 && r <= 7, "matrix %lld: rank %d", (long long)i, r);
        cr_assert_eq(fm_train_rank(&o, i), r, "matrix %lld: another rank when asked again", (long long)i);
        seen[r]++;
    }
    for (int r = 3; r <= 7; r++) cr_expect_gt(seen[r], 50, "rank %d drawn %d times in 500", r, seen[r]);
    o.seed = 43;
    int same = 0;
    for (int64_t i = 0; i < 500; i++) {
        o.seed = 42;
        const int a = fm_train_rank(&o, i);
        o.seed = 43;
        same += a == fm_train_rank(&o, i);
    }
    cr_expect_lt(same, 200, "another seed drew the same ranks %d times in 500", same);
}

// The validation sets take every rank of [rank, max_rank] in turn, so that
// the epoch kept is the best over the ranks trained at, not at `rank` alone;
// a model of one rank is validated at its rank.
Test(train_ranks, every_rank_in_turn_for_validation)
{
    fm_train_options o;
    fm_train_options_default(&o, FM_MODEL_INIT);
    o.rank = 4;
    for (int64_t i = 0; i < 20; i++) cr_expect_eq(fm_train_valid_rank(&o, i), 4);
    o.any_rank = true;
    o.max_rank = 9;
    int seen[10] = {0};
    for (int64_t i = 0; i < 60; i++) {
        const int r = fm_train_valid_rank(&o, i);
        cr_assert(r >= 4 && r <= 9, "matrix %lld: rank %d", (long long)i, r);
        seen[r]++;
    }
    for (int r = 4; r <= 9; r++) cr_expect_eq(seen[r], 10, "rank %d: %d of 60 matrices", r, seen[r]);
}
