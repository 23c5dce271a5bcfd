#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "signals.h"
#include "status.h"

struct fm_output_set {
    int count;
    char *final[FM_OUTPUT_SET_MAX], *staged[FM_OUTPUT_SET_MAX];
    bool live[FM_OUTPUT_SET_MAX];   // staged[i] exists and is tracked
    char *lock_path;
    int lock_fd;
    bool locked;                    // lock_path is ours and tracked
};

// The directory of `path` ("." for a bare name) into `dir`.
static void directory_of(char *dir, size_t size, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, size, ".");
    else if (slash == path) snprintf(dir, size, "/");
    else snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

// "WHAT PATH: " for a file checked alone, "WHAT PREFIX: PATH " for a file of
// a set (shown is the prefix).
static void subject(char *out, size_t size, const char *path, const char *what, const char *shown)
{
    if (!strcmp(path, shown)) snprintf(out, size, "%s %s", what, path);
    else snprintf(out, size, "%s %s: %s", what, shown, path);
}

// The directory of `path` exists and this process may create files in it.
static int check_directory(const char *path, const char *what, const char *shown, char *msg)
{
    char dir[4096], who[FM_MSG_LEN];
    directory_of(dir, sizeof dir, path);
    subject(who, sizeof who, path, what, shown);
    struct stat st;
    if (stat(dir, &st) != 0)
        return fm_fail(FM_ERR_IO, msg, "%s cannot be written: directory %s: %s", who, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fm_fail(FM_ERR_IO, msg, "%s cannot be written: %s: %s", who, dir, strerror(ENOTDIR));
    if (access(dir, W_OK | X_OK) != 0)
        return fm_fail(FM_ERR_IO, msg, "%s cannot be written: the directory %s is not writable: %s", who, dir,
                       strerror(errno));
    return FM_OK;
}

// An existing `path` is a plain file (a rename may replace it).
static int check_existing(const char *path, const char *what, const char *shown, char *msg)
{
    char who[FM_MSG_LEN];
    subject(who, sizeof who, path, what, shown);
    struct stat st;
    if (stat(path, &st) != 0) return FM_OK;
    if (S_ISDIR(st.st_mode)) return fm_fail(FM_ERR_IO, msg, "%s is a directory", who);
    if (!S_ISREG(st.st_mode))
        return fm_fail(FM_ERR_IO, msg, "%s is not a regular file (a device, a FIFO or a socket)", who);
    return FM_OK;
}

// A name that cannot be a file's: empty, or ending in '/'. `example` is a
// name to suggest inside the directory.
static int check_name(const char *path, const char *what, const char *example, char *msg)
{
    if (!path || !*path) return fm_fail(FM_ERR_INVALID, msg, "%s: expected a file name, not an empty one", what);
    if (path[strlen(path) - 1] == '/')
        return fm_fail(FM_ERR_INVALID, msg, "%s %s names a directory: give a name inside it, such as %s%s", what,
                       path, path, example);
    return FM_OK;
}

int fm_output_check(const char *path, const char *what, char *msg)
{
    int status = check_name(path, what, "out", msg);
    if (status == FM_OK) status = check_existing(path, what, path, msg);
    if (status == FM_OK) status = check_directory(path, what, path, msg);
    return status;
}

static int lock_prefix(fm_output_set *set, const char *what, const char *prefix, char *msg)
{
    for (int attempt = 0;; attempt++) {
        set->lock_fd = open(set->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (set->lock_fd < 0)
            return fm_fail(FM_ERR_IO, msg, "%s %s: cannot create the lock file %s: %s", what, prefix, set->lock_path,
                           strerror(errno));
        if (flock(set->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            char owner[32] = "";
            const ssize_t got = pread(set->lock_fd, owner, sizeof owner - 1, 0);
            const long pid = got > 0 ? strtol(owner, NULL, 10) : 0;
            close(set->lock_fd);
            set->lock_fd = -1;
            if (err != EWOULDBLOCK)
                return fm_fail(FM_ERR_IO, msg, "%s %s: cannot lock %s: %s", what, prefix, set->lock_path,
                               strerror(err));
            if (pid > 0)
                return fm_fail(FM_ERR_IO, msg, "%s %s is in use by pid %ld (%s is locked): wait for that run or "
                               "choose another prefix", what, prefix, pid, set->lock_path);
            return fm_fail(FM_ERR_IO, msg, "%s %s is in use by another run (%s is locked): wait for that run or "
                           "choose another prefix", what, prefix, set->lock_path);
        }
        // The lock holds if the file is still the one at lock_path: its
        // previous holder removes it on leaving, maybe after we opened it.
        struct stat held, there;
        if (fstat(set->lock_fd, &held) == 0 && stat(set->lock_path, &there) == 0 && held.st_dev == there.st_dev &&
            held.st_ino == there.st_ino)
            break;
        close(set->lock_fd);
        set->lock_fd = -1;
        if (attempt == 100)
            return fm_fail(FM_ERR_IO, msg, "%s %s: the lock file %s keeps changing", what, prefix, set->lock_path);
    }
    if (!fm_temp_track(set->lock_path))
        return fm_fail(FM_ERR_IO, msg, "%s %s: more than %d files are being written at once", what, prefix,
                       FM_TEMP_SLOTS);
    set->locked = true;
    char pid[32];
    const int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(set->lock_fd, 0) != 0 || pwrite(set->lock_fd, pid, (size_t)len, 0) != len)
        return fm_fail(FM_ERR_IO, msg, "%s %s: cannot write the lock file %s: %s", what, prefix, set->lock_path,
                       strerror(errno));
    return FM_OK;
}

int fm_output_set_open(fm_output_set **out, const char *what, const char *prefix, const char *const *suffixes,
                       int count, char *msg)
{
    fm_output_set *set = NULL;
#define FREE_ALL fm_output_set_free(&set)
    FM_CHECK(out && !*out && count >= 1 && count <= FM_OUTPUT_SET_MAX, FM_ERR_INVALID,
             "fm_output_set_open: expected an empty handle and 1 to %d files", FM_OUTPUT_SET_MAX);
    FM_TRY(check_name(prefix, what, "run", msg));
    struct stat st;
    FM_CHECK(!(stat(prefix, &st) == 0 && S_ISDIR(st.st_mode)), FM_ERR_IO,
             "%s %s is a directory: give a prefix inside it (such as %s/run)", what, prefix, prefix);
    FM_ALLOC(set, 1);
    set->lock_fd = -1;
    set->count = count;
    const size_t len = strlen(prefix);
    for (int i = 0; i < count; i++) {
        FM_ALLOC(set->final[i], len + strlen(suffixes[i]) + 1);
        memcpy(set->final[i], prefix, len);
        strcpy(set->final[i] + len, suffixes[i]);
    }
    FM_TRY(check_directory(set->final[0], what, prefix, msg));
    for (int i = 0; i < count; i++) FM_TRY(check_existing(set->final[i], what, prefix, msg));
    FM_ALLOC(set->lock_path, len + sizeof ".lock");
    memcpy(set->lock_path, prefix, len);
    memcpy(set->lock_path + len, ".lock", sizeof ".lock");
    // no signal between creating the lock file and tracking it
    fm_signals_hold(true);
    const int locked = lock_prefix(set, what, prefix, msg);
    fm_signals_hold(false);
    FM_TRY(locked);
    *out = set;
    return FM_OK;
#undef FREE_ALL
}

int fm_output_set_stage(fm_output_set *set, char *msg)
{
#define FREE_ALL
    for (int i = 0; i < set->count; i++) {
        if (set->live[i]) continue;
        free(set->staged[i]);
        const size_t len = strlen(set->final[i]);
        FM_ALLOC(set->staged[i], len + sizeof ".tmp.XXXXXX");
        memcpy(set->staged[i], set->final[i], len);
        memcpy(set->staged[i] + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
        FM_CHECK(fm_temp_track(set->staged[i]), FM_ERR_IO, "%s: more than %d files are being written at once",
                 set->final[i], FM_TEMP_SLOTS);
        const int fd = mkstemp(set->staged[i]);
        if (fd < 0) {
            const int err = errno;
            fm_temp_untrack(set->staged[i]);
            FM_FAIL(FM_ERR_IO, "%s: cannot create a temporary file next to it: %s", set->final[i], strerror(err));
        }
        close(fd);
        set->live[i] = true;
    }
    return FM_OK;
#undef FREE_ALL
}

const char *fm_output_set_final(const fm_output_set *set, int i) { return set->final[i]; }

const char *fm_output_set_staged(const fm_output_set *set, int i)
{
    return set->live[i] ? set->staged[i] : set->final[i];
}

int fm_output_set_commit(fm_output_set *set, char *msg)
{
    int status = FM_OK;
    const fm_signals_mode mode = fm_signals_mode_set(FM_SIGNALS_DEFER);
    for (int i = 0; i < set->count && status == FM_OK; i++) {
        if (!set->live[i]) continue;
        if (rename(set->staged[i], set->final[i]) != 0) {
            status = fm_fail(FM_ERR_IO, msg, "%s: cannot rename the temporary file %s onto it: %s", set->final[i],
                             set->staged[i], strerror(errno));
            break;
        }
        fm_temp_untrack(set->staged[i]);
        set->live[i] = false;
    }
    fm_signals_mode_set(mode);
    return status;
}

void fm_output_set_name_final(const fm_output_set *set, char *msg)
{
    for (int i = 0; i < set->count; i++) {
        if (!set->staged[i]) continue;
        char *at = strstr(msg, set->staged[i]);
        if (!at) continue;
        char rest[FM_MSG_LEN];
        snprintf(rest, sizeof rest, "%s", at + strlen(set->staged[i]));
        snprintf(at, FM_MSG_LEN - (size_t)(at - msg), "%s%s", set->final[i], rest);
    }
}

void fm_output_set_free(fm_output_set **handle)
{
    fm_output_set *set = handle ? *handle : NULL;
    if (!set) return;
    for (int i = 0; i < set->count; i++) {
        if (set->live[i]) {
            unlink(set->staged[i]);
            fm_temp_untrack(set->staged[i]);
        }
        free(set->staged[i]);
        free(set->final[i]);
    }
    if (set->locked) {
        // untracked first (no signal in between): a lock another run takes
        // once it is gone is never removed by this one's handler
        fm_signals_hold(true);
        fm_temp_untrack(set->lock_path);
        unlink(set->lock_path);
        fm_signals_hold(false);
    }
    if (set->lock_fd >= 0) close(set->lock_fd);
    free(set->lock_path);
    free(set);
    *handle = NULL;
}
