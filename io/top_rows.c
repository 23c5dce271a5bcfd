// The heaviest rows of each component as a TSV file, and the names of rows
// read from a file of one name per line (factormer.h: fm_top_rows_write_tsv,
// fm_names_read).
#include "factormer.h"
#include "atomic_file.h"
#include "report.h"
#include "status.h"
#include "text_matrix_parts.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int fm_top_rows_write_tsv(const char *path, const fm_top_rows *t, const char *const *names, const char *comment,
                          char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_CHECK(t && path, FM_ERR_INVALID, "fm_top_rows_write_tsv: nothing to write");
    FM_TRY(fm_atomic_open(&file, path, msg));
    fm_csv_comment(file.f, comment);
    fprintf(file.f, "component\trank\trow\tweight\tw_column\tcomponent_weight\n");
    for (int c = 0; c < t->rank; c++)
        for (int p = 0; p < t->n; p++) {
            const size_t at = (size_t)c * (size_t)t->n + (size_t)p;
            fprintf(file.f, "%d\t%d\t", c + 1, p + 1);
            if (names) fputs(names[t->row[at]], file.f);
            else fprintf(file.f, "%" PRId64, t->row[at] + 1);
            fprintf(file.f, "\t%.9g\t%d\t%.9g\n", t->value[at], t->component[c] + 1, t->weight[c]);
        }
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}

void fm_names_free(char ***names, int64_t count)
{
    if (!names || !*names) return;
    for (int64_t i = 0; i < count; i++) free((*names)[i]);
    free(*names);
    *names = NULL;
}

int fm_names_read(char ***out, int64_t *count, const char *path, char *msg)
{
    fm_mtx_reader reader = { 0 }, *r = &reader;
    char **names = NULL;
    int64_t n = 0, capacity = 0;
#define FREE_ALL do { fm_mtx_reader_close(r); fm_names_free(&names, n); } while (0)
    FM_CHECK(out && !*out && count, FM_ERR_INVALID, "fm_names_read: output handle must be non-NULL and empty");
    FM_CHECK(path && *path, FM_ERR_INVALID, "fm_names_read: path must be a non-empty string");
    FM_TRY(fm_mtx_reader_open(r, path, msg));
    int status;
    while ((status = fm_mtx_reader_next(r, msg)) > 0) {
        char *line = r->buf;
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        line[len] = 0;
        if (len == 0) MTX_LINE_FAIL(FM_ERR_PARSE, "empty name: expected one name per line");
        if (strchr(line, '\t')) MTX_LINE_FAIL(FM_ERR_PARSE, "the name %s holds a tab", fm_mtx_show(line).text);
        if (n == capacity) {
            const int64_t grown = fm_text_capacity(capacity, n + 1);
            FM_TRY(fm_text_resize((void **)&names, sizeof *names, grown, r, msg));
            capacity = grown;
        }
        names[n] = strdup(line);
        if (!names[n]) MTX_LINE_FAIL(FM_ERR_MEMORY, "out of memory for the name");
        n++;
    }
    if (status < 0) {   // the reader's error, in msg
        FREE_ALL;
        return status;
    }
    if (n == 0) {
        fm_mtx_fail(FM_ERR_PARSE, msg, path, 1, "the file is empty, expected one name per line");
        FREE_ALL;
        return FM_ERR_PARSE;
    }
    fm_mtx_reader_close(r);
    *out = names;
    *count = n;
    return FM_OK;
#undef FREE_ALL
}
