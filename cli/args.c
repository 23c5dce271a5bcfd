#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

const char *fm_arg_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "factormer: %s expects a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}
