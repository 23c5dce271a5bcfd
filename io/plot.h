// PNG figures drawn by gnuplot (a Debian package the set-up script
// installs). The program runs `gnuplot` from PATH with a script on its
// standard input; the PNG is written to a temporary name and renamed when
// gnuplot succeeds, so a failed plot leaves nothing behind.
#ifndef FM_PLOT_H
#define FM_PLOT_H

#include <stdbool.h>
#include <stdio.h>

// A gnuplot script growing in memory. fm_plot_add appends printf-style; a
// failed allocation sets `failed` and makes later additions do nothing, for
// the caller to check once before fm_plot_run. Start from { 0 }; free `text`.
typedef struct fm_plot_script {
    char *text;
    size_t len, cap;
    bool failed;
} fm_plot_script;

void fm_plot_add(fm_plot_script *s, const char *format, ...) __attribute__((format(printf, 2, 3)));

// Whether an executable `gnuplot` is on PATH.
bool fm_plot_available(void);

// A gnuplot string literal of `text` ('...' with every ' doubled) in `out`.
void fm_plot_quote(char *out, size_t size, const char *text);

// Runs `script` (the commands after the terminal and the output are set)
// for a width × height pixel PNG at `png`. FM_ERR_IO when gnuplot cannot be
// started or fails, with the first line it printed.
int fm_plot_run(const char *png, int width, int height, const char *script, char *msg);

#endif
