// Every allocation failed in turn. Each scenario runs the factormer program
// once under the shim tests/brutal/brutal_malloc.c with no failure, to learn
// the number T of counted allocations (which calls count and why: the shim's
// header), then once for each N = 1..T with the N-th one failed. Every run
// must end either
//   - with exit 0 and its complete set of outputs, or
//   - with a nonzero exit (not a signal: no crash, no abort) and a message on
//     stderr that says "out of memory" (or "Cannot allocate memory", ENOMEM's
//     strerror), and either all of the output set or none of it,
// with no temporary file (*.tmp.*) or lock (*.lock) left behind and no counted allocation
// still live at exit (the shim's own accounting: factormer frees everything
// on every path). glibc's MALLOC_PERTURB_ makes a read of freed memory on a
// failure path likelier to show (ASan and valgrind replace malloc, so
// neither can run under the shim).
//
// Deterministic: one thread (OMP_NUM_THREADS=1, OpenBLAS too), so the N-th
// counted call is the same call in every run; the test checks that two runs
// without a failure count the same T. Small generated matrices and one or
// two iterations keep all scenarios to about 2 500 runs of the
// program. FM_BRUTAL_STRIDE=S (default 1) tries every S-th N only, for a
// quick local look; the suite runs every N.
//
// Built only without FM_SANITIZE: AddressSanitizer replaces malloc itself,
// so the shim cannot wrap it (CMakeLists.txt leaves this suite out there).
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"

TestSuite(brutal_malloc, .timeout = 600);

#define RUN_SECONDS 60   // one run of the program; more is a hang
#define MAX_OUTPUTS 6

typedef struct scenario {
    const char *name;
    const char *args[40];            // after the program's name; NULL-terminated
    const char *outputs[MAX_OUTPUTS];   // the output set (names in the output folder)
    const char *only_on_success;     // written only when the command succeeds (or NULL)
} scenario;

typedef struct outcome {
    int exit_code;                   // -1: ended by a signal
    int signal;
    bool reported;                   // the shim's report was written
    unsigned long counted, failed, live;
    char failed_at[256], first_leak[256];
    char err[4096];                  // the end of stderr
} outcome;

static char data_dir[256], out_dir[256];

// One run of the program: stdout to /dev/null, stderr and the shim's report
// into the data folder, outputs into out_dir.
static outcome run_once(const scenario *s, unsigned long fail_at)
{
    char report[320], err_path[320], fail[32];
    snprintf(report, sizeof report, "%s/report.txt", data_dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", data_dir);
    snprintf(fail, sizeof fail, "%lu", fail_at);
    remove(report);
    const char *argv[48] = { FM_BINARY };
    int argc = 1;
    for (int a = 0; s->args[a]; a++) argv[argc++] = s->args[a];
    argv[argc] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR), err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (null < 0 || err < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0) _exit(126);
        if (chdir(out_dir) != 0) _exit(126);
        setenv("OMP_NUM_THREADS", "1", 1);
        // with these three set the program does not restart itself
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
        // glibc fills each new block with ~165 and each freed one with 165: a
        // read of uninitialized or freed memory on a failure path goes wrong
        setenv("MALLOC_PERTURB_", "165", 1);
        setenv("FM_BRUTAL_FAIL", fail, 1);
        setenv("FM_BRUTAL_REPORT", report, 1);
        setenv("LD_PRELOAD", FM_BRUTAL_SHIM, 1);
        alarm(RUN_SECONDS);   // survives exec: a hang ends with SIGALRM
        execv(FM_BINARY, (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
    outcome o = { .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                  .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0 };
    FILE *f = fopen(report, "r");
    if (f) {
        char line[512], text[256];
        unsigned long value;
        o.reported = true;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "counted %lu", &value) == 1) o.counted = value;
            else if (sscanf(line, "failed %lu", &value) == 1) o.failed = value;
            else if (sscanf(line, "live %lu", &value) == 1) o.live = value;
            else if (sscanf(line, "failed_at %255s", text) == 1) snprintf(o.failed_at, sizeof o.failed_at, "%s", text);
            else if (!o.first_leak[0] && !strncmp(line, "leak ", 5)) {
                snprintf(o.first_leak, sizeof o.first_leak, "%.200s", line + 5);
                o.first_leak[strcspn(o.first_leak, "\n")] = 0;
            }
        }
        fclose(f);
    }
    f = fopen(err_path, "r");
    if (f) {   // the last 4 KiB (a --profile table comes before the message)
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size > (long)sizeof o.err - 1 ? size - (long)sizeof o.err + 1 : 0, SEEK_SET);
        size_t n = fread(o.err, 1, sizeof o.err - 1, f);
        o.err[n] = 0;
        fclose(f);
    }
    return o;
}

