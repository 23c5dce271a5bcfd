// factormer factorize --row-names FILE --top N: the heaviest rows of each
// component, printed and written to PREFIX.top.tsv (cli/factorize_top.c).
#ifndef FM_CLI_FACTORIZE_TOP_H
#define FM_CLI_FACTORIZE_TOP_H

#include <stdint.h>

#include "factormer.h"

typedef struct fm_factorize_top {
    const char *names_path;   // --row-names, or NULL
    int n;                    // --top, 0: none (10 when only --row-names is given)
    char **names;
    int64_t count;
    fm_top_rows *rows;
} fm_factorize_top;

// The names of --row-names, checked against the data's rows (FM_ERR_INVALID
// naming both counts).
int fm_factorize_top_load(fm_factorize_top *top, int64_t rows, char *msg);
// The top rows of W, H, written to `path` (the staged PREFIX.top.tsv).
int fm_factorize_top_write(fm_factorize_top *top, const fm_dense *W, const fm_dense *H, const char *path,
                           const char *comment, char *msg);
// The components and their top rows on stdout; `final` is the file's final name.
void fm_factorize_top_print(const fm_factorize_top *top, const char *final);
void fm_factorize_top_free(fm_factorize_top *top);

#endif
