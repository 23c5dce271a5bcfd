#include "atomic_file.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

#define FM_STDIO_BUFFER (1 << 20)

// 0666 less the process umask, read without changing it (umask() would race
// with other threads creating files).
static mode_t file_mode(void)
{
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "Umask:", 6) == 0) { mask = (mode_t)strtol(line + 6, NULL, 8); break; }
        fclose(f);
    }
    return 0666 & ~mask;
}

// Pointers stored and loaded whole (lock-free atomics, which a signal handler
// may read). A handler runs on the main thread (io/signals), between two
// statements of the code that tracks and untracks: a name is tracked before
// its file exists and untracked after the file is gone or renamed, before the
// string is freed, so the handler never meets a freed name and never misses
// a file.
static _Atomic(const char *) tracked[FM_TEMP_SLOTS];

bool fm_temp_track(const char *path)
{
    for (int i = 0; i < FM_TEMP_SLOTS; i++) {
        const char *empty = NULL;
        if (atomic_compare_exchange_strong(&tracked[i], &empty, path)) return true;
    }
    return false;
}

void fm_temp_untrack(const char *path)
{
    for (int i = 0; i < FM_TEMP_SLOTS; i++) {
        const char *name = path;
        if (atomic_compare_exchange_strong(&tracked[i], &name, NULL)) return;
    }
}

void fm_temp_remove_all(void)
{
    for (int i = 0; i < FM_TEMP_SLOTS; i++) {
        const char *name = atomic_load(&tracked[i]);
        if (name) unlink(name);
    }
}

void fm_atomic_abort(fm_atomic_file *w)
{
    if (w->f) fclose(w->f);
    w->f = NULL;
    if (w->tmp) {
        unlink(w->tmp);
        fm_temp_untrack(w->tmp);
    }
    free(w->tmp);
    w->tmp = NULL;
    free(w->buf);
    w->buf = NULL;
}

int fm_atomic_open(fm_atomic_file *w, const char *path, char *msg)
{
    int fd = -1;
#define FREE_ALL do { if (fd >= 0) close(fd); fm_atomic_abort(w); } while (0)
    memset(w, 0, sizeof *w);
    w->path = path;
    size_t len = strlen(path);
    FM_ALLOC(w->tmp, len + sizeof ".tmp.XXXXXX");
    memcpy(w->tmp, path, len);
    memcpy(w->tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    if (!fm_temp_track(w->tmp)) {
        free(w->tmp);
        w->tmp = NULL;
        FM_FAIL(FM_ERR_IO, "%s: more than %d files are being written at once", path, FM_TEMP_SLOTS);
    }
    fd = mkstemp(w->tmp);
    if (fd < 0) {
        int err = errno;
        fm_temp_untrack(w->tmp);
        free(w->tmp);
        w->tmp = NULL;   // nothing was created
        FM_FAIL(FM_ERR_IO, "%s: cannot create a temporary file next to it: %s", path, strerror(err));
    }
    if (fchmod(fd, file_mode()) != 0)
        FM_FAIL(FM_ERR_IO, "%s: cannot set the temporary file's permissions: %s", path, strerror(errno));
    w->f = fdopen(fd, "w");
    if (!w->f) FM_FAIL(FM_ERR_IO, "%s: cannot open a stream on the temporary file: %s", path, strerror(errno));
    fd = -1;   // fclose closes it now
    FM_ALLOC(w->buf, FM_STDIO_BUFFER);
    if (setvbuf(w->f, w->buf, _IOFBF, FM_STDIO_BUFFER) != 0) {
        free(w->buf);
        w->buf = NULL;
    }
    return FM_OK;
#undef FREE_ALL
}

int fm_atomic_commit(fm_atomic_file *w, char *msg)
{
    if (fflush(w->f) != 0 || ferror(w->f))
        return fm_fail(FM_ERR_IO, msg, "%s: write failed: %s", w->path, strerror(errno));
    if (fsync(fileno(w->f)) != 0 && errno != EINVAL && errno != ENOTSUP)
        return fm_fail(FM_ERR_IO, msg, "%s: cannot sync the file to disk: %s", w->path, strerror(errno));
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0)
        return fm_fail(FM_ERR_IO, msg, "%s: cannot close the file: %s", w->path, strerror(errno));
    if (rename(w->tmp, w->path) != 0)
        return fm_fail(FM_ERR_IO, msg, "%s: cannot rename the temporary file %s onto it: %s", w->path,
                       w->tmp, strerror(errno));
    fm_temp_untrack(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
    free(w->buf);
    w->buf = NULL;
    return FM_OK;
}
