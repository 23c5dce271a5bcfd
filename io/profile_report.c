// The per-op profile as a table (for a terminal) and as JSON (for tools),
// both slowest op first. The JSON file is written under a temporary name and
// renamed only when complete.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "atomic_file.h"
#include "profile.h"
#include "status.h"

// The `count` entries ordered by time, slowest first (insertion sort: the
// table holds a few dozen ops).
static void sort_by_time(const fm_profile_entry **order, const fm_profile_entry *entries, int count)
{
    for (int e = 0; e < count; e++) {
        int at = e;
        while (at > 0 && order[at - 1]->seconds < entries[e].seconds) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = &entries[e];
    }
}

// The environment that changes what an op costs: libgomp's wait between
// regions, OpenBLAS's threads, the C library's heap (the `factormer` program
// sets each the user has not: cli/main.c).
static const char *const settings[] = { "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OPENBLAS_NUM_THREADS",
                                        "GLIBC_TUNABLES" };
#define SETTINGS ((int)(sizeof settings / sizeof *settings))

// x / y, NaN where it means nothing (no time, no wall time).
static double ratio(double x, double y) { return y > 0 ? x / y : NAN; }

// A rate in a column of `width`, "-" where there is none (no work counted,
// no time measured).
static void print_rate(FILE *out, int width, double amount, double rate)
{
    if (amount > 0 && isfinite(rate)) fprintf(out, " %*.2f", width, rate);
    else fprintf(out, " %*s", width, "-");
}

static void print_share(FILE *out, double share)
{
    if (isfinite(share)) fprintf(out, " %7.1f%%", 100 * share);
    else fprintf(out, " %8s", "-");
}

static void print_row(FILE *out, const char *name, int64_t calls, double seconds, double wall,
                      double flops, double bytes)
{
    fprintf(out, "%-32s %9lld %10.4f", name, (long long)calls, seconds);
    print_share(out, ratio(seconds, wall));
    print_rate(out, 10, flops, ratio(flops, seconds) / 1e9);
    print_rate(out, 9, bytes, ratio(bytes, seconds) / 1e9);
    fputc('\n', out);
}

void fm_profile_print(FILE *out, double wall_seconds)
{
    const fm_profile_entry *entries;
    const int count = fm_profile_entries(&entries);
    const fm_profile_entry *order[count + 1];
    sort_by_time(order, entries, count);
    int64_t calls = 0;
    double seconds = 0, flops = 0, bytes = 0;
    fprintf(out, "%-32s %9s %10s %8s %10s %9s\n", "op", "calls", "seconds", "share", "GFLOP/s", "GB/s");
    for (int e = 0; e < count; e++) {
        const fm_profile_entry *p = order[e];
        print_row(out, p->name, p->calls, p->seconds, wall_seconds, p->flops, p->bytes);
        calls += p->calls;
        seconds += p->seconds;
        flops += p->flops;
        bytes += p->bytes;
    }
    print_row(out, "total (ops)", calls, seconds, wall_seconds, flops, bytes);
    fprintf(out, "%-32s %9s %10.4f", "outside ops", "", wall_seconds - seconds);
    print_share(out, ratio(wall_seconds - seconds, wall_seconds));
    fprintf(out, "\n%-32s %9s %10.4f  (%d threads)\n", "wall", "", wall_seconds, fm_get_threads());
    fprintf(out, "settings:");
    for (int v = 0; v < SETTINGS; v++) {
        const char *value = getenv(settings[v]);
        fprintf(out, " %s=%s", settings[v], value ? value : "(unset)");
    }
    fputc('\n', out);
}

// A JSON number (`format` %.9g, or %.0f for counts, which %.9g would round);
// null for NaN and infinities, which JSON cannot hold.
static void json_number(FILE *f, const char *key, const char *format, double x, const char *after)
{
    fprintf(f, "\"%s\": ", key);
    if (isfinite(x)) fprintf(f, format, x);
    else fprintf(f, "null");
    fputs(after, f);
}

// A JSON string (op names are literals, but escape anyway; an environment
// variable's value is any bytes: those outside ASCII are written as the
// code points of the same numbers, so the file is always valid JSON).
static void json_name(FILE *f, const char *name)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

int fm_profile_write_json(const char *path, double wall_seconds, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_profile_write_json: path must be a non-empty string");
    const fm_profile_entry *entries;
    const int count = fm_profile_entries(&entries);
    const fm_profile_entry *order[count + 1];
    sort_by_time(order, entries, count);
    FM_TRY(fm_atomic_open(&file, path, msg));
    FILE *f = file.f;
    fprintf(f, "{\n  ");
    json_number(f, "wall_seconds", "%.9g", wall_seconds, ",\n");
    fprintf(f, "  \"threads\": %d,\n  \"settings\": {", fm_get_threads());
    for (int v = 0; v < SETTINGS; v++) {
        const char *value = getenv(settings[v]);
        fprintf(f, "%s\"%s\": ", v ? ", " : "", settings[v]);
        if (value) json_name(f, value);
        else fputs("null", f);
    }
    fprintf(f, "},\n  \"ops\": [");
    for (int e = 0; e < count; e++) {
        const fm_profile_entry *p = order[e];
        fprintf(f, "%s\n    {\"name\": ", e ? "," : "");
        json_name(f, p->name);
        fprintf(f, ", \"calls\": %lld, ", (long long)p->calls);
        json_number(f, "seconds", "%.9g", p->seconds, ", ");
        json_number(f, "share", "%.9g", ratio(p->seconds, wall_seconds), ", ");
        json_number(f, "flops", "%.0f", p->flops, ", ");
        json_number(f, "bytes", "%.0f", p->bytes, ", ");
        json_number(f, "gflops", "%.9g", ratio(p->flops, p->seconds) / 1e9, ", ");
        json_number(f, "gbs", "%.9g", ratio(p->bytes, p->seconds) / 1e9, "}");
    }
    fprintf(f, "%s]\n}\n", count ? "\n  " : "");
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