// What is wrong with the output folder after a run (empty if nothing), and
// the folder emptied for the next run.
static void check_outputs(char *problem, size_t size, const scenario *s, bool success)
{
    problem[0] = 0;
    int present = 0, expected = 0;
    for (int f = 0; f < MAX_OUTPUTS && s->outputs[f]; f++, expected++)
        present += fm_test_exists(fm_test_path(out_dir, s->outputs[f]));
    const bool extra = s->only_on_success && fm_test_exists(fm_test_path(out_dir, s->only_on_success));
    if (success && present < expected)
        snprintf(problem, size, "exit 0 with %d of its %d outputs", present, expected);
    else if (!success && present > 0 && present < expected)
        snprintf(problem, size, "a partial output set after the error: %d of %d files", present, expected);
    else if (success != extra && s->only_on_success)
        snprintf(problem, size, "%s %s", s->only_on_success, success ? "missing after exit 0" : "written by a failed run");
    DIR *d = opendir(out_dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (strstr(e->d_name, ".tmp.") && !problem[0]) snprintf(problem, size, "temporary file %s left", e->d_name);
        const size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".lock") && !problem[0])
            snprintf(problem, size, "lock file %s left", e->d_name);
        remove(fm_test_path(out_dir, e->d_name));
    }
    closedir(d);
}

static bool says_out_of_memory(const char *err)
{
    char lower[sizeof((outcome *)0)->err];
    size_t n = 0;
    for (; err[n] && n + 1 < sizeof lower; n++) lower[n] = (char)(err[n] >= 'A' && err[n] <= 'Z' ? err[n] + 32 : err[n]);
    lower[n] = 0;
    return strstr(lower, "out of memory") || strstr(lower, "cannot allocate memory");   // or strerror(ENOMEM)
}

// The last line of stderr, for a failure report.
static const char *last_line(const char *err)
{
    static char line[512];
    size_t len = strlen(err);
    while (len > 0 && err[len - 1] == '\n') len--;
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n') start--;
    snprintf(line, sizeof line, "%.*s", (int)(len - start), err + start);
    return line;
}

static void brutal(const scenario *s)
{
    char problem[512];
    // without a failure: success, the whole set, nothing live; T twice the same
    outcome base = run_once(s, 0);
    cr_assert(base.exit_code == 0 && base.reported, "%s: the run without a failure ended with %d (signal %d): %s",
              s->name, base.exit_code, base.signal, last_line(base.err));
    check_outputs(problem, sizeof problem, s, true);
    cr_assert(!problem[0], "%s, no failure: %s", s->name, problem);
    cr_assert_eq(base.live, 0, "%s, no failure: %lu counted allocations live at exit (first: %s)", s->name, base.live,
                 base.first_leak);
    const unsigned long T = base.counted;
    cr_assert_gt(T, 0, "%s: no counted allocation: is the shim loaded?", s->name);
    outcome again = run_once(s, 0);
    check_outputs(problem, sizeof problem, s, true);
    cr_assert_eq(again.counted, T, "%s: %lu then %lu counted allocations: the runs are not deterministic", s->name, T,
                 again.counted);

    const char *stride_text = getenv("FM_BRUTAL_STRIDE");
    const unsigned long stride = stride_text && atol(stride_text) > 0 ? (unsigned long)atol(stride_text) : 1;
    unsigned long tried = 0, succeeded = 0, errors = 0, bad = 0;
    char first_bad[8][768];
    for (unsigned long N = 1; N <= T; N += stride) {
        outcome o = run_once(s, N);
        tried++;
        const bool success = o.exit_code == 0;
        check_outputs(problem, sizeof problem, s, success);
        char what[768] = "";
        if (o.exit_code < 0)
            snprintf(what, sizeof what, "ended by signal %d (%s)", o.signal, strsignal(o.signal));
        else if (!o.reported)
            snprintf(what, sizeof what, "exit %d without the shim's report", o.exit_code);
        else if (o.failed != 1)
            snprintf(what, sizeof what, "the run made only %lu counted allocations", o.counted);
        else if (!success && !says_out_of_memory(o.err))
            snprintf(what, sizeof what, "exit %d without 'out of memory' on stderr: \"%s\"", o.exit_code,
                     last_line(o.err));
        else if (problem[0])
            snprintf(what, sizeof what, "%s", problem);
        else if (o.live)
            snprintf(what, sizeof what, "%lu counted allocations leaked (first: %s)", o.live, o.first_leak);
        if (what[0]) {
            if (bad < 8)
                snprintf(first_bad[bad], sizeof first_bad[bad], "N = %lu (failed at %s): %s", N, o.failed_at, what);
            bad++;
        } else {
            succeeded += success;
            errors += !success;
        }
    }
    fprintf(stderr, "brutal malloc, %s: T = %lu counted allocations; tried %lu values of N: %lu ended in success, "
                    "%lu in a clean out-of-memory error, %lu wrong\n", s->name, T, tried, succeeded, errors, bad);
    for (unsigned long b = 0; b < bad && b < 8; b++) fprintf(stderr, "  %s\n", first_bad[b]);
    cr_assert_eq(bad, 0, "%s: %lu of %lu runs with a failed allocation went wrong; the first: %s", s->name, bad, tried,
                 first_bad[0]);
}

