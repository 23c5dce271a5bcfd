// A data matrix in any of the text formats factormer reads (Matrix Market,
// triplet lines, dense CSV/TSV), the format named or told by the file: see
// factormer.h (fm_matrix_read_for_run).
#include "factormer.h"
#include "memory.h"
#include "status.h"
#include "text_matrix_parts.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *fm_format_name(fm_format format)
{
    switch (format) {
    case FM_FORMAT_MTX: return "mtx";
    case FM_FORMAT_TRIPLETS: return "triplets";
    case FM_FORMAT_CSV: return "csv";
    default: return "auto";
    }
}

int fm_format_parse(fm_format *format, const char *name, char *msg)
{
    static const fm_format formats[] = { FM_FORMAT_AUTO, FM_FORMAT_MTX, FM_FORMAT_TRIPLETS, FM_FORMAT_CSV };
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (name && !strcmp(name, fm_format_name(formats[i]))) {
            *format = formats[i];
            return FM_OK;
        }
    return fm_fail(FM_ERR_INVALID, msg, "unknown format '%s': expected auto, mtx, triplets or csv", name ? name : "");
}

// Whether `path` ends in `ending` (any case), before an optional ".gz".
static bool ends_with(const char *path, const char *ending)
{
    size_t n = strlen(path);
    if (n > 3 && !strcasecmp(path + n - 3, ".gz")) n -= 3;
    const size_t m = strlen(ending);
    return n > m && !strncasecmp(path + n - m, ending, m);
}

// Whether the file's first line is a Matrix Market header (a regular file
// only: a pipe cannot be read twice).
static bool has_mtx_header(const char *path)
{
    fm_mtx_reader r = { 0 };
    char ignored[FM_MSG_LEN];
    bool header = false;
    if (fm_mtx_reader_open(&r, path, ignored) == FM_OK) {
        if (r.regular && fm_mtx_reader_next(&r, ignored) > 0) {
            const char *line = r.buf;
            if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB && (unsigned char)line[2] == 0xBF)
                line += 3;
            header = !strncasecmp(line, "%%MatrixMarket", 14);
        }
    }
    fm_mtx_reader_close(&r);
    return header;
}

fm_format fm_format_of_path(const char *path)
{
    if (!path) return FM_FORMAT_MTX;
    if (ends_with(path, ".mtx") || ends_with(path, ".mm")) return FM_FORMAT_MTX;
    if (ends_with(path, ".csv") || ends_with(path, ".tsv")) return FM_FORMAT_CSV;
    if (ends_with(path, ".data") || ends_with(path, ".txt") || ends_with(path, ".dat") ||
        ends_with(path, ".triplets"))
        return has_mtx_header(path) ? FM_FORMAT_MTX : FM_FORMAT_TRIPLETS;
    return FM_FORMAT_MTX;
}

// FM_ERR_MEMORY when the run of `rank` on the graph of `kind` built from t
// exceeds the memory limit (the entries are read: what the file holds is
// known exactly, not declared).
static int check_memory(const char *path, const fm_triplets *t, fm_format format, fm_kind kind, int rank, char *msg)
{
    fm_memory_estimate e;
    fm_memory_estimate_run(&e, t->rows, t->cols, t->count, t->array, kind, rank);
    // the entries are held already: what remains is building the graph and the run
    const double need = e.peak;
    if (fm_memory_fits(need)) return FM_OK;
    char needs[160], limit[160], what[64];
    fm_memory_need_text(needs, sizeof needs, &e, need, rank);
    fm_memory_limit_text(limit, sizeof limit);
    if (rank > 0) snprintf(what, sizeof what, "for a rank-%d run", rank);
    else snprintf(what, sizeof what, "to build its graph");
    const fm_kind shown = kind != FM_KIND_AUTO ? kind : t->array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    return fm_fail_path(FM_ERR_MEMORY, msg, path, ": the %" PRId64 " x %" PRId64 " %s matrix read from this %s file "
                        "(%" PRId64 " %s) needs %s %s, more than %s", t->rows, t->cols, fm_kind_name(shown),
                        fm_format_name(format), t->count, t->array ? "values" : "entries", needs, what, limit);
}

int fm_matrix_read_for_run(fm_triplets **out, const char *path, fm_format format, fm_kind kind, int rank, char *msg)
{
    fm_triplets *t = NULL;
#define FREE_ALL fm_triplets_free(&t)
    FM_CHECK(out && !*out, FM_ERR_INVALID, "fm_matrix_read_for_run: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_matrix_read_for_run: path must be a non-empty string");
    if (format == FM_FORMAT_AUTO) format = fm_format_of_path(path);
    switch (format) {
    case FM_FORMAT_TRIPLETS: FM_TRY(fm_triplets_text_read(&t, path, kind == FM_KIND_INCOMPLETE, msg)); break;
    case FM_FORMAT_CSV: FM_TRY(fm_csv_read(&t, path, msg)); break;
    default: return fm_mtx_read_for_run(out, path, kind, rank, msg);   // checks memory from its size line
    }
    FM_TRY(check_memory(path, t, format, kind, rank > 0 ? rank : 0, msg));
    *out = t;
    return FM_OK;
#undef FREE_ALL
}
