// The per-op profile: the recorder, a kernel's own counts, the table and the
// JSON report, and `--profile` on the program's commands.
#define _GNU_SOURCE   // posix_spawn_file_actions_addchdir_np
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "products.h"
#include "profile.h"

extern char **environ;

TestSuite(profile, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Helpers
//------------------------------------------------------------------------------

static const fm_profile_entry *find_entry(const char *name)
{
    const fm_profile_entry *entries;
    const int count = fm_profile_entries(&entries);
    for (int e = 0; e < count; e++)
        if (!strcmp(entries[e].name, name)) return &entries[e];
    return NULL;
}

// `needle` occurs in `text`, and (when `after` is given) after it.
static const char *expect_in(const char *text, const char *needle, const char *after)
{
    const char *at = strstr(after ? after : text, needle);
    cr_assert_not_null(at, "\"%s\" missing%s in:\n%s", needle, after ? " (or out of order)" : "", text);
    return at;
}

// A small sparse graph: 4 rows, 5 columns, 7 edges (one row empty).
static fm_graph *small_graph(void)
{
    static const int64_t ptr[] = { 0, 2, 2, 5, 7 };
    static const int64_t idx[] = { 0, 3, 1, 2, 4, 0, 4 };
    static const float val[] = { 1, 2, 3, 4, 5, 6, 7 };
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_csr(&g, 4, 5, ptr, idx, val, FM_KIND_SPARSE, msg), FM_OK, "%s", msg);
    return g;
}

// Gather over the rows of the small graph with rank k.
static void run_gather(int k)
{
    char msg[FM_MSG_LEN];
    fm_graph *g = small_graph();
    fm_dense *sources = NULL, *out = NULL;
    cr_assert_eq(fm_dense_new(&sources, 5, k, msg), FM_OK);
    cr_assert_eq(fm_dense_new(&out, 4, k, msg), FM_OK);
    for (int64_t e = 0; e < 5 * k; e++) sources->data[e] = (float)(e % 7);
    fm_edges edges = { 0 };
    cr_assert_eq(fm_edges_borrow(&edges, g, FM_TO_ROWS, msg), FM_OK, "%s", msg);
    cr_assert_eq(edges.count, 7);
    fm_products_gather(out, &edges, sources);
    cr_assert_eq(fm_edges_return(&edges, msg), FM_OK, "%s", msg);
    // row 0 = 1·s0 + 2·s3: the kernel did run
    cr_assert_float_eq(out->data[0], 1 * sources->data[0] + 2 * sources->data[3 * k], 1e-6);
    fm_dense_free(&sources);
    fm_dense_free(&out);
    fm_graph_free(&g);
}

//------------------------------------------------------------------------------
// The recorder
//------------------------------------------------------------------------------

Test(profile, record_accumulates_by_name_in_first_seen_order)
{
    fm_profile_reset();
    fm_profile_record("ops.a", 1.0, 10, 100);
    fm_profile_record("ops.b", 2.0, 20, 200);
    char same_name[] = "ops.a";   // another pointer, the same name
    fm_profile_record(same_name, 0.5, 5, 50);
    const fm_profile_entry *entries;
    cr_assert_eq(fm_profile_entries(&entries), 2);
    cr_assert_str_eq(entries[0].name, "ops.a");
    cr_assert_str_eq(entries[1].name, "ops.b");
    cr_assert_eq(entries[0].calls, 2);
    cr_assert_float_eq(entries[0].seconds, 1.5, 1e-12);
    cr_assert_float_eq(entries[0].flops, 15, 1e-12);
    cr_assert_float_eq(entries[0].bytes, 150, 1e-12);
    cr_assert_eq(entries[1].calls, 1);
    cr_assert_float_eq(entries[1].seconds, 2.0, 1e-12);
    cr_assert_float_eq(entries[1].flops, 20, 1e-12);
    cr_assert_float_eq(entries[1].bytes, 200, 1e-12);
}

Test(profile, reset_empties_the_table)
{
    fm_profile_record("ops.a", 1.0, 1, 1);
    fm_profile_reset();
    const fm_profile_entry *entries;
    cr_assert_eq(fm_profile_entries(&entries), 0);
    fm_profile_record("ops.c", 1.0, 1, 1);
    cr_assert_eq(fm_profile_entries(&entries), 1);
    cr_assert_str_eq(entries[0].name, "ops.c");
    cr_assert_eq(entries[0].calls, 1);
}

//------------------------------------------------------------------------------
// A kernel's counts
//------------------------------------------------------------------------------

