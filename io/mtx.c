// Matrix Market reading and writing.
//
// Reading streams the file through zlib (plain and gzip alike) one line at a
// time and parses every field by hand on the line buffer. Every content error
// names the file, the 1-based line and what was expected there.
//
// Writing goes to PATH.tmp.XXXXXX in the same directory and is renamed onto
// PATH only when every byte has been written, flushed and closed; on any error
// the temporary file is removed and nothing is left behind.
#include "atomic_file.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MTX_LINE_MAX 65536            // characters on one line, newline excluded
#ifndef MTX_GZ_BUFFER                 // (the fuzz build makes it small: tests/fuzz/README.md)
#define MTX_GZ_BUFFER (1 << 20)       // zlib's input buffer
#endif
#define MTX_TOKEN_SHOWN 40            // characters of a bad token quoted in messages

#define MTX_HEADER_FORM \
    "\"%%%%MatrixMarket matrix <coordinate|array> <real|integer|pattern> <general|symmetric>\""

void fm_triplets_free(fm_triplets **t)
{
    if (!t || !*t) return;
    free((*t)->row);
    free((*t)->col);
    free((*t)->val);
    free(*t);
    *t = NULL;
}

//------------------------------------------------------------------------------
// Messages
//------------------------------------------------------------------------------

// "path:line: sentence"
static int mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
{
    if (msg) {
        int n = snprintf(msg, FM_MSG_LEN, "%s:%" PRId64 ": ", path, line);
        if (n >= 0 && n < FM_MSG_LEN) {
            va_list args;
            va_start(args, fmt);
            vsnprintf(msg + n, FM_MSG_LEN - (size_t)n, fmt, args);
            va_end(args);
        }
    }
    return code;
}

// Fail with a message about the reader's current line.
#define LINE_FAIL(code, ...)                                                  \
    do { int mtx_status_ = mtx_fail((code), msg, r->path, r->line, __VA_ARGS__); \
         FREE_ALL; return mtx_status_; } while (0)

// A token as shown in a message: quoted, cut to MTX_TOKEN_SHOWN characters.
typedef struct { char text[MTX_TOKEN_SHOWN + 8]; } shown_token;

static shown_token show(const char *token)
{
    shown_token s;
    size_t len = strlen(token);
    if (len > MTX_TOKEN_SHOWN)
        snprintf(s.text, sizeof s.text, "\"%.*s...\"", MTX_TOKEN_SHOWN, token);
    else
        snprintf(s.text, sizeof s.text, "\"%s\"", token);
    return s;
}

//------------------------------------------------------------------------------
// Lines and fields
//------------------------------------------------------------------------------

typedef struct {
    const char *path;
    gzFile gz;
    char *buf;             // the current line, NUL-terminated
    int64_t line;          // its 1-based number; after the end, the last line's
} mtx_reader;

static void reader_close(mtx_reader *r)
{
    if (r->gz) gzclose(r->gz);
    r->gz = NULL;
    free(r->buf);
    r->buf = NULL;
}

static int reader_open(mtx_reader *r, const char *path, char *msg)
{
    int fd = -1;
#define FREE_ALL do { if (fd >= 0) close(fd); reader_close(r); } while (0)
    r->path = path;
    r->line = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) FM_FAIL(FM_ERR_IO, "%s: cannot open the file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) FM_FAIL(FM_ERR_IO, "%s: cannot stat the file: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        FM_FAIL(FM_ERR_IO, "%s: is a directory, expected a Matrix Market file", path);
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) FM_FAIL(FM_ERR_MEMORY, "%s: cannot start zlib to read the file", path);
    fd = -1;   // gzclose closes it now
    if (gzbuffer(r->gz, MTX_GZ_BUFFER) != 0)
        FM_FAIL(FM_ERR_MEMORY, "%s: cannot set zlib's buffer size", path);
    FM_ALLOC(r->buf, MTX_LINE_MAX + 2);
    return FM_OK;
#undef FREE_ALL
}

// zlib's message without the "<fd:N>: " that gzdopen puts in front.
static const char *zlib_what(const char *what)
{
    if (!what || !*what) return "zlib failed";
    if (strncmp(what, "<fd:", 4) == 0) {
        const char *colon = strstr(what, ": ");
        if (colon) return colon + 2;
    }
    return what;
}

