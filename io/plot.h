// PNG figures drawn by gnuplot (a Debian package the set-up script
// installs). The program runs `gnuplot` from PATH with a script on its
// standard input; the PNG is written to a temporary name and renamed when
// gnuplot succeeds, so a failed plot leaves nothing behind.
#ifndef FM_PLOT_H
#define FM_PLOT_H

#include <stdbool.h>
#include <stdio.h>

// Whether an executable `gnuplot` is on PATH.
bool fm_plot_available(void);

// A gnuplot string literal of `text` ('...' with every ' doubled) in `out`.
void fm_plot_quote(char *out, size_t size, const char *text);

// Runs `script` (the commands after the terminal and the output are set)
// for a width × height pixel PNG at `png`. FM_ERR_IO when gnuplot cannot be
// started or fails, with the first line it printed.
int fm_plot_run(const char *png, int width, int height, const char *script, char *msg);

#endif
