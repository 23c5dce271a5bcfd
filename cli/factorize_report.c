// factormer factorize's summary: PREFIX.summary.json and the lines on the
// terminal, from the run's options and result.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "factorize.h"
#include "output.h"
#include "signals.h"

// ", safeguard: 2 outputs refused, 5 components kept" or ", no safeguard"
static const char *rejected_note(int rejected, int repaired, bool safeguard)
{
    static char note[128];
    if (!safeguard) return ", no safeguard";
    snprintf(note, sizeof note, ", safeguard: %d output%s refused, %d zeroed component%s kept", rejected,
             rejected == 1 ? "" : "s", repaired, repaired == 1 ? "" : "s");
    return note;
}

// What a warm start carried (--init-from): "none" (the factors alone),
// "admm" (the ADMM phase's duals) or "exact" (the exact phase and its
// extrapolation's state).
static const char *init_state_name(const fm_factorize_report *report)
{
    const fm_factorize_state *s = report->init_state;
    if (!report->init_from || !s || !s->carried) return "none";
    return s->state.exact ? "exact" : "admm";
}

static const char *init_state_words(const fm_factorize_report *report)
{
    const char *name = init_state_name(report);
    if (!strcmp(name, "admm")) return "its ADMM duals carried";
    if (!strcmp(name, "exact"))
        return report->init_state->state.extrapolating ? "in its exact phase, the extrapolation carried"
                                                       : "in its exact phase";
    return "the factors alone: no saved state";
}