// Read the next line into r->buf: 1 read, 0 end of file, < 0 an error.
static int reader_next(mtx_reader *r, char *msg)
{
#define FREE_ALL ((void)0)
    const int size = MTX_LINE_MAX + 2;
    if (!gzgets(r->gz, r->buf, size)) {
        int err = Z_OK;
        const char *what = gzerror(r->gz, &err);
        if (err == Z_OK) return 0;
        int64_t at = r->line + 1;
        if (err == Z_ERRNO)
            return mtx_fail(FM_ERR_IO, msg, r->path, at, "read error: %s", strerror(errno));
        return mtx_fail(FM_ERR_IO, msg, r->path, at, "read error: %s",
                        zlib_what(what));
    }
    r->line++;
    size_t len = strlen(r->buf);
    bool newline = len > 0 && r->buf[len - 1] == '\n';
    if (!newline && len == (size_t)size - 1)
        LINE_FAIL(FM_ERR_PARSE, "line longer than %d characters", MTX_LINE_MAX);
    if (!newline) {
        // A truncated gzip stream hands out what it decoded, then the error.
        int err = Z_OK;
        const char *what = gzerror(r->gz, &err);
        if (err == Z_ERRNO)
            LINE_FAIL(FM_ERR_IO, "read error: %s", strerror(errno));
        if (err != Z_OK)
            LINE_FAIL(FM_ERR_IO, "read error: %s", zlib_what(what));
    }
    // gzgets stops only at a newline or the end of the file; a line that is
    // neither ended at a NUL byte.
    if (!newline && !gzeof(r->gz))
        LINE_FAIL(FM_ERR_PARSE, "line contains a NUL byte: not a text Matrix Market file");
    return 1;
#undef FREE_ALL
}

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10u; }

// Blank lines and comments (first non-blank character '%') carry no data.
static bool is_skipped(const char *line)
{
    while (is_space(*line)) line++;
    return *line == '\0' || *line == '%';
}

// Split a line in place into whitespace-separated fields: the first `max`
// are NUL-terminated and stored; the return value counts all of them.
static int split_fields(char *line, char **field, int max)
{
    int count = 0;
    char *p = line;
    for (;;) {
        while (is_space(*p)) p++;
        if (!*p) break;
        char *start = p;
        while (*p && !is_space(*p)) p++;
        if (count < max) {
            field[count] = start;
            if (*p) *p++ = '\0';
        }
        if (count < INT32_MAX) count++;
    }
    return count;
}

//------------------------------------------------------------------------------
// Numbers
//------------------------------------------------------------------------------

enum { NUMBER_OK = 0, NUMBER_NONE, NUMBER_TRAILING, NUMBER_OVERFLOW };

// A whole token as a decimal int64 with an optional sign.
static int parse_int64(const char *s, int64_t *value, const char **stop)
{
    const char *p = s;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    *stop = p;
    if (!is_digit(*p)) return NUMBER_NONE;
    uint64_t v = 0;
    bool overflow = false;
    for (; is_digit(*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) overflow = true;
        else v = v * 10 + d;
    }
    *stop = p;
    if (*p) return NUMBER_TRAILING;
    if (overflow) return NUMBER_OVERFLOW;
    *value = negative ? -(int64_t)v : (int64_t)v;
    return NUMBER_OK;
}

// The reference: strtof, correctly rounded, accepts every C float syntax
// (nan, inf, hexadecimal); overflow gives an infinity.
static int parse_float_strtof(const char *s, float *value, const char **stop)
{
    char *end = NULL;
    float v = strtof(s, &end);
    *stop = end;
    if (end == s) return NUMBER_NONE;
    if (*end) return NUMBER_TRAILING;
    *value = v;
    return NUMBER_OK;
}