// The program's own generator (no shim), into the data folder.
static void generate(const char *name, const char *rows, const char *cols, const char *rank, const char *density)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null < 0 || dup2(null, 1) < 0) _exit(126);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl(FM_BINARY, FM_BINARY, "generate", path, "--rows", rows, "--cols", cols, "--rank", rank, "--density",
              density, "--seed", "3", (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "factormer generate %s failed", name);
}

// name.gz, a gzip copy of name (zlib then inflates: its allocations count).
static void gzip_copy(const char *name)
{
    char path[320], gz_path[330], buffer[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    snprintf(gz_path, sizeof gz_path, "%s.gz", path);
    FILE *in = fopen(path, "rb");
    gzFile out = gzopen(gz_path, "wb");
    cr_assert(in && out);
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, in)) > 0;) cr_assert_eq(gzwrite(out, buffer, (unsigned)n), (int)n);
    fclose(in);
    cr_assert_eq(gzclose(out), Z_OK);
}

static void setup(void)
{
    snprintf(data_dir, sizeof data_dir, "%s", fm_test_tmpdir());
    snprintf(out_dir, sizeof out_dir, "%s", fm_test_tmpdir());
    generate("dense.mtx", "12", "10", "3", "1");
    generate("sparse.mtx", "12", "10", "3", "0.5");
    generate("learned.mtx", "16", "12", "10", "1");
    gzip_copy("sparse.mtx");
}

static void teardown(void)
{
    fm_test_remove_dir(out_dir);
    fm_test_remove_dir(data_dir);
}

#define DATA(name) data_path(name)
static const char *data_path(const char *name)
{
    static char paths[4][320];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 320, "%s/%s", data_dir, name);
    return p;
}

#define FACTORS { "p.W.mtx", "p.H.mtx", "p.trace.csv", "p.summary.json" }
#define MODEL(name) FM_SOURCE_DIR "/models/shipped/" name

