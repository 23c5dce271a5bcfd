// The training schedules of §7: the learning rate (cosine annealing with a
// warm restart at every epoch, the peak decayed by 0.9 per epoch) and the
// acceleration curriculum (how many accelerator steps T are unrolled).
#ifndef FM_SCHEDULE_H
#define FM_SCHEDULE_H

#include <stdint.h>

#define FM_SCHEDULE_DECAY 0.9     // the peak rate is multiplied by this after every epoch
#define FM_SCHEDULE_MAX_ACCEL 5   // the curriculum's last T

// The learning rate for step `step_in_epoch` (0-based) of epoch `epoch`
// (0-based), with `steps_per_epoch` steps per epoch:
//     peak = initial · 0.9^epoch
//     rate = peak · (1 + cos(π · step_in_epoch / steps_per_epoch)) / 2
// The epoch's first step has the peak, the rate falls strictly within the
// epoch, its last step (steps_per_epoch − 1) has peak·(1 − cos(π/S))/2 ≈
// peak·π²/(4 S²), and step_in_epoch = steps_per_epoch (the end of the epoch,
// never a step itself) gives 0. The next epoch restarts at 0.9 × the peak.
// This is PyTorch's CosineAnnealingWarmRestarts with T_0 = steps per epoch
// and eta_min = 0, with the peak decayed per epoch.
// Returns NaN for an invalid argument: initial < 0 or not finite, epoch < 0,
// steps_per_epoch < 1, step_in_epoch outside [0, steps_per_epoch].
double fm_schedule_rate(double initial, int epoch, int64_t step_in_epoch, int64_t steps_per_epoch);

// The acceleration model's unrolled steps T at epoch `epoch` (0-based):
// T = 1 at epoch 0 and one more every two epochs, at most 5:
// 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, ... Returns 0 for epoch < 0.
int fm_schedule_accel_steps(int epoch);

#endif