// A whole token as a float, correctly rounded. The fast path covers the
// decimal forms writers produce ([sign] digits [. digits] [e exponent] with at
// most 19 significant digits and a result in the normal float range): one
// exact IEEE double operation (Clinger's fast path), then a rounding to float
// that cannot double-round because results that land exactly on a float
// rounding boundary go to strtof. Everything else goes to strtof too.
static int parse_float(const char *s, float *value, const char **stop)
{
    static const double pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const char *p = s;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    uint64_t mantissa = 0;
    int digits = 0;              // significant digits in mantissa
    int64_t exponent = 0;        // value = mantissa * 10^exponent
    bool any = false, inexact = false;
    for (; is_digit(*p); p++) {
        any = true;
        if (mantissa == 0 && *p == '0') continue;
        if (digits < 19) { mantissa = mantissa * 10 + (uint64_t)(*p - '0'); digits++; }
        else { inexact = true; exponent++; }
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++) {
            any = true;
            if (mantissa == 0 && *p == '0') { exponent--; continue; }
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                digits++;
                exponent--;
            } else {
                inexact = true;
            }
        }
    }
    if (!any || inexact) return parse_float_strtof(s, value, stop);
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        bool negative_exponent = false;
        if (*q == '+' || *q == '-') negative_exponent = *q++ == '-';
        if (!is_digit(*q)) return parse_float_strtof(s, value, stop);
        int64_t e = 0;
        for (; is_digit(*q); q++)
            if (e < 100000) e = e * 10 + (*q - '0');
        exponent += negative_exponent ? -e : e;
        p = q;
    }
    if (*p) return parse_float_strtof(s, value, stop);
    *stop = p;
    if (mantissa == 0) {
        *value = negative ? -0.0f : 0.0f;
        return NUMBER_OK;
    }
    if (mantissa > (UINT64_C(1) << 53) || exponent < -22 || exponent > 22)
        return parse_float_strtof(s, value, stop);
    double d = (double)mantissa;
    d = exponent < 0 ? d / pow10[-exponent] : d * pow10[exponent];
    // Below the normal range float has fewer bits; at the top it overflows.
    if (!(d >= (double)FLT_MIN && d < 0x1.ffffffp127)) return parse_float_strtof(s, value, stop);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    // The 29 bits of a double's mantissa below float precision: exactly a
    // half means d sits on a float rounding boundary (a tie for d, perhaps
    // not for the decimal), and only strtof knows which way to go.
    if ((bits & ((UINT64_C(1) << 29) - 1)) == (UINT64_C(1) << 28))
        return parse_float_strtof(s, value, stop);
    float v = (float)d;
    *value = negative ? -v : v;
    return NUMBER_OK;
}

//------------------------------------------------------------------------------
// Header and size line
//------------------------------------------------------------------------------

typedef enum { FIELD_REAL, FIELD_INTEGER, FIELD_PATTERN } mtx_field;

typedef struct {
    bool array, symmetric;
    mtx_field field;
    int64_t rows, cols;
    int64_t entries;       // declared lines of data: entries, or values for array
    int64_t size_line;     // where the size line was
} mtx_header;

static int read_header(mtx_reader *r, mtx_header *h, char *msg)
{
#define FREE_ALL ((void)0)
    int status = reader_next(r, msg);
    if (status < 0) return status;
    if (status == 0)
        return mtx_fail(FM_ERR_PARSE, msg, r->path, 1,
                        "the file is empty, expected the header " MTX_HEADER_FORM);
    char *line = r->buf;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;   // a UTF-8 byte order mark
    char shown[64];
    size_t len = strcspn(line, "\r\n");
    snprintf(shown, sizeof shown, "%.*s%s", (int)(len > 50 ? 50 : len), line, len > 50 ? "..." : "");
    char *word[5];
    int words = split_fields(line, word, 5);
    if (words == 0 || strcasecmp(word[0], "%%MatrixMarket") != 0)
        LINE_FAIL(FM_ERR_PARSE, "expected the header " MTX_HEADER_FORM ", found \"%s\"", shown);
    if (words != 5)
        LINE_FAIL(FM_ERR_PARSE, "expected 5 words in the header " MTX_HEADER_FORM ", found %d", words);
    if (strcasecmp(word[1], "matrix") != 0) {
        if (strcasecmp(word[1], "vector") == 0)
            LINE_FAIL(FM_ERR_PARSE, "unsupported object \"%s\" in the header, expected \"matrix\"", word[1]);
        LINE_FAIL(FM_ERR_PARSE, "unknown object %s in the header, expected \"matrix\"", show(word[1]).text);
    }
    if (strcasecmp(word[2], "coordinate") == 0) h->array = false;
    else if (strcasecmp(word[2], "array") == 0) h->array = true;
    else LINE_FAIL(FM_ERR_PARSE, "unknown format %s in the header, expected coordinate or array",
                   show(word[2]).text);
    if (strcasecmp(word[3], "real") == 0) h->field = FIELD_REAL;
    else if (strcasecmp(word[3], "integer") == 0) h->field = FIELD_INTEGER;
    else if (strcasecmp(word[3], "pattern") == 0) h->field = FIELD_PATTERN;
    else if (strcasecmp(word[3], "complex") == 0)
        LINE_FAIL(FM_ERR_PARSE, "unsupported field \"%s\": expected real, integer or pattern "
                  "(complex matrices cannot be factorized here)", word[3]);
    else LINE_FAIL(FM_ERR_PARSE, "unknown field %s in the header, expected real, integer or pattern",
                   show(word[3]).text);
    if (strcasecmp(word[4], "general") == 0) h->symmetric = false;
    else if (strcasecmp(word[4], "symmetric") == 0) h->symmetric = true;
    else if (strcasecmp(word[4], "skew-symmetric") == 0 || strcasecmp(word[4], "hermitian") == 0)
        LINE_FAIL(FM_ERR_PARSE, "unsupported symmetry \"%s\": expected general or symmetric", word[4]);
    else LINE_FAIL(FM_ERR_PARSE, "unknown symmetry %s in the header, expected general or symmetric",
                   show(word[4]).text);
    if (h->array && h->field == FIELD_PATTERN)
        LINE_FAIL(FM_ERR_PARSE, "the field \"pattern\" is only valid with the coordinate format, "
                  "not with array");
    return FM_OK;
#undef FREE_ALL
}

