// Running the `factormer` program from a test (tests/program.h).
#include "program.h"

#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

//------------------------------------------------------------------------------
// Files
//------------------------------------------------------------------------------

// The names in a directory, sorted and separated by spaces ("" when empty).
char *prog_listing(const char *dir)
{
    char *names[256];
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d)) && n < 256;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    char *text = calloc(1, 16384);
    cr_assert_not_null(text);
    for (int i = 0; i < n; i++) {
        if (i) strncat(text, " ", 16383 - strlen(text));
        strncat(text, names[i], 16383 - strlen(text));
        free(names[i]);
    }
    return text;
}

void prog_expect_listing(const char *dir, const char *want)
{
    char *have = prog_listing(dir);
    cr_assert_str_eq(have, want, "%s holds \"%s\", expected \"%s\"", dir, have, want);
    free(have);
}

// A fresh directory with an empty out/ in it.
prog_scratch prog_scratch_new(void)
{
    prog_scratch s;
    snprintf(s.root, sizeof s.root, "%s", fm_test_tmpdir());
    snprintf(s.out, sizeof s.out, "%s/out", s.root);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    return s;
}

void prog_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0755);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            prog_remove_tree(child);
        }
        if (d) closedir(d);
    }
    remove(path);
}

// X = W H, rows x cols of rank 3 (seed 5), written as an array file.
const char *prog_planted_file(const prog_scratch *s, const char *name, int64_t rows, int64_t cols)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_synthetic_planted(&t, rows, cols, 3, 0.0, 1.0, 5, msg), FM_OK, "%s", msg);
    fm_dense view = { t->rows, t->cols, t->val };
    const char *path = fm_test_path(s->root, name);
    cr_assert_eq(fm_mtx_write_dense(path, &view, NULL, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    return path;
}

//------------------------------------------------------------------------------
// Running the program
//------------------------------------------------------------------------------

// Start FM_BINARY with the NULL-terminated arguments; stdout and stderr go
// to files in `s->root`, OMP_NUM_THREADS=2.
prog_child prog_start_list(const prog_scratch *s, prog_options o, const char *const *args)
{
    static int serial = 0;
    prog_child c = { 0 };
    c.argv[0] = FM_BINARY;
    int argc = 1;
    for (; args[argc - 1]; argc++) {
        cr_assert_lt(argc, 63);
        c.argv[argc] = (char *)args[argc - 1];
    }
    c.argv[argc] = NULL;
    serial++;
    snprintf(c.out_path, sizeof c.out_path, "%s/stdout.%d.txt", s->root, serial);
    snprintf(c.err_path, sizeof c.err_path, "%s/stderr.%d.txt", s->root, serial);
    int n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    cr_assert_not_null(env);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16)) env[m++] = environ[i];
    env[m++] = "OMP_NUM_THREADS=2";
    const bool drop = o.as_nobody && geteuid() == 0;
    fflush(NULL);
    c.pid = fork();
    cr_assert_geq(c.pid, 0, "fork: %s", strerror(errno));
    if (c.pid == 0) {   // async-signal-safe calls only, then exec
        int in = open("/dev/null", O_RDONLY);
        int out = open(c.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int err = open(c.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (in < 0 || out < 0 || err < 0) _exit(120);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (o.file_size) {
            struct rlimit limit = { o.file_size, o.file_size };
            if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(121);
        }
        if (drop && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(122);
        execve(FM_BINARY, c.argv, env);
        _exit(123);
    }
    free(env);
    return c;
}

void prog_wait(prog_child *c)
{
    int wstatus;
    pid_t done;
    while ((done = waitpid(c->pid, &wstatus, 0)) < 0 && errno == EINTR) {}
    cr_assert_eq(done, c->pid, "waitpid: %s", strerror(errno));
    c->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    // (empty when a signal ended the child before it made them)
    c->out = fm_test_read_text_or_null(c->out_path);
    c->err = fm_test_read_text_or_null(c->err_path);
    if (!c->out) cr_assert_not_null(c->out = strdup(""));
    if (!c->err) cr_assert_not_null(c->err = strdup(""));
    remove(c->out_path);
    remove(c->err_path);
    cr_assert(!strstr(c->err, "Sanitizer") && !strstr(c->err, "runtime error:"), "a sanitizer report:\n%s", c->err);
}

void prog_child_free(prog_child *c)
{
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}

prog_child prog_run_list(const prog_scratch *s, prog_options o, const char *const *args)
{
    prog_child c = prog_start_list(s, o, args);
    prog_wait(&c);
    return c;
}

void prog_expect_status(const prog_child *c, int code)
{
    cr_assert_eq(c->status, code, "exit code %d, expected %d\n--- stdout ---\n%s--- stderr ---\n%s", c->status, code,
                 c->out, c->err);
}

void prog_expect_said(const prog_child *c, const char *words)
{
    cr_assert_not_null(strstr(c->err, words), "stderr lacks \"%s\":\n%s", words, c->err);
}

// Wait until the running child's stderr holds `text` (the test fails if it
// ends first or takes over two minutes).
void prog_wait_for_text(const prog_child *c, const char *text)
{
    for (int waited = 0;; waited++) {
        char *err = fm_test_read_text_or_null(c->err_path);
        const bool there = err && strstr(err, text);
        int wstatus;
        cr_assert(there || waitpid(c->pid, &wstatus, WNOHANG) == 0, "the program ended before printing \"%s\":\n%s",
                  text, err ? err : "");
        free(err);
        if (there) return;
        cr_assert_lt(waited, 6000, "no \"%s\" after two minutes", text);
        nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
    }
}

double prog_json_number(const char *json, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", key);
    const char *p = strstr(json, quoted);
    cr_assert_not_null(p, "the summary lacks %s:\n%s", quoted, json);
    p += strlen(quoted);
    if (!strncmp(p, "null", 4)) return NAN;
    char *end;
    const double x = strtod(p, &end);
    cr_assert(end != p && (*end == ',' || *end == '\n'), "%s is not a number in:\n%s", quoted, json);
    return x;
}

void prog_expect_json_string(const char *json, const char *key, const char *value)
{
    char pair[256];
    snprintf(pair, sizeof pair, "\"%s\": \"%s\"", key, value);
    cr_assert_not_null(strstr(json, pair), "the summary lacks %s:\n%s", pair, json);
}

