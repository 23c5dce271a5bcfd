// Matrix Market reading for linear systems in double precision
// (io/mtx_system.h; writing: io/mtx_system_write.c).
//
// The same line reader as io/mtx.c (zlib for plain and gzip files alike, one
// line at a time, fields split by hand), with values parsed as doubles and
// negatives allowed. Every content error names the file, the 1-based line and
// what was expected there.
#include "mtx_parts.h"
#include "mtx_system.h"
#include "profile.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LINE_MAX_CHARS 65536          // characters on one line, newline excluded
#ifndef MTX_GZ_BUFFER                 // (the fuzz build makes it small: tests/fuzz/README.md)
#define MTX_GZ_BUFFER (1 << 20)       // zlib's input buffer
#endif
#define TOKEN_SHOWN 40                // characters of a bad token quoted in messages
#define FIRST_CAPACITY (1 << 16)      // triplets allocated before the file shows more

#define SYSTEM_HEADER_FORM \
    "\"%%MatrixMarket matrix coordinate <real|integer|pattern> <general|symmetric>\""
#define VECTOR_HEADER_FORM \
    "\"%%MatrixMarket matrix <array|coordinate> <real|integer> general\""

int fm_system_matrix_new(fm_system_matrix **out, int64_t n, int64_t count, bool symmetric, char *msg)
{
    fm_system_matrix *m = NULL;
#define FREE_ALL fm_system_matrix_free(&m)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_system_matrix_new: output handle must be non-NULL and empty");
    FM_CHECK(n > 0 && n <= FM_MAX_DIMENSION && count >= 0 && (uint64_t)count <= SIZE_MAX / sizeof(int64_t),
             FM_ERR_INVALID, "fm_system_matrix_new: n = %" PRId64 " and count = %" PRId64
             " must be positive and nonnegative", n, count);
    FM_ALLOC(m, 1);
    m->n = n;
    m->count = count;
    m->symmetric = symmetric;
    // never NULL, even for count 0, so a caller can index them freely
    FM_ALLOC(m->row, count > 0 ? count : 1);
    FM_ALLOC(m->col, count > 0 ? count : 1);
    FM_ALLOC(m->val, count > 0 ? count : 1);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

void fm_system_matrix_free(fm_system_matrix **m)
{
    if (!m || !*m) return;
    free((*m)->row);
    free((*m)->col);
    free((*m)->val);
    free(*m);
    *m = NULL;
}

//------------------------------------------------------------------------------
// Messages
//------------------------------------------------------------------------------

// "path:line: sentence" (as io/mtx.c: the path shortened, not the sentence)
static int line_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int line_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
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

#define LINE_FAIL(code, ...)                                                  \
    do { int line_status_ = line_fail((code), msg, r->path, r->line, __VA_ARGS__); \
         FREE_ALL; return line_status_; } while (0)

// A token quoted, cut to TOKEN_SHOWN characters, its control bytes escaped.
typedef struct { char text[4 * TOKEN_SHOWN + 8]; } shown_token;

static shown_token show(const char *token)
{
    shown_token s;
    char cut[TOKEN_SHOWN + 1];
    const size_t len = strnlen(token, TOKEN_SHOWN);
    memcpy(cut, token, len);
    cut[len] = 0;
    s.text[0] = '"';
    size_t k = 1 + fm_escape(s.text + 1, sizeof s.text - 5, cut);
    snprintf(s.text + k, sizeof s.text - k, "%s\"", strlen(token) > TOKEN_SHOWN ? "..." : "");
    return s;
}

//------------------------------------------------------------------------------
// Lines and fields
//------------------------------------------------------------------------------

typedef struct {
    const char *path;
    gzFile gz;
    char *buf;             // the current line, NUL-terminated
    int64_t line;          // its 1-based number
} reader;

static void reader_close(reader *r)
{
    if (r->gz) gzclose(r->gz);
    r->gz = NULL;
    free(r->buf);
    r->buf = NULL;
}

static int reader_open(reader *r, const char *path, char *msg)
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
    if (!r->gz) FM_FAIL(FM_ERR_MEMORY, "%s: out of memory starting zlib to read the file", path);
    fd = -1;   // gzclose closes it now
    if (gzbuffer(r->gz, MTX_GZ_BUFFER) != 0) FM_FAIL(FM_ERR_MEMORY, "%s: cannot set zlib's buffer size", path);
    FM_ALLOC(r->buf, LINE_MAX_CHARS + 2);
    return FM_OK;
#undef FREE_ALL
}