// A size-line number: a positive (or, for entries, nonnegative) integer.
static int parse_count(mtx_reader *r, const char *token, const char *what, int64_t min,
                       int64_t *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int status = parse_int64(token, value, &stop);
    if (status == NUMBER_OVERFLOW)
        LINE_FAIL(FM_ERR_PARSE, "the number of %s %s does not fit in 64 bits", what, show(token).text);
    if (status != NUMBER_OK || *value < min)
        LINE_FAIL(FM_ERR_PARSE, "expected a %s integer number of %s, found %s",
                  min > 0 ? "positive" : "nonnegative", what, show(token).text);
    return FM_OK;
#undef FREE_ALL
}

static int read_size(mtx_reader *r, mtx_header *h, char *msg)
{
#define FREE_ALL ((void)0)
    const char *form = h->array ? "\"rows cols\"" : "\"rows cols entries\"";
    int want = h->array ? 2 : 3;
    int status;
    while ((status = reader_next(r, msg)) > 0 && is_skipped(r->buf)) {}
    if (status < 0) return status;
    if (status == 0)
        LINE_FAIL(FM_ERR_PARSE, "the file ended before the size line %s", form);
    h->size_line = r->line;
    char *field[3];
    int found = split_fields(r->buf, field, 3);
    if (found != want)
        LINE_FAIL(FM_ERR_PARSE, "expected %d fields on the size line %s, found %d", want, form, found);
    FM_TRY(parse_count(r, field[0], "rows", 1, &h->rows, msg));
    FM_TRY(parse_count(r, field[1], "columns", 1, &h->cols, msg));
    if (h->rows > INT64_MAX / h->cols)
        LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " overflow a 64-bit entry count",
                  h->rows, h->cols);
    if (h->symmetric && h->rows != h->cols)
        LINE_FAIL(FM_ERR_PARSE, "a symmetric matrix must be square, the size line gives %" PRId64
                  " x %" PRId64, h->rows, h->cols);
    // rows*cols fits, so for a square (symmetric) matrix n(n+1)/2 <= n*n does
    // too; for another shape it may not, and is not computed.
    int64_t n = h->rows;
    int64_t capacity = h->rows * h->cols;
    if (h->symmetric) capacity = n % 2 == 0 ? n / 2 * (n + 1) : (n + 1) / 2 * n;
    if (h->array) {
        h->entries = capacity;
        if ((uint64_t)(h->rows * h->cols) > SIZE_MAX / sizeof(float))
            LINE_FAIL(FM_ERR_MEMORY, "dimensions %" PRId64 " x %" PRId64
                      " are too large: the values do not fit in memory", h->rows, h->cols);
    } else {
        FM_TRY(parse_count(r, field[2], "entries", 0, &h->entries, msg));
        if (h->entries > capacity)
            LINE_FAIL(FM_ERR_PARSE, "%" PRId64 " entries declared, more than the %" PRId64
                      " that %s %" PRId64 " x %" PRId64 " matrix holds", h->entries, capacity,
                      h->symmetric ? "the lower triangle of a" : "a", h->rows, h->cols);
    }
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Data
//------------------------------------------------------------------------------

// One value field: finite, nonnegative, in the header's field type.
static int parse_value(mtx_reader *r, const char *token, mtx_field field, float *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop = token;
    if (field == FIELD_INTEGER) {
        int64_t v = 0;
        int status = parse_int64(token, &v, &stop);
        if (status == NUMBER_OVERFLOW)
            LINE_FAIL(FM_ERR_PARSE, "integer value %s does not fit in 64 bits", show(token).text);
        if (status == NUMBER_TRAILING)
            LINE_FAIL(FM_ERR_PARSE, "expected an integer value, found %s (trailing characters %s "
                      "after the number; the header says integer)", show(token).text, show(stop).text);
        if (status != NUMBER_OK)
            LINE_FAIL(FM_ERR_PARSE, "expected an integer value, found %s", show(token).text);
        if (v < 0)
            LINE_FAIL(FM_ERR_PARSE, "negative value %.*s: nonnegative matrix factorization needs X >= 0",
                      MTX_TOKEN_SHOWN, token);
        *value = (float)v;
        return FM_OK;
    }
    float v = 0;
    int status = parse_float(token, &v, &stop);
    if (status == NUMBER_TRAILING)
        LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s (trailing characters %s after the number)",
                  show(token).text, show(stop).text);
    if (status != NUMBER_OK)
        LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s", show(token).text);
    if (!isfinite(v))
        LINE_FAIL(FM_ERR_PARSE, "value %s is not finite as a 32-bit float (NaN, Inf and magnitudes "
                  "beyond 3.4e38 are not allowed)", show(token).text);
    if (v < 0)
        LINE_FAIL(FM_ERR_PARSE, "negative value %.*s: nonnegative matrix factorization needs X >= 0",
                  MTX_TOKEN_SHOWN, token);
    *value = v + 0.0f;   // -0 becomes +0
    return FM_OK;
