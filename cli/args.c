#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "factormer.h"

bool fm_arg_int(const char *option, const char *text, long min, long max, long *value)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "factormer: %s expects an integer in [%ld, %ld], not '%s'\n", option, min, max, text);
        return false;
    }
    *value = v;
    return true;
}

// the --help texts of factorize, info and eval say "at most 256"
_Static_assert(FM_MAX_RANK == 256, "update the --rank lines of the --help texts");

bool fm_arg_rank(const char *option, const char *text, long *value)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > FM_MAX_RANK) {
        fprintf(stderr,
                "factormer: %s expects a whole number from 1 to %d, not '%s' (%d is the largest rank: the incomplete "
                "kind solves a rank x rank system per row and per column on each thread's stack)\n",
                option, FM_MAX_RANK, text, FM_MAX_RANK);
        return false;
    }
    *value = v;
    return true;
}

bool fm_arg_double(const char *option, const char *text, double min, double max, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "factormer: %s expects a number in [%g, %g], not '%s'\n", option, min, max, text);
        return false;
    }
    *value = v;
    return true;
}

bool fm_arg_size(const char *option, const char *text, uint64_t *bytes)
{
    static const char units[] = "KMGTPE";
    char *end;
    errno = 0;
    const double number = strtod(text, &end);
    double scale = 1;
    if (end != text && *end) {
        const char *unit = strchr(units, *end >= 'a' && *end <= 'z' ? *end - 'a' + 'A' : *end);
        if (unit && *unit) {
            scale = ldexp(1, 10 * (int)(unit - units + 1));
            end++;
            if (*end == 'i') end++;
            if (*end == 'B') end++;
        } else if (*end == 'B' && !end[1]) {
            end++;
        }
    }
    const double value = number * scale;
    if (errno || end == text || *end || !(value >= 1) || value >= 0x1p64 || text[0] == '-') {
        fprintf(stderr, "factormer: %s expects a size in bytes such as 512M, 4G or 1.5T (binary units), not '%s'\n",
                option, text);
        return false;
    }
    *bytes = (uint64_t)value;
    return true;
}

const char *fm_arg_shown(const char *text)
{
    static char slots[8][4 * 4096 + 1];
    static int next = 0;
    char *out = slots[next++ % 8];
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c && n + 4 < sizeof slots[0]; c++) {
        if (*c < 0x20 || *c == 0x7f) n += (size_t)snprintf(out + n, sizeof slots[0] - n, "\\x%02x", *c);
        else out[n++] = (char)*c;
    }
    out[n] = 0;
    return out;
}

const char *fm_arg_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "factormer: %s expects a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

bool fm_arg_data(const char **data, const char *arg)
{
    if (*data) {
        fprintf(stderr, "factormer: more than one data file ('%s', '%s')\n", *data, arg);
        return false;
    }
    *data = arg;
    return true;
}

void fm_arg_data_name(char *out, size_t size, const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(out, size, "%s", basename(copy));
    static const char *const endings[] = { ".gz", ".mtx" };
    for (int e = 0; e < 2; e++) {
        const size_t n = strlen(out), m = strlen(endings[e]);
        if (n > m && !strcmp(out + n - m, endings[e])) out[n - m] = 0;
    }
}