// A failed read at `line`: zlib's reason without the "<fd:N>: " in front.
static int read_fail(const reader *r, int err, const char *what, int64_t line, char *msg)
{
    if (err == Z_ERRNO) return line_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", strerror(errno));
    if (!what || !*what) what = "zlib failed";
    if (strncmp(what, "<fd:", 4) == 0 && strstr(what, ": ")) what = strstr(what, ": ") + 2;
    if (err == Z_DATA_ERROR)
        return fm_fail(FM_ERR_PARSE, msg, "%s: corrupt gzip data (%s): the file is damaged", r->path, what);
    if (err == Z_BUF_ERROR)
        return line_fail(FM_ERR_IO, msg, r->path, line, "read error: %s: the gzip data are truncated", what);
    return line_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", what);
}

// The next line into r->buf: 1 read, 0 end of file, < 0 an error.
static int reader_next(reader *r, char *msg)
{
#define FREE_ALL ((void)0)
    const int size = LINE_MAX_CHARS + 2;
    if (!gzgets(r->gz, r->buf, size)) {
        int err = Z_OK;
        const char *what = gzerror(r->gz, &err);
        if (err == Z_OK) return 0;
        return read_fail(r, err, what, r->line + 1, msg);
    }
    r->line++;
    const size_t len = strlen(r->buf);
    const bool newline = len > 0 && r->buf[len - 1] == '\n';
    if (!newline && len == (size_t)size - 1) LINE_FAIL(FM_ERR_PARSE, "line longer than %d characters", LINE_MAX_CHARS);
    if (!newline) {
        int err = Z_OK;
        const char *what = gzerror(r->gz, &err);
        if (err != Z_OK) return read_fail(r, err, what, r->line, msg);
        if (!gzeof(r->gz)) LINE_FAIL(FM_ERR_PARSE, "line contains a NUL byte: not a text Matrix Market file");
    }
    return 1;
#undef FREE_ALL
}

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Blank lines and comments carry no data.
static bool is_skipped(const char *line)
{
    while (is_space(*line)) line++;
    return *line == '\0' || *line == '%';
}

// The next line that carries data: 1, 0 at the end of the file, < 0 an error.
static int next_data(reader *r, char *msg)
{
    int status;
    while ((status = reader_next(r, msg)) > 0 && is_skipped(r->buf)) {}
    return status;
}

// Split a line in place into whitespace-separated fields: the first `max`
// stored and NUL-terminated; returns how many there are in all.
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
// Header, size line, numbers
//------------------------------------------------------------------------------

typedef enum { FIELD_REAL, FIELD_INTEGER, FIELD_PATTERN } value_field;

typedef struct {
    bool array, symmetric;
    value_field field;
    int64_t rows, cols, entries;
    int64_t size_line;
} header;