int fm_factorize_summary_write(const fm_factorize_report *report, const char *path, char *msg)
{
    const fm_solver_options opts = *report->opts;
    const fm_solver_result *r = report->result;
    const fm_graph_stats st = *report->stats;
    const fm_triplets *held = report->held;
    const char *source = report->source, *command_json = report->command_json, *stop_reason = report->stop_reason;
    const int interrupted = report->interrupted;
    const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
    const double rms_x = sqrt(st.sumsq / report->omega);
    const int iterations = r->trace_len - 1;
    const double per_iteration = iterations > 0 ? (last->seconds - r->init_seconds) / iterations : 0;
    char v[64][4400];
    const char *keys[64];
    int n = 0, command_key;
#define KEY(name, ...) (keys[n] = name, snprintf(v[n], sizeof v[n], __VA_ARGS__), n++)
#define NUM(name, x) (keys[n] = name, fm_arg_json_number(v[n], sizeof v[n], x), n++)
    KEY("version", "\"%s\"", fm_version());
    keys[command_key = n++] = "command";
    keys[n] = "data";
    fm_arg_json_string(v[n++], sizeof v[0], source);
    KEY("kind", "\"%s\"", fm_kind_name(st.kind));
    KEY("rows", "%lld", (long long)st.rows);
    KEY("cols", "%lld", (long long)st.cols);
    KEY("entries", "%lld", (long long)st.entries);
    KEY("holdout_entries", "%lld", (long long)(held ? held->count : 0));
    KEY("rank", "%d", opts.rank);
    KEY("init", "\"%s\"", report->init_from ? "warm" : fm_init_name(opts.init));
    keys[n] = "init_from";   // --init-from: the prefix of the run continued, and what of its state came along
    if (report->init_from) fm_arg_json_string(v[n++], sizeof v[0], report->init_from);
    else snprintf(v[n++], sizeof v[0], "null");
    KEY("init_state", "\"%s\"", init_state_name(report));
    if (r->svd_power >= 0) KEY("svd_power", "%d", r->svd_power);   // the start's power iterations
    else KEY("svd_power", "null");
    KEY("loss", "\"%s\"", fm_loss_name(opts.loss));
    keys[n] = "init_model";
    if (r->init_model) fm_arg_json_string(v[n++], sizeof v[0], r->init_model);
    else snprintf(v[n++], sizeof v[0], "null");
    KEY("accelerate", "%s", opts.accelerate ? "true" : "false");
    keys[n] = "accel_model";
    if (r->accel_model) fm_arg_json_string(v[n++], sizeof v[0], r->accel_model);
    else snprintf(v[n++], sizeof v[0], "null");
    KEY("accel_every", "%d", opts.accel_every);
    KEY("accel_steps", "%d", r->accel_steps);
    KEY("accel_rejected", "%d", r->accel_rejected);
    KEY("accel_repaired", "%d", r->accel_repaired);
    KEY("accel_given_up", "%d", r->accel_given_up);
    KEY("accel_too_costly", "%s", r->accel_too_costly ? "true" : "false");
    KEY("accel_pass_iterations", "%.6g", r->accel_pass_iterations);
    KEY("accel_allowed_iterations", "%.6g", r->accel_allowed_iterations);
    KEY("accel_safeguard", "%s", opts.accel_safeguard ? "true" : "false");
    // what the networks read: a pooled model's own samples where no --sampler was given, which serve the ranks
    // up to its trained_rank (0: no pooled model)
    KEY("sampling",
        "{\"sampler\": \"%s\", \"fanout\": %lld, \"zero_ratio\": %g, \"resample\": \"%s\", \"trained_rank\": %d}",
        fm_sampler_name(r->sampler), (long long)r->fanout, opts.zero_ratio, opts.resample_once ? "once" : "per-layer",
        r->trained_rank);
    KEY("batch_targets", "%lld", (long long)opts.batch_targets);
    KEY("kernels", "\"%s\"", opts.kernels == FM_KERNELS_GRAPHBLAS ? "graphblas" : "fused");
    KEY("iterations", "%d", iterations);
    KEY("iters_requested", "%d", opts.iters);
    KEY("inner", "%d", opts.inner);
    KEY("finish", "{\"phase\": \"%s\", \"below\": %g, \"sweeps\": %d, \"extrapolation\": %s, \"from_iteration\": %d, "
        "\"refused\": %d}", fm_finish_name(opts.finish),
        fm_finish_below(&opts, st.kind == FM_KIND_INCOMPLETE), opts.finish_sweeps > 0 ? opts.finish_sweeps : 1,
        opts.finish_plain ? "false" : "true", r->finish_iteration, r->finish_refused);
    NUM("tol", opts.tol);
    if (opts.time_limit > 0) NUM("time_limit", opts.time_limit);
    else KEY("time_limit", "null");
    KEY("seed", "%llu", (unsigned long long)opts.seed);
    KEY("stop_reason", "\"%s\"", stop_reason);
    if (interrupted) KEY("signal", "\"%s\"", fm_signal_name(interrupted));
    else KEY("signal", "null");
    NUM("rmse", last->rmse);
    NUM("relative_rmse", rms_x > 0 ? last->rmse / rms_x : NAN);
    NUM("holdout_rmse", last->holdout_rmse);
    KEY("keep", "\"%s\"", opts.keep_best ? "best" : "last");
    KEY("patience", "%d", opts.patience);
    if (r->best_iteration >= 0) KEY("best_iteration", "%d", r->best_iteration);
    else KEY("best_iteration", "null");
    NUM("best_holdout_rmse", r->best_holdout_rmse);
    NUM("objective", last->objective);
    NUM("seconds", last->seconds);
    NUM("init_seconds", r->init_seconds);
    NUM("seconds_per_iteration", per_iteration);
    KEY("threads", "%d", r->threads);
    KEY("cpu", "\"%s\"", fm_cpu_features());
    KEY("distributed", "%s", report->distributed ? report->distributed : "null");
    KEY("penalties", "{\"l1_w\": %g, \"l1_h\": %g, \"l2_w\": %g, \"l2_h\": %g, \"l2_per_entry\": %s}",
        opts.penalty_w.l1, opts.penalty_h.l1, opts.penalty_w.l2, opts.penalty_h.l2,
        opts.penalty_w.l2_per_entry ? "true" : "false");
    {
        const char *values[64];
        for (int i = 0; i < n; i++) values[i] = v[i];
        values[command_key] = command_json;
        return fm_json_write(path, keys, values, n, msg);
    }
}

