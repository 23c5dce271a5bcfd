// Convergence traces and summaries. Each file is written under a temporary
// name in its directory and renamed only when complete.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "report.h"
#include "status.h"

void fm_csv_comment(FILE *f, const char *comment)
{
    for (const char *line = comment; line && *line;) {
        const size_t len = strcspn(line, "\n");
        fprintf(f, "# %.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

void fm_csv_text(FILE *f, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

int fm_trace_write_csv(const char *path, const fm_solver_result *r, const char *comment, char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    fm_csv_comment(file.f, comment);
    fprintf(file.f, "iteration,seconds,rmse,holdout_rmse,objective,model\n");
    for (int i = 0; i < r->trace_len; i++) {
        const fm_solver_iterate *s = &r->trace[i];
        fprintf(file.f, "%d,%.6f,%.9g,", s->iteration, s->seconds, s->rmse);
        if (isnan(s->holdout_rmse)) fprintf(file.f, ",");
        else fprintf(file.f, "%.9g,", s->holdout_rmse);
        fprintf(file.f, "%.12g,", s->objective);
        // the network whose output the row is: the initialization model at
        // iteration 0, the acceleration model on an accelerated row
        const char *model = s->accelerated ? r->accel_model : s->iteration == 0 ? r->init_model : NULL;
        if (model) fm_csv_text(file.f, model);
        fputc('\n', file.f);
    }
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}

int fm_json_write(const char *path, const char *const *keys, const char *const *values, int count,
                  char *msg)
{
    fm_atomic_file file = { 0 };
#define FREE_ALL fm_atomic_abort(&file)
    FM_TRY(fm_atomic_open(&file, path, msg));
    fprintf(file.f, "{\n");
    for (int i = 0; i < count; i++)
        fprintf(file.f, "  \"%s\": %s%s\n", keys[i], values[i], i + 1 < count ? "," : "");
    fprintf(file.f, "}\n");
    FM_TRY(fm_atomic_commit(&file, msg));
    return FM_OK;
#undef FREE_ALL
}