static int read_header(reader *r, header *h, const char *form, char *msg)
{
#define FREE_ALL ((void)0)
    int status = reader_next(r, msg);
    if (status < 0) return status;
    if (status == 0) return line_fail(FM_ERR_PARSE, msg, r->path, 1, "the file is empty, expected the header %s", form);
    char *line = r->buf;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB && (unsigned char)line[2] == 0xBF)
        line += 3;   // a UTF-8 byte order mark
    char *word[5];
    const int words = split_fields(line, word, 5);
    if (words == 0 || strcasecmp(word[0], "%%MatrixMarket") != 0)
        LINE_FAIL(FM_ERR_PARSE, "expected the header %s, found %s", form, show(words ? word[0] : "").text);
    if (words != 5) LINE_FAIL(FM_ERR_PARSE, "expected 5 words in the header %s, found %d", form, words);
    if (strcasecmp(word[1], "matrix") != 0)
        LINE_FAIL(FM_ERR_PARSE, "unknown object %s in the header, expected \"matrix\"", show(word[1]).text);
    if (strcasecmp(word[2], "coordinate") == 0) h->array = false;
    else if (strcasecmp(word[2], "array") == 0) h->array = true;
    else LINE_FAIL(FM_ERR_PARSE, "unknown format %s in the header, expected coordinate or array", show(word[2]).text);
    if (strcasecmp(word[3], "real") == 0) h->field = FIELD_REAL;
    else if (strcasecmp(word[3], "integer") == 0) h->field = FIELD_INTEGER;
    else if (strcasecmp(word[3], "pattern") == 0) h->field = FIELD_PATTERN;
    else LINE_FAIL(FM_ERR_PARSE, "unsupported field %s in the header, expected real, integer or pattern",
                   show(word[3]).text);
    if (strcasecmp(word[4], "general") == 0) h->symmetric = false;
    else if (strcasecmp(word[4], "symmetric") == 0) h->symmetric = true;
    else LINE_FAIL(FM_ERR_PARSE, "unsupported symmetry %s in the header, expected general or symmetric",
                   show(word[4]).text);
    if (h->array && h->field == FIELD_PATTERN)
        LINE_FAIL(FM_ERR_PARSE, "the field \"pattern\" is only valid with the coordinate format, not with array");
    return FM_OK;
#undef FREE_ALL
}

// A size-line number: at least `min`.
static int parse_count(reader *r, const char *token, const char *what, int64_t min, int64_t *value, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    const int status = fm_mtx_parse_int64(token, value, &stop);
    if (status == NUMBER_OVERFLOW)
        LINE_FAIL(FM_ERR_PARSE, "the number of %s %s does not fit in 64 bits", what, show(token).text);
    if (status != NUMBER_OK || *value < min)
        LINE_FAIL(FM_ERR_PARSE, "expected a %s integer number of %s, found %s",
                  min > 0 ? "positive" : "nonnegative", what, show(token).text);
    return FM_OK;
#undef FREE_ALL
}

static int read_size(reader *r, header *h, char *msg)
{
#define FREE_ALL ((void)0)
    const char *form = h->array ? "\"rows cols\"" : "\"rows cols entries\"";
    const int want = h->array ? 2 : 3;
    const int status = next_data(r, msg);
    if (status < 0) return status;
    if (status == 0) LINE_FAIL(FM_ERR_PARSE, "the file ended before the size line %s", form);
    h->size_line = r->line;
    char *field[3];
    const int found = split_fields(r->buf, field, 3);
    if (found != want) LINE_FAIL(FM_ERR_PARSE, "expected %d fields on the size line %s, found %d", want, form, found);
    FM_TRY(parse_count(r, field[0], "rows", 1, &h->rows, msg));
    FM_TRY(parse_count(r, field[1], "columns", 1, &h->cols, msg));
    if (h->rows > FM_MAX_DIMENSION || h->cols > FM_MAX_DIMENSION)
        LINE_FAIL(FM_ERR_PARSE, "dimensions %" PRId64 " x %" PRId64 " are too large: a matrix has at most %" PRId64
                  " (2^60) rows and columns", h->rows, h->cols, FM_MAX_DIMENSION);
    if (h->symmetric && h->rows != h->cols)
        LINE_FAIL(FM_ERR_PARSE, "a symmetric matrix must be square, the size line gives %" PRId64 " x %" PRId64,
                  h->rows, h->cols);
    h->entries = -1;
    if (!h->array) FM_TRY(parse_count(r, field[2], "entries", 0, &h->entries, msg));
    return FM_OK;
#undef FREE_ALL
}

