// PNG figures drawn by gnuplot: see plot.h.
#include "plot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "status.h"

bool fm_plot_available(void)
{
    const char *path = getenv("PATH");
    if (!path) return false;
    char dir[4096], exe[4200];
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        const size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = 0;
            snprintf(exe, sizeof exe, "%s/gnuplot", dir);
            struct stat st;
            if (stat(exe, &st) == 0 && S_ISREG(st.st_mode) && access(exe, X_OK) == 0) return true;
        }
        if (!end) break;
        p = end + 1;
    }
    return false;
}

void fm_plot_quote(char *out, size_t size, const char *text)
{
    size_t n = 0;
    if (size < 3) return;
    out[n++] = '\'';
    for (const char *c = text; *c && n + 3 < size; c++) {
        if (*c == '\'') out[n++] = '\'';
        out[n++] = *c;
    }
    out[n++] = '\'';
    out[n] = 0;
}

int fm_plot_run(const char *png, int width, int height, const char *script, char *msg)
{
    char tmp[4200], quoted[8500], errors[4300], first[512] = "";
    FILE *pipe = NULL;
#define FREE_ALL { if (pipe) pclose(pipe); remove(tmp); remove(errors); }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", png, (long)getpid());
    snprintf(errors, sizeof errors, "%s.gnuplot.%ld", png, (long)getpid());
    fm_plot_quote(quoted, sizeof quoted, errors);
    // gnuplot's messages go to a file beside the figure, read back on failure
    char command[8600];
    snprintf(command, sizeof command, "gnuplot 2>%s", quoted);
    FM_CHECK((pipe = popen(command, "w")), FM_ERR_IO, "%s: cannot start gnuplot", png);
    fm_plot_quote(quoted, sizeof quoted, tmp);
    fprintf(pipe, "set terminal pngcairo size %d,%d noenhanced font 'sans,10'\nset output %s\n%s\nset output\n",
            width, height, quoted, script);
    const int status = pclose(pipe);
    pipe = NULL;
    if (status != 0) {
        FILE *e = fopen(errors, "r");
        if (e) {
            // the first line that says something
            while (fgets(first, sizeof first, e) && strspn(first, " \t\r\n^") == strlen(first)) {}
            first[strcspn(first, "\r\n")] = 0;
            fclose(e);
        }
        FM_FAIL(FM_ERR_IO, "%s: gnuplot failed (%s%d)%s%s", png, WIFEXITED(status) ? "exit code " : "status ",
                WIFEXITED(status) ? WEXITSTATUS(status) : status, *first ? ": " : "", first);
    }
    remove(errors);
    FM_CHECK(rename(tmp, png) == 0, FM_ERR_IO, "%s: cannot write the figure", png);
    return FM_OK;
#undef FREE_ALL
}

void fm_plot_add(fm_plot_script *s, const char *format, ...)
{
    if (s->failed) return;
    for (;;) {
        va_list args;
        va_start(args, format);
        const int n = vsnprintf(s->text ? s->text + s->len : NULL, s->text ? s->cap - s->len : 0, format, args);
        va_end(args);
        if (n < 0) { s->failed = true; return; }
        if (s->text && s->len + (size_t)n < s->cap) { s->len += (size_t)n; return; }
        const size_t cap = 2 * (s->cap + (size_t)n) + 4096;
        char *grown = realloc(s->text, cap);
        if (!grown) { s->failed = true; return; }
        s->text = grown;
        s->cap = cap;
    }
}
