#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

int fm_atomic_open(fm_atomic_file *file, const char *path, char *msg)
{
    memset(file, 0, sizeof *file);
    size_t len = strlen(path);
    file->path = strdup(path);
    file->tmp = malloc(len + 16);
    if (!file->path || !file->tmp) {
        fm_atomic_abort(file);
        return fm_fail(FM_ERR_MEMORY, msg, "%s: out of memory", path);
    }
    snprintf(file->tmp, len + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(file->tmp);
    if (fd < 0) {
        int err = errno;
        free(file->tmp);
        file->tmp = NULL;
        fm_atomic_abort(file);
        return fm_fail(FM_ERR_IO, msg, "%s: cannot create: %s", path, strerror(err));
    }
    // mkstemp creates 0600; give the output the permissions of a plain file
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    file->f = fdopen(fd, "w");
    if (!file->f) {
        close(fd);
        fm_atomic_abort(file);
        return fm_fail(FM_ERR_IO, msg, "%s: cannot open for writing", path);
    }
    setvbuf(file->f, NULL, _IOFBF, 1 << 20);
    return FM_OK;
}

int fm_atomic_commit(fm_atomic_file *file, char *msg)
{
    int failed = ferror(file->f) != 0;
    failed |= fflush(file->f) != 0;
    int err = errno;
    failed |= fclose(file->f) != 0;
    file->f = NULL;
    if (!failed && rename(file->tmp, file->path) == 0) {
        free(file->tmp);
        free(file->path);
        memset(file, 0, sizeof *file);
        return FM_OK;
    }
    if (!failed) err = errno;
    int status = fm_fail(FM_ERR_IO, msg, "%s: write failed: %s", file->path, strerror(err));
    fm_atomic_abort(file);
    return status;
}

void fm_atomic_abort(fm_atomic_file *file)
{
    if (file->f) fclose(file->f);
    if (file->tmp) unlink(file->tmp);
    free(file->tmp);
    free(file->path);
    memset(file, 0, sizeof *file);
}
