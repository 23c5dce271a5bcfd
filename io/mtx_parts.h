// The parts of the Matrix Market reader (io/mtx.c) that live in files of
// their own, for it and for any other reader of the format: messages that
// name the line and the line reader (io/mtx_lines.c), the header and the
// size line (io/mtx_header.c), number parsing (io/mtx_number.c) and the
// duplicate check (io/mtx_duplicates.c).
#ifndef FM_MTX_PARTS_H
#define FM_MTX_PARTS_H

#include <stdbool.h>
#include <stdint.h>

#include <zlib.h>

#include "factormer.h"

#define MTX_LINE_MAX 65536            // characters on one line, newline excluded
#define MTX_TOKEN_SHOWN 40            // characters of a bad token quoted in messages

//------------------------------------------------------------------------------
// Messages (io/mtx_lines.c)
//------------------------------------------------------------------------------

// "path:line: sentence" (the path shortened, not the sentence, when they do
// not fit; its control bytes escaped: fm_fail_path); returns `code`.
int fm_mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

// Fail with a message about the reader r's current line (FREE_ALL first).
#define MTX_LINE_FAIL(code, ...)                                                  \
    do { int mtx_status_ = fm_mtx_fail((code), msg, r->path, r->line, __VA_ARGS__); \
         FREE_ALL; return mtx_status_; } while (0)

// A token as shown in a message: quoted, cut to MTX_TOKEN_SHOWN characters,
// its control bytes escaped.
typedef struct { char text[4 * MTX_TOKEN_SHOWN + 8]; } fm_mtx_token;
fm_mtx_token fm_mtx_show(const char *token);

//------------------------------------------------------------------------------
// Lines and fields (io/mtx_lines.c)
//------------------------------------------------------------------------------

typedef struct {
    const char *path;
    gzFile gz;
    char *buf;             // the current line, NUL-terminated
    int64_t line;          // its 1-based number; after the end, the last line's
    int64_t size;          // the file's size, when it is a regular file
    bool regular;
    int line_max;          // characters on one line; 0 (before open): MTX_LINE_MAX
} fm_mtx_reader;

// Opens `path` (plain or gzip; FM_ERR_IO for a missing file or a directory).
int fm_mtx_reader_open(fm_mtx_reader *r, const char *path, char *msg);
void fm_mtx_reader_close(fm_mtx_reader *r);
// Read the next line into r->buf: 1 read, 0 end of file, < 0 an error (a
// line too long, a NUL byte, a read or gzip error).
int fm_mtx_reader_next(fm_mtx_reader *r, char *msg);
// Blank lines and comments (first non-blank character '%') carry no data.
bool fm_mtx_is_skipped(const char *line);
// Split a line in place into whitespace-separated fields: the first `max`
// are NUL-terminated and stored; the return value counts all of them.
int fm_mtx_split_fields(char *line, char **field, int max);

//------------------------------------------------------------------------------
// Header and size line (io/mtx_header.c)
//------------------------------------------------------------------------------

typedef enum { FM_MTX_REAL, FM_MTX_INTEGER, FM_MTX_PATTERN } fm_mtx_field;

typedef struct {
    bool array, symmetric;
    fm_mtx_field field;
    int64_t rows, cols;
    int64_t entries;       // declared lines of data: entries, or values for array
    int64_t size_line;     // where the size line was
} fm_mtx_header;

// The header "%%MatrixMarket matrix <coordinate|array> <real|integer|pattern>
// <general|symmetric>" from the first line (a UTF-8 byte order mark allowed),
// then the size line after any comments: rows and columns (at most
// FM_MAX_DIMENSION, square when symmetric), and the entries a coordinate
// file declares (no more than the matrix holds). FM_ERR_PARSE naming the
// line otherwise. The messages quote `form`, the header the caller expects
// (NULL: any header above), and say complex matrices cannot be `use`d
// ("factorized", "solved") here.
int fm_mtx_read_header(fm_mtx_reader *r, fm_mtx_header *h, const char *form, const char *use, char *msg);
int fm_mtx_read_size(fm_mtx_reader *r, fm_mtx_header *h, char *msg);

//------------------------------------------------------------------------------
// Numbers (io/mtx_number.c) and duplicates (io/mtx_duplicates.c)
//------------------------------------------------------------------------------

enum { NUMBER_OK = 0, NUMBER_NONE, NUMBER_TRAILING, NUMBER_OVERFLOW };

// A whole token as a decimal int64 with an optional sign; *stop is where
// parsing stopped (for the message about trailing characters).
int fm_mtx_parse_int64(const char *s, int64_t *value, const char **stop);
// A whole token as a float, correctly rounded (strtof's result).
int fm_mtx_parse_float(const char *s, float *value, const char **stop);

// A data line's fields, for the reader r's current line (FM_ERR_PARSE naming
// it): a value, finite and nonnegative, in the header's field type; a
// 1-based index within 1..limit (`what`: "row", "column"), returned 0-based.
int fm_mtx_parse_value(fm_mtx_reader *r, const char *token, fm_mtx_field field, float *value, char *msg);
int fm_mtx_parse_index(fm_mtx_reader *r, const char *token, const char *what, int64_t limit, int64_t *index,
                       char *msg);

// A coordinate data line's fields (split by the caller, 2 for a pattern
// file, else 3): the 0-based row and column and the value (1 for a
// pattern), an entry above the diagonal of a symmetric file refused.
int fm_mtx_parse_entry(fm_mtx_reader *r, const fm_mtx_header *h, char **field, int64_t *i, int64_t *j, float *v,
                       char *msg);

// The earliest repeated coordinate of t, by the line of its second
// occurrence (lines[k]: the line of entry k); FM_ERR_PARSE naming both
// lines. Symmetric files were expanded: their mirrored (upper) copies are
// skipped.
int fm_mtx_check_duplicates(const char *path, const fm_triplets *t, const int64_t *lines, bool symmetric,
                            char *msg);
// The same for a block numbered from the file's row `first_row` and column
// `first_col` (the message names the file's coordinates); *line: the line
// of the repeat named, INT64_MAX without one.
int fm_mtx_check_duplicates_from(const char *path, const fm_triplets *t, const int64_t *lines, bool symmetric,
                                 int64_t first_row, int64_t first_col, int64_t *line, char *msg);

#endif