void fm_factorize_summary_print(const fm_factorize_report *report)
{
    const fm_solver_options opts = *report->opts;
    const fm_solver_result *r = report->result;
    const fm_graph_stats st = *report->stats;
    const fm_triplets *held = report->held;
    const char *source = report->source, *stop_reason = report->stop_reason;
    const bool learned = report->learned;
    const fm_output_set *set = report->set;
    const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
    const double rms_x = sqrt(st.sumsq / report->omega);
    const int iterations = r->trace_len - 1;
    const double per_iteration = iterations > 0 ? (last->seconds - r->init_seconds) / iterations : 0;
        printf("factorized %s\n", fm_arg_shown(source));
        printf("  shape        %lld x %lld, %s, %lld stored entries\n", (long long)st.rows, (long long)st.cols,
               fm_kind_name(st.kind), (long long)st.entries);
        if (report->init_from)
            printf("  rank         %d from %s (warm start, %s)\n", opts.rank, fm_arg_shown(report->init_from),
                   init_state_words(report));
        else
        printf("  rank         %d from %s%s%s%s\n", opts.rank, fm_init_name(opts.init), r->init_model ? " (" : "",
               r->init_model ? fm_arg_shown(r->init_model) : "", r->init_model ? ")" : "");
        if (opts.accelerate)
            printf("  accelerated  %d step%s, every %d iterations (%s)%s\n", r->accel_steps,
                   r->accel_steps == 1 ? "" : "s", opts.accel_every, fm_arg_shown(r->accel_model),
                   rejected_note(r->accel_rejected, r->accel_repaired, opts.accel_safeguard));
        if (opts.accelerate && r->accel_too_costly && r->accel_steps == 0)
            printf("  accelerator  not called: a pass is the work of %.0f ADMM iterations, its share of "
                   "--accel-budget %g is %.3g (--accel-budget none or --keep-accelerating calls it)\n",
                   r->accel_pass_iterations, opts.accel_budget, r->accel_allowed_iterations);
        else if (opts.accelerate && r->accel_given_up > 0 && r->accel_too_costly)
            printf("  accelerator  given up after iteration %d: a pass is the work of %.0f ADMM iterations, its "
                   "share of --accel-budget %g is %.3g (--accel-budget none or --keep-accelerating takes every "
                   "step)\n", r->accel_given_up, r->accel_pass_iterations, opts.accel_budget,
                   r->accel_allowed_iterations);
        else if (opts.accelerate && r->accel_given_up > 0)
            printf("  accelerator  given up after iteration %d (its output refused or no longer paying; "
                   "--keep-accelerating takes every step)\n", r->accel_given_up);
        if (r->sampler != FM_SAMPLER_FULL && (learned || opts.accelerate))
        {
            char zeros[64] = "";
            if (r->sampler == FM_SAMPLER_STRATIFIED) snprintf(zeros, sizeof zeros, ", zero ratio %g", opts.zero_ratio);
            char own[96] = "";
            if (!opts.sampler_given)
                snprintf(own, sizeof own, " (the pooled model's own, trained to rank %d; --sampler full reads every edge)",
                         r->trained_rank);
            printf("  sampled      %s, fanout %lld%s, drawn %s%s\n", fm_sampler_name(r->sampler), (long long)r->fanout,
                   zeros, opts.resample_once ? "once per network call" : "per layer", own);
        }
        if (opts.loss != FM_LOSS_LS)
            printf("  loss         %s (objective %.6g: the divergence plus any penalties)\n", fm_loss_name(opts.loss),
                   last->objective);
        printf("  iterations   %d (stopped: %s)\n", iterations, stop_reason);
        printf("  rmse         %.6g (relative %.3g)\n", last->rmse, rms_x > 0 ? last->rmse / rms_x : NAN);
        if (held) printf("  holdout rmse %.6g over %lld entries\n", last->holdout_rmse, (long long)held->count);
        if (held && r->best_iteration >= 0)
            printf("  best         holdout rmse %.6g at iteration %d (rmse %.6g)%s\n", r->best_holdout_rmse,
                   r->best_iteration, r->trace[r->best_iteration].rmse,
                   opts.keep_best ? ": its factors written" : "");
        printf("  time         %.3f s (init %.3f s, %.3f ms per iteration, %d thread%s)\n", last->seconds,
               r->init_seconds, 1e3 * per_iteration, r->threads, r->threads == 1 ? "" : "s");
        printf("  wrote        %s %s %s %s\n", fm_arg_shown(fm_output_set_final(set, 0)),
               fm_arg_shown(fm_output_set_final(set, 1)), fm_arg_shown(fm_output_set_final(set, 2)),
               fm_arg_shown(fm_output_set_final(set, 3)));
        if (report->state_slot >= 0)   // --save-state
            printf("               %s %s\n", fm_arg_shown(fm_output_set_final(set, report->state_slot)),
                   fm_arg_shown(fm_output_set_final(set, report->state_slot + 1)));
    }