#undef FREE_ALL
}

// A 1-based index field within 1..limit, returned 0-based.
static int parse_index(mtx_reader *r, const char *token, const char *what, int64_t limit,
                       int64_t *index, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int64_t v = 0;
    int status = parse_int64(token, &v, &stop);
    if (status == NUMBER_OVERFLOW || (status == NUMBER_OK && (v < 1 || v > limit)))
        LINE_FAIL(FM_ERR_PARSE, "%s index %s out of range 1..%" PRId64, what,
                  strlen(token) > MTX_TOKEN_SHOWN ? show(token).text : token, limit);
    if (status != NUMBER_OK)
        LINE_FAIL(FM_ERR_PARSE, "expected an integer %s index, found %s", what, show(token).text);
    *index = v - 1;
    return FM_OK;
#undef FREE_ALL
}

// Room for `need` entries in t (and in *lines when it is tracked).
static int reserve(fm_triplets *t, int64_t **lines, int64_t *capacity, int64_t need,
                   int64_t most, const char *path, int64_t line, char *msg)
{
#define FREE_ALL ((void)0)
    if (need <= *capacity) return FM_OK;
    int64_t grown = *capacity < (1 << 16) ? (1 << 16) : *capacity;
    while (grown < need) grown = grown > INT64_MAX / 2 ? INT64_MAX : grown * 2;
    if (grown > most) grown = most;
    if (grown < need) grown = need;
    if ((uint64_t)grown > SIZE_MAX / sizeof(int64_t))
        return mtx_fail(FM_ERR_MEMORY, msg, path, line, "out of memory for %" PRId64 " entries", grown);
    size_t n = (size_t)grown;
    int64_t *row = realloc(t->row, n * sizeof *row);
    if (row) t->row = row;
    int64_t *col = row ? realloc(t->col, n * sizeof *col) : NULL;
    if (col) t->col = col;
    float *val = col ? realloc(t->val, n * sizeof *val) : NULL;
    if (val) t->val = val;
    int64_t *at = val && lines ? realloc(*lines, n * sizeof *at) : NULL;
    if (at) *lines = at;
    if (!val || (lines && !at))
        return mtx_fail(FM_ERR_MEMORY, msg, path, line, "out of memory growing the entries to %" PRId64,
                        grown);
    *capacity = grown;
    return FM_OK;
#undef FREE_ALL
}

static int read_coordinate(mtx_reader *r, const mtx_header *h, fm_triplets *t, int64_t **lines,
                           char *msg)
{
#define FREE_ALL ((void)0)
    const bool pattern = h->field == FIELD_PATTERN;
    const int want = pattern ? 2 : 3;
    const char *form = pattern ? "\"row col\"" : "\"row col value\"";
    // Symmetric files expand to at most twice the declared entries.
    int64_t most = h->symmetric ? (h->entries > INT64_MAX / 2 ? INT64_MAX : 2 * h->entries) : h->entries;
    int64_t capacity = 0;
    FM_TRY(reserve(t, lines, &capacity, 1, most > 0 ? most : 1, r->path, r->line, msg));
    int64_t given = 0, count = 0;
    int status;
    char *field[3];
    while ((status = reader_next(r, msg)) > 0) {
        if (is_skipped(r->buf)) continue;
        if (given == h->entries)
            LINE_FAIL(FM_ERR_PARSE, "more entries than the %" PRId64 " declared on line %" PRId64,
                      h->entries, h->size_line);
        int found = split_fields(r->buf, field, 3);
        if (found != want)
            LINE_FAIL(FM_ERR_PARSE, "expected %d fields %s, found %d", want, form, found);
        int64_t i, j;
        float v = 1.0f;
        FM_TRY(parse_index(r, field[0], "row", h->rows, &i, msg));
        FM_TRY(parse_index(r, field[1], "column", h->cols, &j, msg));
        if (!pattern) FM_TRY(parse_value(r, field[2], h->field, &v, msg));
        if (h->symmetric && i < j)
            LINE_FAIL(FM_ERR_PARSE, "entry (%" PRId64 ", %" PRId64 ") is above the diagonal: a symmetric "
                      "file holds the lower triangle (row >= column)", i + 1, j + 1);
        int64_t add = h->symmetric && i != j ? 2 : 1;
        FM_TRY(reserve(t, lines, &capacity, count + add, most, r->path, r->line, msg));
        t->row[count] = i;
        t->col[count] = j;
        t->val[count] = v;
        if (lines) (*lines)[count] = r->line;
        count++;
        if (add == 2) {
            t->row[count] = j;
            t->col[count] = i;
            t->val[count] = v;
            if (lines) (*lines)[count] = r->line;
            count++;
        }
        given++;
    }
    if (status < 0) return status;
    if (given < h->entries)
        return mtx_fail(FM_ERR_PARSE, msg, r->path, r->line > 0 ? r->line : 1,
                        "the file ended after %" PRId64 " of the %" PRId64 " entries declared on line %"
                        PRId64, given, h->entries, h->size_line);
    t->count = count;
    // Give back what symmetric expansion did not need.
    if (count > 0 && count < capacity) {
        int64_t *row = realloc(t->row, (size_t)count * sizeof *row);
        if (row) t->row = row;
        int64_t *col = realloc(t->col, (size_t)count * sizeof *col);
        if (col) t->col = col;
        float *val = realloc(t->val, (size_t)count * sizeof *val);
        if (val) t->val = val;
    }
    return FM_OK;
#undef FREE_ALL
}

