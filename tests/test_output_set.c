// io/output and io/signals in the process itself: the checks of an output
// name, the prefix lock, the staged set, and what a signal does in each mode
// (in a forked child, which the signal ends).
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "helpers.h"
#include "output.h"
#include "signals.h"

TestSuite(output_set, .init = fm_test_setup);

static const char *const suffixes[2] = { ".A.txt", ".B.txt" };

// Entries of `dir`, "." and ".." excepted, whose name holds `part`.
static int count_named(const char *dir, const char *part)
{
    char command[600];
    snprintf(command, sizeof command, "ls -A '%s' | grep -c -F -e '%s'", dir, part);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    int n = -1;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void write_file(const char *path, const char *text)
{
    fm_test_write(path, text);
}

// Write `text` to a staged file of the set through an atomic file.
static void write_staged(fm_output_set *set, int i, const char *text)
{
    char msg[FM_MSG_LEN];
    fm_atomic_file file = { 0 };
    cr_assert_eq(fm_atomic_open(&file, fm_output_set_staged(set, i), msg), FM_OK, "%s", msg);
    fputs(text, file.f);
    cr_assert_eq(fm_atomic_commit(&file, msg), FM_OK, "%s", msg);
}

Test(output_set, names_checked)
{
    const char *dir = fm_test_tmpdir();
    char msg[FM_MSG_LEN], path[600];
    cr_expect_eq(fm_output_check("", "--json", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "--json") && strstr(msg, "empty"), "%s", msg);
    snprintf(path, sizeof path, "%s/", dir);
    cr_expect_eq(fm_output_check(path, "--json", msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "names a directory"), "%s", msg);
    cr_expect_eq(fm_output_check(dir, "--json", msg), FM_ERR_IO);
    cr_expect(strstr(msg, "is a directory"), "%s", msg);
    cr_expect_eq(fm_output_check("/dev/null", "--json", msg), FM_ERR_IO);
    cr_expect(strstr(msg, "not a regular file"), "%s", msg);
    snprintf(path, sizeof path, "%s/none/x.json", dir);
    cr_expect_eq(fm_output_check(path, "--json", msg), FM_ERR_IO);
    cr_expect(strstr(msg, path) && strstr(msg, strerror(ENOENT)), "%s", msg);
    snprintf(path, sizeof path, "%s/x.json", dir);
    cr_expect_eq(fm_output_check(path, "--json", msg), FM_OK, "%s", msg);
    write_file(path, "old\n");
    cr_expect_eq(fm_output_check(path, "--json", msg), FM_OK, "%s", msg);   // a file to replace
    cr_expect_eq(fm_output_check("bare-name.json", "--json", msg), FM_OK, "%s", msg);   // in "."
    remove(path);
    rmdir(dir);
}

// The set is renamed into place whole; free removes the lock; a second open
// of a locked prefix is refused with the holder's pid; a lock file a dead
// process left behind is taken over.
Test(output_set, lock_stage_commit)
{
    const char *dir = fm_test_tmpdir();
    char prefix[600], lock[620], a[620], msg[FM_MSG_LEN];
    snprintf(prefix, sizeof prefix, "%s/run", dir);
    snprintf(lock, sizeof lock, "%s.lock", prefix);
    snprintf(a, sizeof a, "%s.A.txt", prefix);
    write_file(lock, "999999999\n");   // stale: no process holds it
    write_file(a, "previous A\n");

    fm_output_set *set = NULL, *second = NULL;
    cr_assert_eq(fm_output_set_open(&set, "--out", prefix, suffixes, 2, msg), FM_OK, "%s", msg);
    char *owner = fm_test_read_text(lock);
    cr_expect_eq(strtol(owner, NULL, 10), (long)getpid(), "the lock file holds %s", owner);
    free(owner);
    cr_expect_eq(fm_output_set_open(&second, "--out", prefix, suffixes, 2, msg), FM_ERR_IO);
    char pid[64];
    snprintf(pid, sizeof pid, "in use by pid %ld", (long)getpid());
    cr_expect(strstr(msg, pid), "%s", msg);
    cr_expect_null(second);

    cr_assert_eq(fm_output_set_stage(set, msg), FM_OK, "%s", msg);
    cr_expect_str_neq(fm_output_set_staged(set, 0), fm_output_set_final(set, 0));
    cr_expect_str_eq(fm_output_set_final(set, 0), a);
    write_staged(set, 0, "new A\n");
    write_staged(set, 1, "new B\n");
    char *text = fm_test_read_text(a);
    cr_expect_str_eq(text, "previous A\n", "a final file changed before the commit");
    free(text);
    cr_assert_eq(fm_output_set_commit(set, msg), FM_OK, "%s", msg);
    fm_output_set_free(&set);
    cr_expect_null(set);
    text = fm_test_read_text(a);
    cr_expect_str_eq(text, "new A\n");
    free(text);
    cr_expect(!fm_test_exists(lock), "the lock file is still there");
    cr_expect_eq(fm_test_count_files(dir), 2);

    // a set freed before its commit leaves the final files as they were
    cr_assert_eq(fm_output_set_open(&set, "--out", prefix, suffixes, 2, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_output_set_stage(set, msg), FM_OK, "%s", msg);
    write_staged(set, 0, "abandoned\n");
    fm_output_set_free(&set);
    text = fm_test_read_text(a);
    cr_expect_str_eq(text, "new A\n");
    free(text);
    cr_expect_eq(fm_test_count_files(dir), 2, "%d files", fm_test_count_files(dir));
    fm_test_remove_dir(dir);
}

//------------------------------------------------------------------------------
// Signals, in a forked child
//------------------------------------------------------------------------------

// Run `body(dir)` in a child and return how it ended: the exit code, or 128
// + the signal that ended it.
static int in_child(void (*body)(const char *dir), const char *dir)
{
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        body(dir);
        _exit(0);
    }
    int wstatus;
    cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

// A set of dir/run half-written (one staged file written, one atomic file
// open on the other) and an atomic file open on dir/alone.txt: the files a
// signal must remove.
static fm_output_set *half_written(const char *dir, fm_atomic_file *open_file, fm_atomic_file *alone)
{
    char prefix[600], path[600], msg[FM_MSG_LEN];
    snprintf(prefix, sizeof prefix, "%s/run", dir);
    fm_output_set *set = NULL;
    if (fm_output_set_open(&set, "--out", prefix, suffixes, 2, msg) || fm_output_set_stage(set, msg)) _exit(10);
    write_staged(set, 0, "new A\n");
    if (fm_atomic_open(open_file, fm_output_set_staged(set, 1), msg)) _exit(11);
    fputs("half of B", open_file->f);
    snprintf(path, sizeof path, "%s/alone.txt", dir);
    if (fm_atomic_open(alone, path, msg)) _exit(12);
    return set;
}

// Before the writing: the previous set and alone.txt.
static void previous_files(const char *dir)
{
    write_file(fm_test_path(dir, "run.A.txt"), "previous A\n");
    write_file(fm_test_path(dir, "run.B.txt"), "previous B\n");
    write_file(fm_test_path(dir, "alone.txt"), "previous alone\n");
}

// After: those three as they were, and nothing else.
static void expect_previous_files(const char *dir)
{
    cr_expect_eq(fm_test_count_files(dir), 3, "%d files; temporaries: %d, lock: %d", fm_test_count_files(dir),
                 count_named(dir, ".tmp."), count_named(dir, ".lock"));
    static const char *const names[3] = { "run.A.txt", "run.B.txt", "alone.txt" };
    static const char *const texts[3] = { "previous A\n", "previous B\n", "previous alone\n" };
    for (int i = 0; i < 3; i++) {
        char *text = fm_test_read_text(fm_test_path(dir, names[i]));
        cr_expect_str_eq(text, texts[i], "%s changed", names[i]);
        free(text);
    }
    fm_test_remove_dir(dir);
}

static void terminated_while_writing(const char *dir)
{
    fm_signals_catch();
    fm_atomic_file open_file, alone;
    half_written(dir, &open_file, &alone);
    raise(SIGTERM);
    _exit(1);   // not reached
}

Test(output_set, a_signal_while_writing_removes_every_temporary)
{
    const char *dir = fm_test_tmpdir();
    previous_files(dir);
    cr_expect_eq(in_child(terminated_while_writing, dir), 128 + SIGTERM);
    expect_previous_files(dir);
}

// FM_SIGNALS_STOP: the first signal is recorded, the second ends the process.
static void interrupted_twice(const char *dir)
{
    fm_signals_catch();
    fm_signals_mode_set(FM_SIGNALS_STOP);
    raise(SIGINT);
    if (fm_signals_caught() != SIGINT) _exit(20);
    fm_atomic_file open_file, alone;
    half_written(dir, &open_file, &alone);
    raise(SIGINT);
    _exit(21);
}

Test(output_set, a_second_signal_ends_a_stopping_run)
{
    const char *dir = fm_test_tmpdir();
    previous_files(dir);
    cr_expect_eq(in_child(interrupted_twice, dir), 128 + SIGINT);
    expect_previous_files(dir);
}

// A signal sent to another thread is handled on the writing thread.
static void *send_to_self(void *unused)
{
    (void)unused;
    pthread_kill(pthread_self(), SIGHUP);
    return NULL;
}

static void hung_up_on_a_worker(const char *dir)
{
    fm_signals_catch();
    fm_atomic_file open_file, alone;
    half_written(dir, &open_file, &alone);
    pthread_t worker;
    if (pthread_create(&worker, NULL, send_to_self, NULL)) _exit(30);
    pthread_join(worker, NULL);
    for (int i = 0; i < 500; i++) usleep(10000);   // the signal ends the process meanwhile
    _exit(31);
}

Test(output_set, a_signal_on_another_thread)
{
    const char *dir = fm_test_tmpdir();
    previous_files(dir);
    cr_expect_eq(in_child(hung_up_on_a_worker, dir), 128 + SIGHUP);
    expect_previous_files(dir);
}

// FM_SIGNALS_DEFER (the renames of a commit): a signal waits for the end of
// the section, then ends the process with the set committed.
static void terminated_during_the_renames(const char *dir)
{
    char prefix[600], msg[FM_MSG_LEN];
    snprintf(prefix, sizeof prefix, "%s/run", dir);
    fm_signals_catch();
    fm_output_set *set = NULL;
    if (fm_output_set_open(&set, "--out", prefix, suffixes, 2, msg) || fm_output_set_stage(set, msg)) _exit(40);
    write_staged(set, 0, "new A\n");
    write_staged(set, 1, "new B\n");
    fm_signals_mode_set(FM_SIGNALS_DEFER);
    raise(SIGTERM);
    write_file(fm_test_path(dir, "still-running"), "");
    if (fm_output_set_commit(set, msg)) _exit(41);   // in DEFER: the mode it restores is DEFER
    fm_signals_mode_set(FM_SIGNALS_END);             // ends the process
    _exit(42);
}

Test(output_set, a_signal_during_the_renames_waits_for_them)
{
    const char *dir = fm_test_tmpdir();
    previous_files(dir);
    cr_expect_eq(in_child(terminated_during_the_renames, dir), 128 + SIGTERM);
    cr_expect(fm_test_exists(fm_test_path(dir, "still-running")));
    char *text = fm_test_read_text(fm_test_path(dir, "run.B.txt"));
    cr_expect_str_eq(text, "new B\n");
    free(text);
    cr_expect_eq(fm_test_count_files(dir), 4, "temporaries: %d, lock: %d", count_named(dir, ".tmp."),
                 count_named(dir, ".lock"));
    fm_test_remove_dir(dir);
}
