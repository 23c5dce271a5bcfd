#include "epochs_fixtures.h"

#include <criterion/criterion.h>

#include "helpers.h"

void fm_test_expect_wreck_survived(const fm_epochs_result *r, int64_t epochs, int64_t steps, const char *out)
{
    cr_expect_eq(r->epochs_done, epochs);
    cr_expect_eq(r->steps, steps);
    cr_expect(r->skipped > 0 && r->skipped < r->steps, "%lld of %lld steps skipped", (long long)r->skipped,
              (long long)r->steps);
    cr_expect(fm_test_exists(out), "no model written");
}