// Array files list columns top to bottom (for symmetric ones, the lower
// triangle of each column); t->val is row-major.
static int read_array(mtx_reader *r, const mtx_header *h, fm_triplets *t, char *msg)
{
#define FREE_ALL ((void)0)
    const int64_t rows = h->rows, cols = h->cols;
    t->val = calloc((size_t)(rows * cols), sizeof(float));
    if (!t->val)
        return mtx_fail(FM_ERR_MEMORY, msg, r->path, h->size_line,
                        "out of memory for the %" PRId64 " x %" PRId64 " array declared here", rows, cols);
    t->count = rows * cols;
    int64_t given = 0, i = 0, j = 0;
    int status;
    char *field[1];
    while ((status = reader_next(r, msg)) > 0) {
        if (is_skipped(r->buf)) continue;
        if (given == h->entries)
            LINE_FAIL(FM_ERR_PARSE, "more values than the %" PRId64 " that the size line (line %" PRId64
                      ") declares for a %s%" PRId64 " x %" PRId64 " array", h->entries, h->size_line,
                      h->symmetric ? "symmetric " : "", rows, cols);
        int found = split_fields(r->buf, field, 1);
        if (found != 1)
            LINE_FAIL(FM_ERR_PARSE, "expected 1 field \"value\" (one value per line), found %d", found);
        float v;
        FM_TRY(parse_value(r, field[0], h->field, &v, msg));
        t->val[i * cols + j] = v;
        if (h->symmetric) t->val[j * cols + i] = v;
        given++;
        if (++i == rows) {
            j++;
            i = h->symmetric ? j : 0;
        }
    }
    if (status < 0) return status;
    if (given < h->entries)
        return mtx_fail(FM_ERR_PARSE, msg, r->path, r->line,
                        "the file ended after %" PRId64 " of the %" PRId64 " values that the size line "
                        "(line %" PRId64 ") declares for a %s%" PRId64 " x %" PRId64 " array", given,
                        h->entries, h->size_line, h->symmetric ? "symmetric " : "", rows, cols);
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Duplicates
//------------------------------------------------------------------------------

typedef struct { int64_t key, line; } keyed_line;

// Stable LSD radix sort of n records by key in [0, 2^bits), 11 bits a pass.
// Returns the buffer that holds the result (a or scratch).
static keyed_line *radix_sort(keyed_line *a, keyed_line *scratch, int64_t n, int bits, int64_t *hist)
{
    enum { DIGIT = 11, BUCKETS = 1 << DIGIT };
    int passes = (bits + DIGIT - 1) / DIGIT;
    for (int64_t k = 0; k < n; k++) {
        uint64_t key = (uint64_t)a[k].key;
        for (int p = 0; p < passes; p++) hist[p * BUCKETS + ((key >> (p * DIGIT)) & (BUCKETS - 1))]++;
    }
    for (int p = 0; p < passes; p++) {
        int64_t *count = hist + p * BUCKETS;
        bool trivial = false;
        for (int b = 0; b < BUCKETS; b++) if (count[b] == n) trivial = true;
        if (trivial) continue;
        int64_t offset = 0;
        for (int b = 0; b < BUCKETS; b++) { int64_t c = count[b]; count[b] = offset; offset += c; }
        for (int64_t k = 0; k < n; k++) {
            uint64_t digit = ((uint64_t)a[k].key >> (p * DIGIT)) & (BUCKETS - 1);
            scratch[count[digit]++] = a[k];
        }
        keyed_line *swap = a; a = scratch; scratch = swap;
    }
    return a;
}

// The earliest repeated coordinate, by the line of its second occurrence.
// Symmetric files were expanded; their mirrored (upper) copies are skipped.
static int check_duplicates(const char *path, const fm_triplets *t, const int64_t *lines,
                            bool symmetric, char *msg)
{
    keyed_line *records = NULL, *scratch = NULL;
    int64_t *hist = NULL;
#define FREE_ALL do { free(records); free(scratch); free(hist); } while (0)
    int64_t n = 0;
    for (int64_t k = 0; k < t->count; k++) if (!symmetric || t->row[k] >= t->col[k]) n++;
    if (n < 2) return FM_OK;
    FM_ALLOC(records, n);
    FM_ALLOC(scratch, n);
    uint64_t top = (uint64_t)(t->rows * t->cols - 1);
    int bits = top ? 64 - __builtin_clzll(top) : 0;
    FM_ALLOC(hist, ((bits + 10) / 11 + 1) * 2048);
    int64_t m = 0;
    for (int64_t k = 0; k < t->count; k++)
        if (!symmetric || t->row[k] >= t->col[k])
            records[m++] = (keyed_line){ t->row[k] * t->cols + t->col[k], lines[k] };
    keyed_line *sorted = radix_sort(records, scratch, n, bits, hist);
    int64_t first = 0, second = INT64_MAX, key = 0;
    for (int64_t k = 1; k < n; k++)
        if (sorted[k].key == sorted[k - 1].key && (k == 1 || sorted[k - 2].key != sorted[k].key) &&
            sorted[k].line < second) {
            first = sorted[k - 1].line;
            second = sorted[k].line;
            key = sorted[k].key;
        }
    if (second != INT64_MAX)
        FM_FAIL(FM_ERR_PARSE, "%s:%" PRId64 ": duplicate entry (%" PRId64 ", %" PRId64
                "), first given on line %" PRId64, path, second, key / t->cols + 1, key % t->cols + 1, first);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Reading
//------------------------------------------------------------------------------

static int mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors, bool want_array,
                    const char *caller, char *msg)
{
    mtx_reader reader = { 0 }, *r = &reader;
    fm_triplets *t = NULL;
    int64_t *lines = NULL;
#define FREE_ALL do { reader_close(r); fm_triplets_free(&t); free(lines); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "%s: output handle must be non-NULL and empty", caller);
    FM_CHECK(path && *path, FM_ERR_INVALID, "%s: path must be a non-empty string", caller);
    FM_PROFILE_START(profile_clock);
    FM_TRY(reader_open(r, path, msg));
    mtx_header h = { 0 };
    FM_TRY(read_header(r, &h, msg));
    if (want_array && !h.array)
        LINE_FAIL(FM_ERR_PARSE, "expected an array file (\"%%%%MatrixMarket matrix array real general\"), "
                  "found a coordinate file");
    FM_TRY(read_size(r, &h, msg));
    FM_ALLOC(t, 1);
    t->rows = h.rows;
    t->cols = h.cols;
    t->array = h.array;
    if (h.array) {
        FM_TRY(read_array(r, &h, t, msg));
    } else {
        bool track = duplicates_are_errors;
        FM_TRY(read_coordinate(r, &h, t, track ? &lines : NULL, msg));
        if (track) FM_TRY(check_duplicates(path, t, lines, h.symmetric, msg));
    }
    free(lines);
    lines = NULL;
    // flops: none (parsing); bytes: the text parsed (uncompressed) and the
    // entries written (4 per value, 8 per index)
    const double text = (double)gztell(r->gz), entries = (double)t->count;
    FM_PROFILE_STOP(profile_clock, "mtx.read", 0, text + (t->array ? 4 : 20) * entries);
    reader_close(r);
    *out = t;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg)
{
    return mtx_read(out, path, duplicates_are_errors, false, "fm_mtx_read", msg);
}

int fm_mtx_read_dense(fm_dense **out, const char *path, char *msg)
{
    fm_triplets *t = NULL;
    fm_dense *m = NULL;
#define FREE_ALL do { fm_triplets_free(&t); fm_dense_free(&m); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_dense: output handle must be non-NULL and empty");
    FM_TRY(mtx_read(&t, path, false, true, "fm_mtx_read_dense", msg));
    FM_ALLOC(m, 1);
    m->rows = t->rows;
    m->cols = t->cols;
    m->data = t->val;     // already row-major rows*cols
    t->val = NULL;
    fm_triplets_free(&t);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// Writing
//------------------------------------------------------------------------------

static int writer_printf(fm_atomic_file *w, char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int writer_printf(fm_atomic_file *w, char *msg, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vfprintf(w->f, fmt, args);
    va_end(args);
    if (n < 0) return fm_fail(FM_ERR_IO, msg, "%s: write failed: %s", w->path, strerror(errno));
    return FM_OK;
}

// Each line of the comment as a '%' line.
static int write_comment(fm_atomic_file *w, const char *comment, char *msg)
{
    if (!comment) return FM_OK;
    const char *p = comment;
    while (*p) {
        size_t len = strcspn(p, "\n");
        int status = writer_printf(w, msg, "%%%.*s\n", (int)len, p);
        if (status < 0) return status;
        p += len;
        if (*p == '\n') p++;
    }
    return FM_OK;
}

int fm_mtx_write_dense(const char *path, const fm_dense *m, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_dense: path must be a non-empty string");
    FM_CHECK(m && m->rows > 0 && m->cols > 0 && m->data, FM_ERR_INVALID,
             "fm_mtx_write_dense: %s: the matrix must exist and have positive dimensions", path);
    const int64_t rows = m->rows, cols = m->cols;
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(writer_printf(&w, msg, "%%%%MatrixMarket matrix array real general\n"));
    FM_TRY(write_comment(&w, comment, msg));
    FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 "\n", rows, cols));
    for (int64_t j = 0; j < cols; j++)
        for (int64_t i = 0; i < rows; i++)
            FM_TRY(writer_printf(&w, msg, "%.9g\n", (double)m->data[i * cols + j]));
    // flops: none (formatting); bytes: the values read (4 each), the text written
    const double text = (double)ftello(w.f);
    FM_TRY(fm_atomic_commit(&w, msg));
    FM_PROFILE_STOP(profile_clock, "mtx.write", 0, 4.0 * rows * cols + text);
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_write_triplets(const char *path, const fm_triplets *t, const char *comment, char *msg)
{
    fm_atomic_file w = { 0 };
#define FREE_ALL fm_atomic_abort(&w)
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_write_triplets: path must be a non-empty string");
    FM_CHECK(t && t->rows > 0 && t->cols > 0 && t->count >= 0, FM_ERR_INVALID,
             "fm_mtx_write_triplets: %s: the triplets must exist and have positive dimensions", path);
    const int64_t rows = t->rows, cols = t->cols;
    if (t->array) {
        FM_CHECK(rows <= INT64_MAX / cols && t->count == rows * cols && t->val, FM_ERR_INVALID,
                 "fm_mtx_write_triplets: %s: array triplets must hold rows*cols values", path);
    } else {
        FM_CHECK(t->count == 0 || (t->row && t->col && t->val), FM_ERR_INVALID,
                 "fm_mtx_write_triplets: %s: the triplets have no arrays", path);
        for (int64_t k = 0; k < t->count; k++)
            FM_CHECK(t->row[k] >= 0 && t->row[k] < rows && t->col[k] >= 0 && t->col[k] < cols,
                     FM_ERR_INVALID, "fm_mtx_write_triplets: %s: entry %" PRId64 " at (%" PRId64 ", %"
                     PRId64 ") (0-based) is outside the %" PRId64 " x %" PRId64 " matrix", path, k,
                     t->row[k], t->col[k], rows, cols);
    }
    FM_PROFILE_START(profile_clock);
    FM_TRY(fm_atomic_open(&w, path, msg));
    FM_TRY(writer_printf(&w, msg, "%%%%MatrixMarket matrix coordinate real general\n"));
    FM_TRY(write_comment(&w, comment, msg));
    FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %" PRId64 "\n", rows, cols, t->count));
    if (t->array) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++)
                FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %.9g\n", i + 1, j + 1,
                                     (double)t->val[i * cols + j]));
    } else {
        for (int64_t k = 0; k < t->count; k++)
            FM_TRY(writer_printf(&w, msg, "%" PRId64 " %" PRId64 " %.9g\n", t->row[k] + 1, t->col[k] + 1,
                                 (double)t->val[k]));
    }
    // flops: none (formatting); bytes: the entries read (4 per value, 8 per
    // index), the text written
    const double text = (double)ftello(w.f);
    FM_TRY(fm_atomic_commit(&w, msg));
    FM_PROFILE_STOP(profile_clock, "mtx.write", 0, (t->array ? 4.0 : 20.0) * t->count + text);
    return FM_OK;
#undef FREE_ALL
}
