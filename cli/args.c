#include "args.h"
#include "comm.h"

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

bool fm_arg_svd_power(const char *option, const char *text, int *power)
{
    if (!strcmp(text, "auto")) {
        *power = FM_SVD_POWER_AUTO;
        return true;
    }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > FM_MAX_SVD_POWER) {
        fprintf(stderr, "factormer: %s expects auto or a whole number from 0 to %d, not '%s'\n", option,
                FM_MAX_SVD_POWER, text);
        return false;
    }
    *power = (int)v;
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

// The values split off by fm_arg_split_inline and the options they came with;
// the split argv and the option names cut from it, freed at exit.
static char **split_argv, **inline_names;
static const char **inline_values, **inline_options;
static int inline_count;

static void free_split(void)
{
    for (int i = 0; i < inline_count; i++) free(inline_names[i]);
    free(inline_names);
    free(split_argv);
    free(inline_values);
    free(inline_options);
}

bool fm_arg_split_inline(int *argc, char ***argv)
{
    const int given = *argc;
    char **split = split_argv = malloc(sizeof *split * (2 * (size_t)given + 1));
    inline_values = malloc(sizeof *inline_values * ((size_t)given + 1));
    inline_options = malloc(sizeof *inline_options * ((size_t)given + 1));
    inline_names = malloc(sizeof *inline_names * ((size_t)given + 1));
    atexit(free_split);
    if (!split || !inline_values || !inline_options || !inline_names) return false;
    int count = 0;
    for (int i = 0; i < given; i++) {
        char *a = (*argv)[i], *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
        if (i == 0 || !eq || eq == a + 2) {
            split[count++] = a;
            continue;
        }
        const size_t len = (size_t)(eq - a);
        char *name = malloc(len + 1);
        if (!name) return false;
        memcpy(name, a, len);
        name[len] = 0;
        split[count++] = name;
        split[count++] = eq + 1;
        inline_names[inline_count] = name;
        inline_options[inline_count] = a;
        inline_values[inline_count++] = eq + 1;
    }
    split[count] = NULL;
    *argc = count;
    *argv = split;
    return true;
}

bool fm_arg_positional(const char *arg)
{
    for (int i = 0; i < inline_count; i++) {
        if (arg != inline_values[i]) continue;
        const char *option = inline_options[i];
        fprintf(stderr, "factormer: %.*s takes no value ('%s')\n", (int)(inline_values[i] - 1 - option), option,
                fm_arg_shown(option));
        return false;
    }
    return true;
}

bool fm_arg_data(const char **data, const char *arg)
{
    if (!fm_arg_positional(arg)) return false;
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
    // ".gz", then one of the data formats' endings (not ".data" or ".txt")
    static const char *const endings[] = { ".gz", ".mtx", ".csv", ".tsv" };
    for (int e = 0; e < 4; e++) {
        const size_t n = strlen(out), m = strlen(endings[e]);
        if (n > m && !strcmp(out + n - m, endings[e])) {
            out[n - m] = 0;
            if (e > 0) break;
        }
    }
}

static int command_argc;
static char **command_argv;

static void command_free(void)
{
    free(command_argv);
    command_argv = NULL;
}

void fm_arg_command_save(int argc, char **argv)
{
    command_argv = malloc(sizeof *command_argv * (size_t)(argc + 1));
    if (!command_argv) return;
    atexit(command_free);
    memcpy(command_argv, argv, sizeof *command_argv * (size_t)(argc + 1));
    command_argc = argc;
}

// A growing string; `failed` once an allocation failed.
typedef struct text {
    char *data;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (t->len + n + 1 > cap) cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = 0;
}

static void puts_text(text *t, const char *s) { put(t, s, strlen(s)); }

static char *finish(text *t)
{
    if (!t->failed && !t->data) put(t, "", 0);
    if (t->failed) {
        free(t->data);
        return NULL;
    }
    return t->data;
}

// One argument for sh: bare when it holds only characters the shell takes
// as they are; in $'...' when it holds a control character; else in '...'.
static void shell_word(text *t, const char *word)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
    bool control = false;
    for (const unsigned char *c = (const unsigned char *)word; *c; c++) control |= *c < 0x20 || *c == 0x7f;
    if (*word && strspn(word, plain) == strlen(word)) {
        puts_text(t, word);
    } else if (control) {
        puts_text(t, "$'");
        for (const unsigned char *c = (const unsigned char *)word; *c; c++) {
            char escaped[8];
            if (*c == '\\' || *c == '\'') snprintf(escaped, sizeof escaped, "\\%c", *c);
            else if (*c == '\n') snprintf(escaped, sizeof escaped, "\\n");
            else if (*c == '\t') snprintf(escaped, sizeof escaped, "\\t");
            else if (*c < 0x20 || *c == 0x7f) snprintf(escaped, sizeof escaped, "\\x%02x", *c);
            else snprintf(escaped, sizeof escaped, "%c", *c);
            puts_text(t, escaped);
        }
        puts_text(t, "'");
    } else {
        puts_text(t, "'");
        for (const char *c = word; *c; c++) {
            if (*c == '\'') puts_text(t, "'\\''");
            else put(t, c, 1);
        }
        puts_text(t, "'");
    }
}

char *fm_arg_command_shell(void)
{
    text t = { 0 };
    for (int i = 0; i < command_argc; i++) {
        if (i) puts_text(&t, " ");
        shell_word(&t, command_argv[i]);
    }
    return finish(&t);
}

char *fm_arg_command_json(void)
{
    text t = { 0 };
    puts_text(&t, "[");
    for (int i = 0; i < command_argc; i++) {
        puts_text(&t, i ? ", \"" : "\"");
        for (const unsigned char *c = (const unsigned char *)command_argv[i]; *c; c++) {
            char escaped[8];
            if (*c == '"' || *c == '\\') snprintf(escaped, sizeof escaped, "\\%c", *c);
            else if (*c < 0x20) snprintf(escaped, sizeof escaped, "\\u%04x", *c);
            else snprintf(escaped, sizeof escaped, "%c", *c);
            puts_text(&t, escaped);
        }
        puts_text(&t, "\"");
    }
    puts_text(&t, "]");
    return finish(&t);
}

void fm_arg_json_string(char *out, size_t size, const char *text)
{
    size_t n = 0;
    if (size < 3) return;
    out[n++] = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c && n + 8 < size; c++) {
        if (*c == '"' || *c == '\\') { out[n++] = '\\'; out[n++] = (char)*c; }
        else if (*c < 0x20) n += snprintf(out + n, size - n, "\\u%04x", *c);
        else out[n++] = (char)*c;
    }
    out[n++] = '"';
    out[n] = 0;
}

void fm_arg_json_number(char *out, size_t size, double x)
{
    if (isfinite(x)) snprintf(out, size, "%.9g", x);
    else snprintf(out, size, "null");
}

bool fm_arg_launched_alone(const char *each)
{
    const int launched = fm_comm_launched();
    if (launched <= 1) return false;
    fprintf(stderr, "factormer: this is one of %d processes started by mpirun (or another launcher), without "
                    "--distributed: each would %s and write the same outputs. Add --distributed, or run factormer "
                    "without mpirun\n", launched, each);
    return true;
}
