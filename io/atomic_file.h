// A file written under a temporary name beside its final path and renamed
// onto it only when complete: readers never see half a file, and a failed
// write leaves nothing behind.
#ifndef FM_ATOMIC_FILE_H
#define FM_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct fm_atomic_file {
    const char *path;
    char *tmp;             // the temporary file's name while it exists
    FILE *f;
    char *buf;             // f's buffer, freed after f is closed
} fm_atomic_file;

// Create PATH.tmp.XXXXXX (tracked, below, until it is renamed or removed) with the permissions of a plain new file.
int fm_atomic_open(fm_atomic_file *file, const char *path, char *msg);
// Flush, check every write, sync, close and rename. On failure the caller
// calls fm_atomic_abort.
int fm_atomic_commit(fm_atomic_file *file, char *msg);
// Close and remove the temporary file, if any (safe to call twice).
void fm_atomic_abort(fm_atomic_file *file);

// The files this process would leave behind if it ended now: the temporary
// files of fm_atomic_open, and names a caller adds (an output set's staged
// files and lock). fm_temp_remove_all removes every one; it is
// async-signal-safe, for a handler that then ends the process (io/signals).
// A tracked name must stay valid until it is untracked. fm_temp_track
// returns false when FM_TEMP_SLOTS names are tracked already.
#define FM_TEMP_SLOTS 64
bool fm_temp_track(const char *path);
void fm_temp_untrack(const char *path);
void fm_temp_remove_all(void);

#endif
