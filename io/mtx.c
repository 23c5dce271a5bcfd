// Matrix Market reading (writing: io/mtx_write.c).
//
// Reading streams the file through zlib (plain and gzip alike) one line at a
// time and parses every field by hand on the line buffer (numbers:
// io/mtx_number.c). Every content error names the file, the 1-based line and
// what was expected there.
#include "memory.h"
#include "mtx_parts.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
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
#define MTX_DEFLATE_RATIO 1032        // deflate's largest expansion: output bytes per input byte

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

// "path:line: sentence" (the path shortened, not the sentence, when they do
// not fit; its control bytes escaped: fm_fail_path)
static int mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
{
    if (msg) {
        char sentence[FM_MSG_LEN];
        va_list args;
        va_start(args, fmt);
        vsnprintf(sentence, sizeof sentence, fmt, args);
        va_end(args);
        fm_fail_path(code, msg, path, ":%" PRId64 ": %s", line, sentence);
    }
    return code;
}

// Fail with a message about the reader's current line.
#define LINE_FAIL(code, ...)                                                  \
    do { int mtx_status_ = mtx_fail((code), msg, r->path, r->line, __VA_ARGS__); \
         FREE_ALL; return mtx_status_; } while (0)

// A token as shown in a message: quoted, cut to MTX_TOKEN_SHOWN characters,
// its control bytes escaped.
typedef struct { char text[4 * MTX_TOKEN_SHOWN + 8]; } shown_token;

