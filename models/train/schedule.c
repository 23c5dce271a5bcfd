// The learning-rate schedule and the acceleration curriculum (§7).
#include "schedule.h"

#include <math.h>

double fm_schedule_rate(double initial, int epoch, int64_t step_in_epoch, int64_t steps_per_epoch)
{
    if (!(initial >= 0) || !isfinite(initial) || epoch < 0 || steps_per_epoch < 1 || step_in_epoch < 0 ||
        step_in_epoch > steps_per_epoch)
        return NAN;
    const double peak = initial * pow(FM_SCHEDULE_DECAY, epoch);
    const double phase = (double)step_in_epoch / (double)steps_per_epoch;   // in [0, 1]
    return peak * 0.5 * (1 + cos(M_PI * phase));
}

int fm_schedule_accel_steps(int epoch)
{
    if (epoch < 0) return 0;
    const int steps = 1 + epoch / 2;
    return steps < FM_SCHEDULE_MAX_ACCEL ? steps : FM_SCHEDULE_MAX_ACCEL;
}