// A value field: a finite double, correctly rounded (strtod), or an integer.
static int parse_value(reader *r, const char *token, value_field field, double *value, char *msg)
{
#define FREE_ALL ((void)0)
    if (field == FIELD_INTEGER) {
        const char *stop;
        int64_t v = 0;
        const int status = fm_mtx_parse_int64(token, &v, &stop);
        if (status == NUMBER_OVERFLOW) LINE_FAIL(FM_ERR_PARSE, "integer value %s does not fit in 64 bits", show(token).text);
        if (status != NUMBER_OK)
            LINE_FAIL(FM_ERR_PARSE, "expected an integer value (the header says integer), found %s", show(token).text);
        *value = (double)v;
        return FM_OK;
    }
    char *end = NULL;
    errno = 0;
    const double v = strtod(token, &end);
    if (end == token) LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s", show(token).text);
    if (*end)
        LINE_FAIL(FM_ERR_PARSE, "expected a real value, found %s (trailing characters %s after the number)",
                  show(token).text, show(end).text);
    if (!isfinite(v))
        LINE_FAIL(FM_ERR_PARSE, "value %s is not finite (NaN, Inf and magnitudes beyond 1.8e308 are not allowed)",
                  show(token).text);
    *value = v;
    return FM_OK;
#undef FREE_ALL
}