static shown_token show(const char *token)
{
    shown_token s;
    char cut[MTX_TOKEN_SHOWN + 1];
    const size_t len = strnlen(token, MTX_TOKEN_SHOWN);
    memcpy(cut, token, len);
    cut[len] = 0;
    s.text[0] = '"';
    size_t n = 1 + fm_escape(s.text + 1, sizeof s.text - 5, cut);
    snprintf(s.text + n, sizeof s.text - n, "%s\"", strlen(token) > MTX_TOKEN_SHOWN ? "..." : "");
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
    int64_t size;          // the file's size, when it is a regular file
    bool regular;
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
    r->regular = S_ISREG(st.st_mode);
    r->size = (int64_t)st.st_size;
    r->gz = gzdopen(fd, "rb");
    // gzdopen fails only when it cannot allocate its state (fd and mode are valid)
    if (!r->gz) FM_FAIL(FM_ERR_MEMORY, "%s: out of memory starting zlib to read the file", path);
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

// A failed read at `line`. A gzip stream whose checksum (CRC-32) or length at
// its end does not match what was decoded is corrupt: zlib finds out after
// decoding ahead, so the message names the file, not a line.
static int read_fail(const mtx_reader *r, int err, const char *what, int64_t line, char *msg)
{
    if (err == Z_ERRNO) return mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", strerror(errno));
    what = zlib_what(what);
    if (err == Z_DATA_ERROR) {
        const bool crc = strstr(what, "incorrect data check") != NULL;
        const bool length = strstr(what, "incorrect length check") != NULL;
        return fm_fail(FM_ERR_PARSE, msg, "%s: corrupt gzip data (%s): the file is damaged%s", r->path,
                       crc ? "CRC error" : length ? "length check" : what,
                       crc      ? ": what it decompresses to does not match the checksum stored in it"
                       : length ? ": it decompresses to another length than the one stored in it"
                                : "");
    }
    if (err == Z_BUF_ERROR)
        return mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s: the gzip data are truncated", what);
    return mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", what);
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
        return read_fail(r, err, what, r->line + 1, msg);
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
        if (err != Z_OK) return read_fail(r, err, what, r->line, msg);
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
    char cut[51], shown[4 * sizeof cut + 4];
    size_t len = strcspn(line, "\r\n");
    snprintf(cut, sizeof cut, "%.*s", (int)(len > 50 ? 50 : len), line);
    snprintf(shown + fm_escape(shown, sizeof shown - 3, cut), 4, "%s", len > 50 ? "..." : "");
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
    int status = fm_mtx_parse_int64(token, value, &stop);
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
    int64_t cells;
    if (__builtin_mul_overflow(h->rows, h->cols, &cells))
        LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " overflow a 64-bit entry count",
                  h->rows, h->cols);
    if (h->rows > FM_MAX_DIMENSION || h->cols > FM_MAX_DIMENSION)
        LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " are too large: a matrix has at most %"
                  PRId64 " (2^60) rows and columns", h->rows, h->cols, FM_MAX_DIMENSION);
    if (h->symmetric && h->rows != h->cols)
        LINE_FAIL(FM_ERR_PARSE, "a symmetric matrix must be square, the size line gives %" PRId64
                  " x %" PRId64, h->rows, h->cols);
    // A symmetric matrix is square and n·n fits, so n(n+1)/2 <= n·n does too.
    const int64_t n = h->rows;
    const int64_t capacity = !h->symmetric ? cells : n % 2 == 0 ? n / 2 * (n + 1) : (n + 1) / 2 * n;
    if (h->array) {
        h->entries = capacity;
        if ((uint64_t)cells > SIZE_MAX / sizeof(float))
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
        int status = fm_mtx_parse_int64(token, &v, &stop);
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
    int status = fm_mtx_parse_float(token, &v, &stop);
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
    int status = fm_mtx_parse_int64(token, &v, &stop);
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
// triangle of each column); t->val is row-major. Without `store` (a file too
// short for its declared values) the values are checked but not kept, and
// the read ends in the error that the file ended early.
static int read_array(mtx_reader *r, const mtx_header *h, fm_triplets *t, bool store, char *msg)
{
#define FREE_ALL ((void)0)
    const int64_t rows = h->rows, cols = h->cols;
    if (store) {
        t->val = calloc((size_t)(rows * cols), sizeof(float));
        if (!t->val)
            return mtx_fail(FM_ERR_MEMORY, msg, r->path, h->size_line,
                            "out of memory for the %" PRId64 " x %" PRId64 " array declared here", rows, cols);
        t->count = rows * cols;
    }
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
        if (store) {
            t->val[i * cols + j] = v;
            if (h->symmetric) t->val[j * cols + i] = v;
        }
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
    if (!store)   // the file grew while it was read
        return mtx_fail(FM_ERR_IO, msg, r->path, r->line, "the file changed while it was read");
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// What the declared size asks for
//------------------------------------------------------------------------------

// What the caller will build from the entries: a graph of `kind` for a run
// of `rank` (0: the graph alone), or only the values (graph false).
typedef struct { bool graph; fm_kind kind; int rank; } mtx_plan;

// Whether the rest of the file can hold `lines` data lines of at least
// `min_bytes` each (the last without its newline): a plain file has its
// size, a gzip file expands at most MTX_DEFLATE_RATIO times; a pipe may hold
// anything.
static bool file_can_hold(mtx_reader *r, int64_t lines, int64_t min_bytes)
{
    if (!r->regular || lines <= 0) return true;
    int64_t rest;
    if (gzdirect(r->gz)) rest = r->size - (int64_t)gztell(r->gz);
    else rest = r->size > INT64_MAX / MTX_DEFLATE_RATIO ? INT64_MAX : r->size * MTX_DEFLATE_RATIO;
    return lines <= rest / min_bytes + 1;
}

// FM_ERR_MEMORY with the declared shape and the estimate when what the plan
// builds from this file's declared size exceeds the memory limit.
static int check_memory(mtx_reader *r, const mtx_header *h, const mtx_plan *plan, char *msg)
{
    int64_t entries = h->array ? h->rows * h->cols : h->entries;
    if (!h->array && h->symmetric) entries = entries > INT64_MAX / 2 ? INT64_MAX : 2 * entries;
    fm_memory_estimate e;
    fm_memory_estimate_run(&e, h->rows, h->cols, entries, h->array, plan->kind, plan->rank);
    const double need = plan->graph ? e.peak : e.reading;
    if (fm_memory_fits(need)) return FM_OK;
    char needs[160], limit[160], what[96];
    fm_memory_need_text(needs, sizeof needs, &e, need, plan->graph ? plan->rank : 0);
    fm_memory_limit_text(limit, sizeof limit);
    if (!plan->graph) snprintf(what, sizeof what, "to hold its values");
    else if (plan->rank > 0) snprintf(what, sizeof what, "for a rank-%d run", plan->rank);
    else snprintf(what, sizeof what, "to read it and build its graph");
    const fm_kind kind = plan->kind != FM_KIND_AUTO ? plan->kind : h->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    return mtx_fail(FM_ERR_MEMORY, msg, r->path, h->size_line,
                    "the %" PRId64 " x %" PRId64 " %s matrix declared here (%" PRId64 " %s) needs %s %s, more than "
                    "%s", h->rows, h->cols, plan->graph ? fm_kind_name(kind) : "array", h->entries,
                    h->array ? "values" : h->entries == 1 ? "entry" : "entries", needs, what, limit);
}

//------------------------------------------------------------------------------
// Reading
//------------------------------------------------------------------------------

static int mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors, bool want_array,
                    const mtx_plan *plan, const char *caller, char *msg)
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
    // A file too short for what it declares fails when it ends, without
    // allocating for it; otherwise what it declares must fit in memory.
    const bool fits = file_can_hold(r, h.entries, h.array ? 2 : h.field == FIELD_PATTERN ? 4 : 6);
    if (fits) FM_TRY(check_memory(r, &h, plan, msg));
    FM_ALLOC(t, 1);
    t->rows = h.rows;
    t->cols = h.cols;
    t->array = h.array;
    if (h.array) {
        FM_TRY(read_array(r, &h, t, fits, msg));
    } else {
        bool track = duplicates_are_errors;
        FM_TRY(read_coordinate(r, &h, t, track ? &lines : NULL, msg));
        if (track) FM_TRY(fm_mtx_check_duplicates(path, t, lines, h.symmetric, msg));
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
    const mtx_plan plan = { true, duplicates_are_errors ? FM_KIND_INCOMPLETE : FM_KIND_AUTO, 0 };
    return mtx_read(out, path, duplicates_are_errors, false, &plan, "fm_mtx_read", msg);
}

int fm_mtx_read_for_run(fm_triplets **out, const char *path, fm_kind kind, int rank, char *msg)
{
    const mtx_plan plan = { true, kind, rank > 0 ? rank : 0 };
    return mtx_read(out, path, kind == FM_KIND_INCOMPLETE, false, &plan, "fm_mtx_read_for_run", msg);
}

int fm_mtx_read_dense(fm_dense **out, const char *path, char *msg)
{
    fm_triplets *t = NULL;
    fm_dense *m = NULL;
#define FREE_ALL do { fm_triplets_free(&t); fm_dense_free(&m); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_dense: output handle must be non-NULL and empty");
    const mtx_plan plan = { false, FM_KIND_DENSE, 0 };
    FM_TRY(mtx_read(&t, path, false, true, &plan, "fm_mtx_read_dense", msg));
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
