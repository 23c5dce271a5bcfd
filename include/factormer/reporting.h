// factormer/reporting.h: the convergence trace and JSON reports, and the
// per-op profile.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_REPORTING_H
#define FACTORMER_REPORTING_H

#include <stdbool.h>
#include <stdio.h>

#include "nmf.h"

#ifdef __cplusplus
extern "C" {
#endif

//------------------------------------------------------------------------------
// Reports (io/report): outputs go to a temporary name renamed on success
//------------------------------------------------------------------------------

// iteration,seconds,rmse,holdout_rmse,objective,model: `model` is the file of
// the network whose output the row is (the initialization model on row 0 of
// a learned initialization, the acceleration model on an accelerated row),
// else empty. Fields with a comma or a quote are quoted (RFC 4180). Each line
// of `comment` (may be NULL) comes first as a line starting with "# "; a
// reader skips lines that start with '#'.
int fm_trace_write_csv(const char *path, const fm_solver_result *r, const char *comment, char *msg);
// A JSON object with the given keys and preformatted JSON values.
int fm_json_write(const char *path, const char *const *keys, const char *const *values, int count,
                  char *msg);

//------------------------------------------------------------------------------
// Per-op profile (engine/profile, io/profile_report)
//------------------------------------------------------------------------------

// While on, every kernel adds its calls, wall time, floating-point operations
// and bytes moved to a table keyed by op name ("products.gather"). Off by
// default; off, a kernel pays one branch. Enabling does not clear the table.
void fm_profile_enable(bool on);
void fm_profile_reset(void);
// The table, slowest op first: op, calls, seconds, share of `wall_seconds`
// (the run's wall time), GFLOP/s, GB/s; then the total over ops, the time
// outside them, the wall time, and the environment variables that change
// the costs (OMP_WAIT_POLICY, GOMP_SPINCOUNT, OPENBLAS_NUM_THREADS,
// GLIBC_TUNABLES).
void fm_profile_print(FILE *out, double wall_seconds);
// The same as one JSON object: wall_seconds, threads, `settings` (those
// variables: a string each, null when unset), and `ops`, an array of
// {name, calls, seconds, share, flops, bytes, gflops, gbs}, slowest first.
// Written to a temporary name renamed on success.
int fm_profile_write_json(const char *path, double wall_seconds, char *msg);

#ifdef __cplusplus
}
#endif
#endif