Test(profile, kernel_records_nothing_when_off)
{
    fm_profile_enable(false);
    fm_profile_reset();
    run_gather(3);
    const fm_profile_entry *entries;
    cr_assert_eq(fm_profile_entries(&entries), 0, "recorded %s while off", entries[0].name);
}

Test(profile, gather_counts_its_formula_exactly)
{
    fm_profile_reset();
    fm_profile_enable(true);
    const int k = 3;
    run_gather(k);
    run_gather(k);
    fm_profile_enable(false);
    const fm_profile_entry *gather = find_entry("products.gather");
    cr_assert_not_null(gather);
    const double T = 4, E = 7;
    cr_assert_eq(gather->calls, 2);
    cr_assert_eq(gather->flops, 2 * (2 * E * k), "flops %g", gather->flops);
    cr_assert_eq(gather->bytes, 2 * (8 * (T + 1) + 12 * E + 4 * E * k + 4 * T * k), "bytes %g", gather->bytes);
    cr_assert_geq(gather->seconds, 0);
    // the graph built inside run_gather records too, but nothing nests in the gather
    const fm_profile_entry *entries;
    const int count = fm_profile_entries(&entries);
    for (int e = 0; e < count; e++)
        cr_assert(!strcmp(entries[e].name, "products.gather") || !strcmp(entries[e].name, "graph.build"),
                  "unexpected op %s", entries[e].name);
}

//------------------------------------------------------------------------------
// Reports
//------------------------------------------------------------------------------

// ops.a: 2 s, 6 GFLOP, 8 GB in 2 calls; ops.b: 3 s, 3 GFLOP, no bytes.
static void record_two_ops(void)
{
    fm_profile_reset();
    fm_profile_record("ops.a", 1.5, 3e9, 4e9);
    fm_profile_record("ops.b", 3.0, 3e9, 0);
    fm_profile_record("ops.a", 0.5, 3e9, 4e9);
}

Test(profile, table_is_sorted_by_time_with_totals)
{
    record_two_ops();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    fm_profile_print(out, 10.0);
    fclose(out);
    const char *header = expect_in(text, "GFLOP/s", NULL);
    expect_in(text, "GB/s", header);
    const char *b = expect_in(text, "ops.b", header);
    const char *a = expect_in(text, "ops.a", b);   // slower first
    // ops.a: 2 calls, 2 s, 20% of 10 s, 3 GFLOP/s, 4 GB/s
    const char *a_end = strchr(a, '\n');
    cr_assert_not_null(a_end);
    char row[256];
    snprintf(row, sizeof row, "%.*s", (int)(a_end - a), a);
    cr_assert(strstr(row, " 2 ") && strstr(row, "2.0000") && strstr(row, "20.0%") && strstr(row, "3.00") &&
                  strstr(row, "4.00"),
              "row of ops.a: %s", row);
    const char *total = expect_in(text, "total (ops)", a);
    snprintf(row, sizeof row, "%.*s", (int)(strchr(total, '\n') - total), total);
    cr_assert(strstr(row, " 3 ") && strstr(row, "5.0000") && strstr(row, "50.0%"), "total row: %s", row);
    const char *outside = expect_in(text, "outside ops", total);
    expect_in(text, "50.0%", outside);
    expect_in(text, "10.0000", expect_in(text, "wall", outside));
    free(text);
}

Test(profile, json_has_the_expected_shape_and_no_tmp_file_remains)
{
    record_two_ops();
    const char *dir = fm_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/profile.json", dir);
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_profile_write_json(path, 10.0, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_test_count_files(dir), 1, "a temporary file remains in %s", dir);
    char *text = fm_test_read_text(path);
    cr_assert_eq(text[0], '{', "%s", text);
    cr_assert_str_eq(text + strlen(text) - 2, "}\n", "%s", text);
    expect_in(text, "\"wall_seconds\": 10,", NULL);
    char threads[64];
    snprintf(threads, sizeof threads, "\"threads\": %d,", fm_get_threads());
    expect_in(text, threads, NULL);
    const char *ops = expect_in(text, "\"ops\": [", NULL);
    const char *b = expect_in(text, "{\"name\": \"ops.b\", \"calls\": 1, \"seconds\": 3, \"share\": 0.3, "
                                    "\"flops\": 3000000000, \"bytes\": 0, \"gflops\": 1, \"gbs\": 0}",
                              ops);
    expect_in(text, "{\"name\": \"ops.a\", \"calls\": 2, \"seconds\": 2, \"share\": 0.2, "
                    "\"flops\": 6000000000, \"bytes\": 8000000000, \"gflops\": 3, \"gbs\": 4}",
              b);
    // brackets balance: one object, its settings, one array, two ops
    int braces = 0, brackets = 0, objects = 0;
    for (const char *c = text; *c; c++) {
        braces += (*c == '{') - (*c == '}');
        brackets += (*c == '[') - (*c == ']');
        objects += *c == '{';
        cr_assert_geq(braces, 0);
        cr_assert_geq(brackets, 0);
    }
    cr_assert_eq(braces, 0);
    cr_assert_eq(brackets, 0);
    cr_assert_eq(objects, 4);
    free(text);
    remove(path);
    rmdir(dir);
}