Test(brutal_malloc, factorize_dense, .init = setup, .fini = teardown)
{
    scenario s = { "factorize dense",
                   { "factorize", DATA("dense.mtx"), "--kind", "dense", "--rank", "3", "--iters", "2", "--l1", "0.05",
                     "--quiet", "--out", "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

Test(brutal_malloc, factorize_sparse, .init = setup, .fini = teardown)
{
    scenario s = { "factorize sparse",
                   { "factorize", DATA("sparse.mtx"), "--kind", "sparse", "--rank", "3", "--iters", "2", "--init",
                     "nndsvdar", "--l2", "0.1", "--quiet", "--out", "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

Test(brutal_malloc, factorize_incomplete, .init = setup, .fini = teardown)
{
    scenario s = { "factorize incomplete",
                   { "factorize", DATA("sparse.mtx"), "--kind", "incomplete", "--holdout", "0.2", "--rank", "3", "--iters",
                     "2", "--init", "random", "--l2", "0.1", "--l2-per-entry", "--exact-objective", "--quiet", "--out",
                     "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

// The speckled holdout of the sparse kind (the split, the solver's mask, the
// masked updates) and the kept best factors.
Test(brutal_malloc, factorize_sparse_holdout_keep_best, .init = setup, .fini = teardown)
{
    scenario s = { "factorize sparse --holdout --keep best",
                   { "factorize", DATA("sparse.mtx"), "--kind", "sparse", "--holdout", "0.2", "--keep", "best",
                     "--patience", "1", "--rank", "3", "--iters", "3", "--quiet", "--out", "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

// A held-out test file read beside the data, and the profile's JSON, which
// is written after the factors and only when the command succeeds.
Test(brutal_malloc, factorize_incomplete_test_file_and_profile, .init = setup, .fini = teardown)
{
    scenario s = { "factorize incomplete --test --profile",
                   { "factorize", DATA("sparse.mtx"), "--kind", "incomplete", "--test", DATA("sparse.mtx.gz"), "--rank",
                     "3", "--iters", "2", "--init", "nndsvda", "--quiet", "--out", "p", "--profile=profile.json", NULL },
                   FACTORS, "profile.json" };
    brutal(&s);
}

Test(brutal_malloc, info, .init = setup, .fini = teardown)
{
    scenario s = { "info", { "info", DATA("sparse.mtx.gz"), "--kind", "incomplete", NULL }, { NULL }, NULL };
    brutal(&s);
}

// Loading a model: the initialization network, read from its file and run.
Test(brutal_malloc, factorize_learned_init, .init = setup, .fini = teardown)
{
    scenario s = { "factorize --init learned",
                   { "factorize", DATA("learned.mtx"), "--rank", "10", "--init", "learned", "--model",
                     MODEL("init-rank10.fmw"), "--iters", "1", "--quiet", "--out", "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

// The acceleration network, on the GraphBLAS attention path over a sample.
Test(brutal_malloc, factorize_accelerated, .init = setup, .fini = teardown)
{
    scenario s = { "factorize --accelerate",
                   { "factorize", DATA("learned.mtx"), "--rank", "10", "--accelerate", "--model",
                     MODEL("accel-rank10.fmw"), "--accel-every", "1", "--accel-steps", "1", "--kernels", "graphblas",
                     "--sampler", "uniform", "--fanout", "4", "--iters", "1", "--quiet", "--out", "p", NULL },
                   FACTORS, NULL };
    brutal(&s);
}

//------------------------------------------------------------------------------
// Linear systems (issue 16): generating SPD systems, solving them with each
// preconditioner, training NeuralIF
//------------------------------------------------------------------------------

// The program without the shim, in the data folder: `args` after its name,
// NULL-terminated.
static void program(const char *const *args)
{
    const char *argv[24] = { FM_BINARY };
    int argc = 1;
    for (int a = 0; args[a] && argc < 23; a++) argv[argc++] = args[a];
    argv[argc] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null < 0 || dup2(null, 1) < 0 || chdir(data_dir) != 0) _exit(126);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv(FM_BINARY, (char *const *)argv);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "factormer %s %s failed", args[0], args[1]);
}

// A random SPD system of order 12 (A = M Mᵀ + 1e-3 I) and its right-hand side.
static void setup_spd(void)
{
    snprintf(data_dir, sizeof data_dir, "%s", fm_test_tmpdir());
    snprintf(out_dir, sizeof out_dir, "%s", fm_test_tmpdir());
    program((const char *const[]){ "generate", "--spd", "random", "--size", "12", "--density", "0.2", "--seed", "3",
                                   "spd.mtx", "--rhs", "spd_b.mtx", NULL });
}

#define SOLVED { "p.x.mtx", "p.trace.csv", "p.summary.json" }

static void solve_with(const char *precond, const char *model)
{
    char name[64];
    snprintf(name, sizeof name, "solve --precond %s", precond);
    scenario s = { name,
                   { "solve", DATA("spd.mtx"), "--rhs", DATA("spd_b.mtx"), "--precond", precond, "--tol", "1e-8",
                     "--quiet", "--out", "p", model ? "--model" : NULL, model, NULL },
                   SOLVED, NULL };
    brutal(&s);
}

Test(brutal_malloc, solve_none, .init = setup_spd, .fini = teardown) { solve_with("none", NULL); }
Test(brutal_malloc, solve_jacobi, .init = setup_spd, .fini = teardown) { solve_with("jacobi", NULL); }
Test(brutal_malloc, solve_ic0, .init = setup_spd, .fini = teardown) { solve_with("ic0", NULL); }
Test(brutal_malloc, solve_direct, .init = setup_spd, .fini = teardown) { solve_with("direct", NULL); }

// With a tiny model trained here without the shim (an untrained factor is
// still SPD: CG converges with it).
Test(brutal_malloc, solve_neuralif, .init = setup_spd, .fini = teardown)
{
    program((const char *const[]){ "train", "--model", "neuralif", "--data", "diffusion", "--size", "8",
                                   "--train-size", "2", "--valid-size", "1", "--epochs", "1", "--out", "tiny.fmw",
                                   "--quiet", NULL });
    solve_with("neuralif", DATA("tiny.fmw"));
}

static void generate_spd(const char *kind, const char *size)
{
    char name[64];
    snprintf(name, sizeof name, "generate --spd %s", kind);
    scenario s = { name, { "generate", "--spd", kind, "--size", size, "--seed", "5", "A.mtx", "--rhs", "b.mtx", NULL },
                   { "A.mtx", "b.mtx" }, NULL };
    brutal(&s);
}

Test(brutal_malloc, generate_spd_random, .init = setup_spd, .fini = teardown) { generate_spd("random", "12"); }
Test(brutal_malloc, generate_spd_diffusion, .init = setup_spd, .fini = teardown) { generate_spd("diffusion", "4"); }

// The model is written after the epoch and then the training state
// (m.fmw.state, a checkpoint to resume from, written by design as training
// goes): the output set is the model, which is whole or absent.
Test(brutal_malloc, train_neuralif, .init = setup_spd, .fini = teardown)
{
    scenario s = { "train --model neuralif",
                   { "train", "--model", "neuralif", "--data", "diffusion", "--size", "8", "--train-size", "2",
                     "--valid-size", "1", "--epochs", "1", "--out", "m.fmw", "--quiet", NULL },
                   { "m.fmw" }, NULL };
    brutal(&s);
}

// GMRES on a small convection–diffusion system (written without the shim).
// ILUT is left out: SuperLU ends the process when its own allocations fail
// (solvers/ilut.c says where), which no check of ours can prevent.
static void setup_general(void)
{
    snprintf(data_dir, sizeof data_dir, "%s", fm_test_tmpdir());
    snprintf(out_dir, sizeof out_dir, "%s", fm_test_tmpdir());
    program((const char *const[]){ "generate", "--general", "convection", "--size", "5", "--seed", "3", "cd.mtx",
                                   "--rhs", "cd_b.mtx", NULL });
}

static void gmres_with(const char *precond, const char *model)
{
    char name[64];
    snprintf(name, sizeof name, "solve --method gmres --precond %s", precond);
    scenario s = { name,
                   { "solve", DATA("cd.mtx"), "--rhs", DATA("cd_b.mtx"), "--method", "gmres", "--restart", "8",
                     "--precond", precond, "--tol", "1e-8", "--quiet", "--out", "p", model ? "--model" : NULL, model,
                     NULL },
                   SOLVED, NULL };
    brutal(&s);
}

Test(brutal_malloc, gmres_ilu0, .init = setup_general, .fini = teardown) { gmres_with("ilu0", NULL); }
Test(brutal_malloc, gmres_direct, .init = setup_general, .fini = teardown) { gmres_with("direct", NULL); }

Test(brutal_malloc, gmres_learned_lu, .init = setup_general, .fini = teardown)
{
    program((const char *const[]){ "train", "--model", "learned-lu", "--data", "convection", "--size", "6",
                                   "--train-size", "2", "--valid-size", "1", "--epochs", "1", "--out", "tiny.fmw",
                                   "--quiet", NULL });
    gmres_with("learned-lu", DATA("tiny.fmw"));
}

Test(brutal_malloc, generate_general_convection, .init = setup_general, .fini = teardown)
{
    scenario s = { "generate --general convection",
                   { "generate", "--general", "convection", "--size", "4", "--seed", "5", "A.mtx", "--rhs", "b.mtx",
                     NULL },
                   { "A.mtx", "b.mtx" }, NULL };
    brutal(&s);
}
