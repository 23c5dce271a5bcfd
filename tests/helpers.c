#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"

const char *fm_test_tmpdir(void)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/fm_test_XXXXXX");
    cr_assert_not_null(mkdtemp(path), "mkdtemp failed");
    return path;
}

const char *fm_test_path(const char *dir, const char *name)
{
    static char slots[8][512];
    static int next = 0;
    char *p = slots[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

void fm_test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

bool fm_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int fm_test_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) count++;
    closedir(d);
    return count;
}

char *fm_test_read_text_or_null(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t size = 0, cap = 1 << 16;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (size_t got; (got = fread(text + size, 1, cap - size - 1, f)) > 0;) {
        size += got;
        if (cap - size < 2) cr_assert_not_null(text = realloc(text, cap *= 2));
    }
    fclose(f);
    text[size] = 0;
    return text;
}

char *fm_test_read_text(const char *path)
{
    char *text = fm_test_read_text_or_null(path);
    cr_assert_not_null(text, "cannot read %s: %s", path, strerror(errno));
    return text;
}

void fm_test_expect_words_list(const char *what, const char *text, va_list words)
{
    for (const char *word; (word = va_arg(words, const char *));)
        cr_assert_not_null(strstr(text, word), "%s lacks \"%s\":\n%s", what, word, text);
}

void fm_test_expect_words(const char *what, const char *text, ...)
{
    va_list words;
    va_start(words, text);
    fm_test_expect_words_list(what, text, words);
    va_end(words);
}

void fm_test_setup(void)
{
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_init(msg), FM_OK, "%s", msg);
}

fm_graph *fm_test_graph_dense(const float *values, int64_t rows, int64_t cols, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_dense(&g, rows, cols, values, kind, msg), FM_OK, "%s", msg);
    return g;
}

float *fm_test_planted(int64_t rows, int64_t cols, int rank, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double lambda = sqrt((double)rank);   // E[w·h] = rank / λ² = 1 (§7)
    double *W = malloc(sizeof(double) * rows * rank);
    double *H = malloc(sizeof(double) * rank * cols);
    float *X = malloc(sizeof(float) * rows * cols);
    cr_assert(W && H && X);
    for (int64_t e = 0; e < rows * rank; e++) W[e] = fm_rng_exponential(rng, e, lambda);
    for (int64_t e = 0; e < rank * cols; e++) H[e] = fm_rng_exponential(rng, rows * rank + e, lambda);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double x = 0;
            for (int r = 0; r < rank; r++) x += W[i * rank + r] * H[r * cols + j];
            X[i * cols + j] = (float)x;
        }
    free(W);
    free(H);
    return X;
}

float *fm_test_uniform(int64_t count, uint64_t seed)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    float *v = malloc(sizeof(float) * (count > 0 ? count : 1));
    cr_assert_not_null(v);
    for (int64_t e = 0; e < count; e++) v[e] = (float)fm_rng_uniform(rng, e);
    return v;
}

double fm_test_central_difference(double *x, int64_t e, double step, double (*loss)(void *context),
                                  void *context)
{
    const double keep = x[e];
    x[e] = keep + step;
    const double up = loss(context);
    x[e] = keep - step;
    const double down = loss(context);
    x[e] = keep;
    return (up - down) / (2 * step);
}

double *fm_test_uniform_range(int64_t n, uint64_t seed, double lo, double hi)
{
    fm_rng rng = fm_rng_stream(seed, FM_STREAM_SYNTH);
    double *x = malloc(sizeof(double) * (n > 0 ? n : 1));
    cr_assert_not_null(x);
    for (int64_t e = 0; e < n; e++) x[e] = lo + (hi - lo) * fm_rng_uniform(rng, e);
    return x;
}

double *fm_test_copy(const double *x, int64_t n)
{
    double *y = malloc(sizeof(double) * (n > 0 ? n : 1));
    cr_assert_not_null(y);
    if (n > 0) memcpy(y, x, sizeof(double) * n);
    return y;
}

float *fm_test_to_float(const double *x, int64_t n)
{
    float *y = malloc(sizeof(float) * (n > 0 ? n : 1));
    cr_assert_not_null(y);
    for (int64_t e = 0; e < n; e++) y[e] = (float)x[e];
    return y;
}

double fm_test_relative_error(const double *after, const double *before, const double *expected, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t e = 0; e < n; e++) {
        const double a = after[e] - (before ? before[e] : 0);
        diff += (a - expected[e]) * (a - expected[e]);
        norm += expected[e] * expected[e];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

void fm_test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(fm_test_path(dir, e->d_name));
    closedir(d);
    rmdir(dir);
}

double fm_test_rounded(double x) { return (double)(float)x; }

double fm_test_norm(const double *a, int64_t n)
{
    double sum = 0;
    for (int64_t e = 0; e < n; e++) sum += a[e] * a[e];
    return sqrt(sum);
}

bool fm_test_is_key_bias(const char *name) { return strstr(name, ".key.bias") != NULL; }