// A 1-based index field within 1..limit, returned 0-based.
static int parse_index(reader *r, const char *token, const char *what, int64_t limit, int64_t *index, char *msg)
{
#define FREE_ALL ((void)0)
    const char *stop;
    int64_t v = 0;
    const int status = fm_mtx_parse_int64(token, &v, &stop);
    if (status == NUMBER_OVERFLOW || (status == NUMBER_OK && (v < 1 || v > limit)))
        LINE_FAIL(FM_ERR_PARSE, "%s index %s out of range 1..%" PRId64, what, show(token).text, limit);
    if (status != NUMBER_OK) LINE_FAIL(FM_ERR_PARSE, "expected an integer %s index, found %s", what, show(token).text);
    *index = v - 1;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The matrix
//------------------------------------------------------------------------------

// Room for `need` triplets in m (capacity grows by doubling up to `most`, the
// declared count, so a size line that promises more than the file holds
// allocates only for what is there).
static int reserve(fm_system_matrix *m, int64_t *capacity, int64_t need, int64_t most, const reader *r, char *msg)
{
    if (need <= *capacity) return FM_OK;
    int64_t grown = *capacity < FIRST_CAPACITY ? FIRST_CAPACITY : *capacity;
    while (grown < need) grown = grown > INT64_MAX / 2 ? INT64_MAX : 2 * grown;
    if (grown > most) grown = most;
    if ((uint64_t)grown > SIZE_MAX / sizeof(int64_t))
        return line_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory for %" PRId64 " entries", grown);
    const size_t k = (size_t)grown;
    int64_t *row = realloc(m->row, k * sizeof *row);
    if (row) m->row = row;
    int64_t *col = row ? realloc(m->col, k * sizeof *col) : NULL;
    if (col) m->col = col;
    double *val = col ? realloc(m->val, k * sizeof *val) : NULL;
    if (val) m->val = val;
    if (!val) return line_fail(FM_ERR_MEMORY, msg, r->path, r->line, "out of memory growing the entries to %" PRId64, grown);
    *capacity = grown;
    return FM_OK;
}

static int read_entries(reader *r, const header *h, fm_system_matrix *m, char *msg)
{
#define FREE_ALL ((void)0)
    const bool pattern = h->field == FIELD_PATTERN;
    const int want = pattern ? 2 : 3;
    const char *form = pattern ? "\"row col\"" : "\"row col value\"";
    int64_t capacity = 0, count = 0;
    int status;
    char *field[3];
    while ((status = next_data(r, msg)) > 0) {
        if (count == h->entries)
            LINE_FAIL(FM_ERR_PARSE, "more entries than the %" PRId64 " declared on line %" PRId64, h->entries,
                      h->size_line);
        const int found = split_fields(r->buf, field, 3);
        if (found != want) LINE_FAIL(FM_ERR_PARSE, "expected %d fields %s, found %d", want, form, found);
        int64_t i, j;
        double v = 1.0;
        FM_TRY(parse_index(r, field[0], "row", h->rows, &i, msg));
        FM_TRY(parse_index(r, field[1], "column", h->cols, &j, msg));
        if (!pattern) FM_TRY(parse_value(r, field[2], h->field, &v, msg));
        if (h->symmetric && i < j)
            LINE_FAIL(FM_ERR_PARSE, "entry (%" PRId64 ", %" PRId64 ") is above the diagonal: a symmetric file holds "
                      "the lower triangle (row >= column)", i + 1, j + 1);
        FM_TRY(reserve(m, &capacity, count + 1, h->entries, r, msg));
        m->row[count] = i;
        m->col[count] = j;
        m->val[count] = v;
        count++;
    }
    if (status < 0) return status;
    if (count < h->entries)
        return line_fail(FM_ERR_PARSE, msg, r->path, r->line, "the file ended after %" PRId64 " of the %" PRId64
                         " entries declared on line %" PRId64, count, h->entries, h->size_line);
    m->count = count;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read_system(fm_system_matrix **out, const char *path, char *msg)
{
    reader rd = { 0 }, *r = &rd;
    fm_system_matrix *m = NULL;
#define FREE_ALL do { reader_close(r); fm_system_matrix_free(&m); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_system: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_read_system: path must be a non-empty string");
    FM_PROFILE_START(profile_clock);
    FM_TRY(reader_open(r, path, msg));
    header h = { 0 };
    FM_TRY(read_header(r, &h, SYSTEM_HEADER_FORM, msg));
    if (h.array)
        LINE_FAIL(FM_ERR_PARSE, "expected a coordinate file %s for the matrix of a linear system, found an array "
                  "file", SYSTEM_HEADER_FORM);
    FM_TRY(read_size(r, &h, msg));
    if (h.rows != h.cols) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ": the matrix is %" PRId64 " x %" PRId64
                                  "; a linear system needs a square matrix", h.rows, h.cols);
        FREE_ALL;
        return status;
    }
    const int64_t n = h.rows;
    // the lower triangle of a symmetric matrix: n(n+1)/2, halved first, which
    // fits in 63 bits below n = 2^32 (beyond, more than any count)
    const int64_t most = h.symmetric ? (n >= (INT64_C(1) << 32) ? INT64_MAX
                                        : n % 2 == 0 ? n / 2 * (n + 1) : (n + 1) / 2 * n)
                                     : n > INT64_MAX / n ? INT64_MAX : n * n;
    if (h.entries > most)
        LINE_FAIL(FM_ERR_PARSE, "%" PRId64 " entries declared, more than the %" PRId64 " that %s %" PRId64 " x %" PRId64
                  " matrix holds", h.entries, most, h.symmetric ? "the lower triangle of a" : "a", n, n);
    FM_ALLOC(m, 1);
    m->n = n;
    m->symmetric = h.symmetric;
    FM_TRY(read_entries(r, &h, m, msg));
    // flops: none (parsing); bytes: the text parsed and the entries written (24 each)
    FM_PROFILE_STOP(profile_clock, "mtx.read_system", 0, (double)gztell(r->gz) + 24.0 * (double)m->count);
    reader_close(r);
    *out = m;
    return FM_OK;
#undef FREE_ALL
}

//------------------------------------------------------------------------------
// The right-hand side
//------------------------------------------------------------------------------

