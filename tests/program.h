// Running the `factormer` program (FM_BINARY) from a test as a child
// process, with OMP_NUM_THREADS=2, and reading back what it left: shared by
// the suites of its outputs (test_outputs, test_run_record).
#ifndef FM_TEST_PROGRAM_H
#define FM_TEST_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

// A fresh directory (root) with an empty out/ in it.
typedef struct prog_scratch {
    char root[256], out[300];
} prog_scratch;

prog_scratch prog_scratch_new(void);
// Remove a file or a directory tree (directories made writable first).
void prog_remove_tree(const char *path);
// X = W H, rows x cols of rank 3 (seed 5), written as an array file in root.
const char *prog_planted_file(const prog_scratch *s, const char *name, int64_t rows, int64_t cols);

// The names in a directory, sorted, separated by spaces ("" when empty); the
// test fails unless they are `want`.
char *prog_listing(const char *dir);
void prog_expect_listing(const char *dir, const char *want);

typedef struct prog_options {
    rlim_t file_size;   // RLIMIT_FSIZE in bytes; 0: none
    bool as_nobody;     // when root, run as uid/gid 65534 (so that permissions apply)
} prog_options;

typedef struct prog_child {
    pid_t pid;
    int status;         // the exit code, or 128 + the signal that ended it
    char out_path[320], err_path[320];
    char *out, *err;    // after prog_wait
    char *argv[64];
} prog_child;

// Start FM_BINARY with the NULL-terminated arguments, stdin from /dev/null,
// stdout and stderr into files in s->root; wait for it (out, err, status;
// the test fails on a sanitizer report).
prog_child prog_start_list(const prog_scratch *s, prog_options o, const char *const *args);
void prog_wait(prog_child *c);
void prog_child_free(prog_child *c);
// Start and wait.
prog_child prog_run_list(const prog_scratch *s, prog_options o, const char *const *args);
#define PROG_START(s, o, ...) prog_start_list((s), (o), (const char *const[]){ __VA_ARGS__, NULL })
#define PROG_RUN_WITH(s, o, ...) prog_run_list((s), (o), (const char *const[]){ __VA_ARGS__, NULL })
#define PROG_RUN(s, ...) PROG_RUN_WITH((s), (prog_options){ 0 }, __VA_ARGS__)

void prog_expect_status(const prog_child *c, int code);
// stderr holds `words`.
void prog_expect_said(const prog_child *c, const char *words);
// Wait until the running child's stderr holds `text` (the test fails if it
// ends first or takes over two minutes).
void prog_wait_for_text(const prog_child *c, const char *text);

// The number of "key": in a JSON summary (NAN for null); "key": "value" is
// in it.
double prog_json_number(const char *json, const char *key);
void prog_expect_json_string(const char *json, const char *key, const char *value);

#endif