Test(profile, json_of_an_empty_table_and_a_bad_path)
{
    fm_profile_reset();
    const char *dir = fm_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/empty.json", dir);
    char msg[FM_MSG_LEN] = "";
    cr_assert_eq(fm_profile_write_json(path, 0.0, msg), FM_OK, "%s", msg);
    char *text = fm_test_read_text(path);
    expect_in(text, "\"ops\": []", NULL);
    free(text);
    remove(path);
    snprintf(path, sizeof path, "%s/missing/profile.json", dir);
    cr_assert_eq(fm_profile_write_json(path, 1.0, msg), FM_ERR_IO);
    cr_assert(strstr(msg, "missing/profile.json"), "message: %s", msg);
    cr_assert_eq(fm_test_count_files(dir), 0);
    rmdir(dir);
}

//------------------------------------------------------------------------------
// --profile on the program's commands
//------------------------------------------------------------------------------

typedef struct run {
    int status;
    char *out, *err;
} run;

// FM_BINARY with the NULL-terminated arguments, run in `dir` with 2 threads.
static run run_in(const char *dir, ...)
{
    char *argv[32] = { FM_BINARY };
    int argc = 1;
    va_list list;
    va_start(list, dir);
    for (const char *a; (a = va_arg(list, const char *)) && argc < 31;) argv[argc++] = (char *)a;
    va_end(list);
    argv[argc] = NULL;
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/../%s.stdout", dir, strrchr(dir, '/') + 1);
    snprintf(err_path, sizeof err_path, "%s/../%s.stderr", dir, strrchr(dir, '/') + 1);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    setenv("OMP_NUM_THREADS", "2", 1);
    pid_t pid;
    int err = posix_spawn(&pid, FM_BINARY, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    cr_assert_eq(err, 0, "cannot start %s: %s", FM_BINARY, strerror(err));
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) cr_assert_eq(errno, EINTR);
    run r = { WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus), fm_test_read_text(out_path),
              fm_test_read_text(err_path) };
    remove(out_path);
    remove(err_path);
    cr_assert(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error:"), "a sanitizer report:\n%s", r.err);
    return r;
}

#define RUN_IN(dir, ...) run_in((dir), __VA_ARGS__, (const char *)NULL)

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

static void remove_all(const char *dir, const char *const *names)
{
    for (; *names; names++) remove(fm_test_path(dir, *names));
    cr_assert_eq(rmdir(dir), 0, "%s is not empty", dir);
}

Test(profile, factorize_prints_the_table_and_writes_the_json)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    run r = RUN_IN(dir, "factorize", "--iters", "3", "--tol", "0", "--quiet", "--profile=F.json", "--out", "demo");
    cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
    const char *header = expect_in(r.err, "GFLOP/s", NULL);
    expect_in(r.err, "products.gather", header);
    expect_in(r.err, "hals.update_shared", header);   // the default H-update: the exact phase's (§3.1)
    expect_in(r.err, "admm.update_full", header);
    expect_in(r.err, "wall", header);
    expect_in(r.err, "F.json", header);
    char *json = fm_test_read_text(fm_test_path(dir, "F.json"));
    expect_in(json, "\"name\": \"products.gather\"", expect_in(json, "\"ops\": [", NULL));
    // the demo is dense: per iteration an H-update and a fused W-update
    expect_in(json, "\"name\": \"hals.update_shared\", \"calls\": 3,", NULL);
    expect_in(json, "\"name\": \"admm.update_full+residual\", \"calls\": 3,", NULL);
    free(json);
    run_free(&r);
    static const char *const made[] = { "F.json", "demo.W.mtx", "demo.H.mtx", "demo.trace.csv",
                                        "demo.summary.json", NULL };
    remove_all(dir, made);
}

Test(profile, info_takes_profile_and_writes_the_default_file)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    run r = RUN_IN(dir, "generate", "small.mtx", "--rows", "20", "--cols", "10", "--density", "0.5");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(!fm_test_exists(fm_test_path(dir, "factormer-profile.json")), "written without --profile");
    run_free(&r);
    r = RUN_IN(dir, "--profile", "info", "small.mtx");   // anywhere on the line
    cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
    expect_in(r.out, "20 x 10", NULL);
    const char *header = expect_in(r.err, "GFLOP/s", NULL);
    expect_in(r.err, "mtx.read", header);
    expect_in(r.err, "graph.build", header);
    char *json = fm_test_read_text(fm_test_path(dir, "factormer-profile.json"));
    expect_in(json, "\"name\": \"mtx.read\", \"calls\": 1,", NULL);
    free(json);
    run_free(&r);
    static const char *const made[] = { "small.mtx", "factormer-profile.json", NULL };
    remove_all(dir, made);
}

