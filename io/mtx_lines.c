// Matrix Market reading: messages that name the line, and the line reader
// (io/mtx_parts.h). The file streams through zlib, plain and gzip alike, one
// line at a time; blank lines and comments are recognized and a line is
// split into fields in place.
#include "mtx_parts.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "status.h"

#ifndef MTX_GZ_BUFFER                 // (the fuzz build makes it small: tests/fuzz/README.md)
#define MTX_GZ_BUFFER (1 << 20)       // zlib's input buffer
#endif

//------------------------------------------------------------------------------
// Messages
//------------------------------------------------------------------------------

int fm_mtx_fail(int code, char *msg, const char *path, int64_t line, const char *fmt, ...)
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

fm_mtx_token fm_mtx_show(const char *token)
{
    fm_mtx_token s;
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

void fm_mtx_reader_close(fm_mtx_reader *r)
{
    if (r->gz) gzclose(r->gz);
    r->gz = NULL;
    free(r->buf);
    r->buf = NULL;
}

int fm_mtx_reader_open(fm_mtx_reader *r, const char *path, char *msg)
{
    int fd = -1;
#define FREE_ALL do { if (fd >= 0) close(fd); fm_mtx_reader_close(r); } while (0)
    r->path = path;
    r->line = 0;
    if (r->line_max <= 0) r->line_max = MTX_LINE_MAX;
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
    FM_ALLOC(r->buf, (size_t)r->line_max + 2);
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
static int read_fail(const fm_mtx_reader *r, int err, const char *what, int64_t line, char *msg)
{
    if (err == Z_ERRNO) return fm_mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", strerror(errno));
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
        return fm_mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s: the gzip data are truncated", what);
    return fm_mtx_fail(FM_ERR_IO, msg, r->path, line, "read error: %s", what);
}

// Read the next line into r->buf: 1 read, 0 end of file, < 0 an error.
int fm_mtx_reader_next(fm_mtx_reader *r, char *msg)
{
#define FREE_ALL ((void)0)
    const int size = r->line_max + 2;
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
        MTX_LINE_FAIL(FM_ERR_PARSE, "line longer than %d characters", r->line_max);
    if (!newline) {
        // A truncated gzip stream hands out what it decoded, then the error.
        int err = Z_OK;
        const char *what = gzerror(r->gz, &err);
        if (err != Z_OK) return read_fail(r, err, what, r->line, msg);
    }
    // gzgets stops only at a newline or the end of the file; a line that is
    // neither ended at a NUL byte.
    if (!newline && !gzeof(r->gz))
        MTX_LINE_FAIL(FM_ERR_PARSE, "line contains a NUL byte: not a text Matrix Market file");
    return 1;
#undef FREE_ALL
}

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Blank lines and comments (first non-blank character '%') carry no data.
bool fm_mtx_is_skipped(const char *line)
{
    while (is_space(*line)) line++;
    return *line == '\0' || *line == '%';
}

// Split a line in place into whitespace-separated fields: the first `max`
// are NUL-terminated and stored; the return value counts all of them.
int fm_mtx_split_fields(char *line, char **field, int max)
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