int fm_mtx_read_vector(double **out, const char *path, int64_t n, char *msg)
{
    reader rd = { 0 }, *r = &rd;
    double *x = NULL;
    int64_t *seen = NULL;   // coordinate files: the line of each index, 0 while unseen
#define FREE_ALL do { reader_close(r); free(x); free(seen); } while (0)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_mtx_read_vector: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_mtx_read_vector: path must be a non-empty string");
    FM_CHECK(n > 0 && n <= FM_MAX_DIMENSION, FM_ERR_INVALID, "fm_mtx_read_vector: %s: the length %" PRId64
             " must be positive", path, n);
    FM_TRY(reader_open(r, path, msg));
    header h = { 0 };
    FM_TRY(read_header(r, &h, VECTOR_HEADER_FORM, msg));
    if (h.symmetric) LINE_FAIL(FM_ERR_PARSE, "a right-hand side is a general n x 1 matrix, found \"symmetric\"");
    if (h.field == FIELD_PATTERN)
        LINE_FAIL(FM_ERR_PARSE, "a right-hand side needs values, found the field \"pattern\"");
    FM_TRY(read_size(r, &h, msg));
    if (h.rows != 1 && h.cols != 1) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ":%" PRId64 ": the right-hand side is a %" PRId64 " x %"
                                  PRId64 " matrix, expected a vector (n x 1 or 1 x n)", h.size_line, h.rows, h.cols);
        FREE_ALL;
        return status;
    }
    const int64_t length = h.rows == 1 ? h.cols : h.rows;
    const bool by_row = h.cols == 1;   // which index of a coordinate entry counts
    if (length != n) {
        int status = fm_fail_path(FM_ERR_PARSE, msg, path, ":%" PRId64 ": the right-hand side has %" PRId64
                                  " entries (%" PRId64 " x %" PRId64 "), the matrix has %" PRId64 " rows",
                                  h.size_line, length, h.rows, h.cols, n);
        FREE_ALL;
        return status;
    }
    if (!h.array && h.entries > n)
        LINE_FAIL(FM_ERR_PARSE, "%" PRId64 " entries declared on line %" PRId64 ", more than the %" PRId64
                  " of the vector", h.entries, h.size_line, n);
    FM_ALLOC(x, n);
    if (!h.array) FM_ALLOC(seen, n);
    const int64_t declared = h.array ? n : h.entries;
    const int want = h.array ? 1 : 3;
    const char *form = h.array ? "\"value\" (one value per line)" : "\"row col value\"";
    int64_t given = 0;
    int status;
    char *field[3];
    while ((status = next_data(r, msg)) > 0) {
        if (given == declared)
            LINE_FAIL(FM_ERR_PARSE, "more %s than the %" PRId64 " declared on line %" PRId64,
                      h.array ? "values" : "entries", declared, h.size_line);
        const int found = split_fields(r->buf, field, 3);
        if (found != want) LINE_FAIL(FM_ERR_PARSE, "expected %d field%s %s, found %d", want, want > 1 ? "s" : "",
                                     form, found);
        if (h.array) {
            FM_TRY(parse_value(r, field[0], h.field, &x[given], msg));
        } else {
            int64_t i, j;
            double v;
            FM_TRY(parse_index(r, field[0], "row", h.rows, &i, msg));
            FM_TRY(parse_index(r, field[1], "column", h.cols, &j, msg));
            FM_TRY(parse_value(r, field[2], h.field, &v, msg));
            const int64_t k = by_row ? i : j;
            if (seen[k])
                LINE_FAIL(FM_ERR_PARSE, "entry %" PRId64 " given again (first on line %" PRId64 ")", k + 1, seen[k]);
            seen[k] = r->line;
            x[k] = v;
        }
        given++;
    }
    if (status < 0) {
        FREE_ALL;
        return status;
    }
    if (given < declared)
        LINE_FAIL(FM_ERR_PARSE, "the file ended after %" PRId64 " of the %" PRId64 " %s declared on line %" PRId64,
                  given, declared, h.array ? "values" : "entries", h.size_line);
    reader_close(r);
    free(seen);
    *out = x;
    return FM_OK;
#undef FREE_ALL
}