// The program sets the environment the user left unset before its work
// (cli/main.c restarts itself with it) and keeps what the user set; the
// profile records what the run ran under.
Test(profile, the_settings_the_program_runs_under_are_recorded)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    static const char *const names[] = { "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OPENBLAS_NUM_THREADS",
                                         "GLIBC_TUNABLES" };
    for (int v = 0; v < 4; v++) unsetenv(names[v]);
    run r = RUN_IN(dir, "generate", "small.mtx", "--rows", "20", "--cols", "10", "--density", "0.5");
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    r = RUN_IN(dir, "info", "small.mtx", "--profile=set.json");
    cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
    expect_in(r.err, "settings: OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=10000 OPENBLAS_NUM_THREADS=1 "
                     "GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
                     "glibc.malloc.trim_threshold=134217728:glibc.malloc.arena_max=1\n",
              expect_in(r.err, "wall", NULL));
    char *json = fm_test_read_text(fm_test_path(dir, "set.json"));
    expect_in(json, "\"settings\": {\"OMP_WAIT_POLICY\": \"passive\", \"GOMP_SPINCOUNT\": \"10000\", "
                    "\"OPENBLAS_NUM_THREADS\": \"1\", \"GLIBC_TUNABLES\": \"glibc.malloc.hugetlb=1:"
                    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728:"
                    "glibc.malloc.arena_max=1\"},",
              NULL);
    free(json);
    run_free(&r);
    // the user's choices stay; a policy without its spin count stays without;
    // a byte outside ASCII (an unknown tunable, which glibc ignores) is
    // escaped in the JSON
    setenv("OMP_WAIT_POLICY", "active", 1);
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    setenv("GLIBC_TUNABLES", "glibc.malloc.perturb=0:x\xe9", 1);
    r = RUN_IN(dir, "info", "small.mtx", "--profile=set.json");
    cr_assert_eq(r.status, 0, "exit %d:\n%s", r.status, r.err);
    expect_in(r.err, "settings: OMP_WAIT_POLICY=active GOMP_SPINCOUNT=(unset) OPENBLAS_NUM_THREADS=2 "
                     "GLIBC_TUNABLES=glibc.malloc.perturb=0:x\xe9\n",
              NULL);
    json = fm_test_read_text(fm_test_path(dir, "set.json"));
    expect_in(json, "\"settings\": {\"OMP_WAIT_POLICY\": \"active\", \"GOMP_SPINCOUNT\": null, "
                    "\"OPENBLAS_NUM_THREADS\": \"2\", \"GLIBC_TUNABLES\": \"glibc.malloc.perturb=0:x\\u00e9\"},",
              NULL);
    free(json);
    run_free(&r);
    static const char *const made[] = { "small.mtx", "set.json", NULL };
    remove_all(dir, made);
}

Test(profile, failed_command_prints_the_table_but_writes_no_json)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    run r = RUN_IN(dir, "info", "nothing.mtx", "--profile=F.json");
    cr_assert_eq(r.status, 1, "exit %d:\n%s", r.status, r.err);
    expect_in(r.err, "cannot open", NULL);
    expect_in(r.err, "not written", expect_in(r.err, "GFLOP/s", NULL));
    cr_assert_eq(fm_test_count_files(dir), 0, "the failed command left a file");
    run_free(&r);
    r = RUN_IN(dir, "info", "--profile=");
    cr_assert_eq(r.status, 2, "exit %d:\n%s", r.status, r.err);
    expect_in(r.err, "--profile=", NULL);
    run_free(&r);
    cr_assert_eq(rmdir(dir), 0);
}

Test(profile, every_help_lists_the_option)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fm_test_tmpdir());
    static const char *const commands[] = { "factorize", "info", "generate" };
    for (int c = 0; c < 3; c++) {
        run r = RUN_IN(dir, commands[c], "--help");
        cr_assert_eq(r.status, 0);
        expect_in(r.out, "--profile[=F.json]", NULL);
        run_free(&r);
    }
    run r = RUN_IN(dir, "--help");
    cr_assert_eq(r.status, 0);
    expect_in(r.out, "--profile[=F.json]", NULL);
    run_free(&r);
    cr_assert_eq(rmdir(dir), 0);
}
