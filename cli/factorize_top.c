// factormer factorize --row-names FILE --top N: see factorize_top.h.
#include "factorize_top.h"

#include <inttypes.h>
#include <stdio.h>

#include "args.h"
#include "status.h"

int fm_factorize_top_load(fm_factorize_top *top, int64_t rows, char *msg)
{
#define FREE_ALL ((void)0)
    if (!top->names_path) return FM_OK;
    FM_TRY(fm_names_read(&top->names, &top->count, top->names_path, msg));
    FM_CHECK(top->count == rows, FM_ERR_INVALID,
             "--row-names %s has %" PRId64 " name%s, but the data has %" PRId64 " rows: give one name per row",
             fm_arg_shown(top->names_path), top->count, top->count == 1 ? "" : "s", rows);
    return FM_OK;
#undef FREE_ALL
}

int fm_factorize_top_write(fm_factorize_top *top, const fm_dense *W, const fm_dense *H, const char *path,
                           const char *comment, char *msg)
{
#define FREE_ALL ((void)0)
    if (top->n <= 0) return FM_OK;
    FM_TRY(fm_top_rows_get(&top->rows, W, H, top->n, msg));
    FM_TRY(fm_top_rows_write_tsv(path, top->rows, (const char *const *)top->names, comment, msg));
    return FM_OK;
#undef FREE_ALL
}

void fm_factorize_top_print(const fm_factorize_top *top, const char *final)
{
    const fm_top_rows *t = top->rows;
    if (!t) return;
    printf("top %d rows of each component (components by weight ||W[:,r]|| ||H[r,:]||, heaviest first):\n", t->n);
    for (int c = 0; c < t->rank; c++) {
        printf("  %3d (weight %.4g, W column %d):", c + 1, t->weight[c], t->component[c] + 1);
        for (int p = 0; p < t->n; p++) {
            const int64_t i = t->row[(size_t)c * (size_t)t->n + (size_t)p];
            if (top->names) printf(" %s", top->names[i]);
            else printf(" %" PRId64, i + 1);
        }
        printf("\n");
    }
    printf("  wrote        %s\n", fm_arg_shown(final));
}

void fm_factorize_top_free(fm_factorize_top *top)
{
    fm_names_free(&top->names, top->count);
    fm_top_rows_free(&top->rows);
}
