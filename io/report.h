// Pieces of the CSV reports (io/report.c), for any writer of one.
#ifndef FM_REPORT_H
#define FM_REPORT_H

#include <stdio.h>

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line
// break, its quotes doubled.
void fm_csv_text(FILE *f, const char *text);
// Each line of `comment` (NULL or empty: none) as a "# line" at the top.
void fm_csv_comment(FILE *f, const char *comment);

#endif
