// The `factormer` program: subcommands over the library.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"
#include "model_dir.h"
#include "output.h"
#include "signals.h"

// What the program sets GLIBC_TUNABLES to when the user has not.
#define FM_CLI_TUNABLES                                                                                    \
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728:" \
    "glibc.malloc.arena_max=1"

static const char usage[] =
    "usage: factormer <command> [options]\n"
    "\n"
    "commands:\n"
    "  factorize [DATA.mtx[.gz]]  nonnegative matrix factorization by AO-ADMM\n"
    "                             (no file: a planted low-rank demo matrix)\n"
    "  transform DATA.mtx --basis FIT.W.mtx --out PREFIX\n"
    "                             the nonnegative coefficients of new data against\n"
    "                             a fitted factor (columns against W, or rows)\n"
    "  rank DATA.mtx[.gz]         choose the rank: held-out RMSE per rank and fold\n"
    "  info DATA.mtx[.gz]         shape, entries, kind, values, memory a run needs\n"
    "  generate OUT.mtx           a planted nonnegative low-rank matrix\n"
    "  generate --spd random|diffusion --size N OUT.mtx [--rhs B.mtx]\n"
    "                             an SPD linear system (random, or diffusion on a grid)\n"
    "  bench attention            the edge attention's two paths, timed side by side\n"
    "  solve A.mtx --precond P    A x = b by preconditioned CG (none, jacobi, ic0,\n"
    "                             neuralif, direct); exit 3 if not converged\n"
    "  bench solve [A.mtx ...]    every preconditioner side by side on a set\n"
    "  train --model init|accel   train the learned initialization or acceleration\n"
    "  eval [DATA.mtx[.gz]]       the learned models against plain ADMM, per iteration\n"
    "  sample DATA.mtx --fanout F the edge samplers of sampled message passing:\n"
    "                             edges kept, coverage, attention error, speed\n"
    "\n"
    "Every command also takes --profile[=F.json]: it times every op and prints\n"
    "calls, seconds, share of the wall time, GFLOP/s and GB/s per op on stderr,\n"
    "then writes the same as JSON to F.json (default " FM_PROFILE_DEFAULT_PATH ").\n"
    "If the command fails the table is still printed, but no JSON is written.\n"
    "\n"
    "SIGINT, SIGTERM and SIGHUP end a command without leaving temporary files\n"
    "(factorize first writes the factors of its last finished iteration); the\n"
    "exit code is then 128 + the signal (130, 143, 129).\n"
    "\n"
    "Every command that reads a data file takes --max-memory SIZE (512M, 4G): a\n"
    "file whose run would need more memory is refused before it is read (default:\n"
    "this machine's memory).\n"
    "\n"
    "Run 'factormer <command> --help' for the options of a command.\n"
    "\n"
    "The learned models of factorize --init learned, --accelerate and eval, when\n"
    "no file is named, are init.fmw and accel.fmw (any rank), else the rank's own\n"
    "init-rankK.fmw and accel-rankK.fmw, in the first of: $FACTORMER_MODELS; the\n"
    "installed models, <prefix>/share/factormer/models beside an installed program;\n"
    "the source tree's models/shipped.\n";

// The models directory that usage's search finds, after the usage.
static void print_model_dir(FILE *out)
{
    char dir[FM_LEARNED_PATH_LEN], msg[FM_MSG_LEN];
    const char *origin = NULL;
    if (fm_learned_model_dir(dir, sizeof dir, &origin, msg) == FM_OK)
        fprintf(out, "For this program: %s (%s).\n", dir, origin);
}

// OpenMP threads that spin between parallel regions without end cost 317 us
// per region when another process holds one of the two cores (2026-12-04),
// and the engine's kernels run one region after another (perf/README.md);
// threads that sleep at once cost a wake-up per region instead (34 us on
// 2026-12-05's idle machine), and CG on a system of 10 000 unknowns opens 5
// or 6 regions an iteration. So the program waits passively but spins a
// little first (GOMP_SPINCOUNT 10000: 1.5-2.8 us a region idle, 8.8 loaded,
// against 10.2 spinning without end): Jacobi-preconditioned CG on the random
// SPD class took 0.29 s against 0.59 s. libgomp reads both once, when it
// loads, so the program restarts itself with them unless the user chose a
// policy.
//
// OpenBLAS, too, starts its pool of pthreads when it loads (one per core),
// though the engine calls it with one thread (fm_set_threads): that idle
// pool thread still wakes now and then, and when it takes a core from a
// spinning OpenMP thread the region waits a time slice. On yale32 at rank 20
// with 2 threads, NNDSVD and 20 ADMM iterations (eval's time to plain ADMM's
// 20-iteration RMSE) took 49 ms in 4 runs of 5, against 7 ms with
// OPENBLAS_NUM_THREADS=1 (2026-12-05). So the program also starts
// OpenBLAS with one thread unless the user chose a number; the direct
// solvers raise it for their own calls (openblas_set_num_threads makes the
// threads then), as they did before.
//
// It puts the C library's heap in transparent huge pages as well
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, glibc 2.35 and later; an older
// one ignores it) unless the user set tunables. On a virtual machine the
// first touch of each 4 KiB page of the heap can cost a trip to the
// hypervisor (10 µs on the 2-core machine of 2026-12-06, against 0.2 µs to
// rewrite the page), and the learned start's network allocates its layer
// outputs pass after pass: on yale64 at rank 10 it took 8.2 ms more than
// plain's start in 4 KiB pages and 7.0 ms less in huge pages
// (perf/heap_pages.py; docs/implementation.md, "Memory"). Blocks from
// 128 KiB up were still mappings of their own, outside the heap and its huge
// pages (glibc's mmap threshold): a layer's outputs of 1-2 MiB paid a fault
// per 4 KiB page on every pass (kos_bow at rank 10: the start 51 ms against
// plain's 32). The program raises the threshold to 32 MiB, glibc's largest,
// so that they come from the heap, and keeps up to 128 MiB freed at its top
// (the trim threshold, 128 KiB by default) instead of returning it to be
// faulted in again by the next pass. And all threads share that one heap
// (glibc.malloc.arena_max=1): a thread's first allocation otherwise opens
// an arena of its own, every page of it fresh, where the main thread's heap
// holds pages the data's reading touched and freed. The learned start on a
// small problem draws its sketch on a second thread (models/nmf/learned.c):
// on yale32 at rank 5 it then took 6.1 ms against 7.2 with an arena per
// thread and 8.5 without the second thread; plain's start 5.8 and 5.5 ms
// (medians of 9, 2026-12-07).
static void choose_process_policies(char **argv)
{
    bool again = false, set = true;
#ifdef __GLIBC__
    if (!getenv("GLIBC_TUNABLES")) {
        set = set && setenv("GLIBC_TUNABLES", FM_CLI_TUNABLES, 1) == 0;
        again = true;
    }
#endif
    if (!getenv("OMP_WAIT_POLICY")) {
        set = set && setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
        if (!getenv("GOMP_SPINCOUNT")) set = set && setenv("GOMP_SPINCOUNT", "10000", 1) == 0;
        again = true;
    }
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        set = set && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0;
        again = true;
    }
    // (a setenv that failed would make the restarted program restart again)
    if (again && set) execv("/proc/self/exe", argv);   // returns only on failure: run as we are
}

// --profile and --profile=F.json, which every command takes, leave argv here
// (wherever they stand after the program's name). `json` receives the file.
// Returns false after a message for "--profile=" without a name.
static bool take_profile_option(int *argc, char **argv, const char **json)
{
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--profile")) {
            *json = FM_PROFILE_DEFAULT_PATH;
        } else if (!strncmp(argv[i], "--profile=", strlen("--profile="))) {
            *json = argv[i] + strlen("--profile=");
            if (!**json) {
                fprintf(stderr, "factormer: --profile= expects a file name (or give --profile alone)\n");
                return false;
            }
        } else {
            argv[kept++] = argv[i];
        }
    }
    argv[kept] = NULL;
    *argc = kept;
    return true;
}

// --max-memory SIZE and --max-memory=SIZE leave argv here like --profile;
// *bytes receives the limit (0 when the option is absent). False after a
// message.
static bool take_memory_option(int *argc, char **argv, uint64_t *bytes)
{
    static const char option[] = "--max-memory";
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        const char *value = NULL;
        if (!strcmp(argv[i], option)) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "factormer: %s expects a value\n", option);
                return false;
            }
            value = argv[++i];
        } else if (!strncmp(argv[i], option, strlen(option)) && argv[i][strlen(option)] == '=') {
            value = argv[i] + strlen(option) + 1;
        } else {
            argv[kept++] = argv[i];
            continue;
        }
        if (!fm_arg_size(option, value, bytes)) return false;
    }
    argv[kept] = NULL;
    *argc = kept;
    return true;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// The table on stderr always; the JSON file only after a successful command
// (a failed run's numbers describe a run that did not happen as asked).
static int report_profile(int status, double wall, const char *json)
{
    char msg[FM_MSG_LEN];
    fprintf(stderr, "\nprofile\n");
    fm_profile_print(stderr, wall);
    if (status != 0) {
        fprintf(stderr, "profile: %s not written: the command failed\n", json);
        return status;
    }
    if (fm_profile_write_json(json, wall, msg) != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return 1;
    }
    fprintf(stderr, "profile: wrote %s\n", json);
    return 0;
}

int main(int argc, char **argv)
{
    choose_process_policies(argv);
    fm_arg_command_save(argc, argv);
    fm_signals_catch();
    const char *profile_json = NULL;
    if (!take_profile_option(&argc, argv, &profile_json)) return 2;
    uint64_t memory_limit = 0;
    if (!take_memory_option(&argc, argv, &memory_limit)) return 2;
    if (!fm_arg_split_inline(&argc, &argv)) {
        fprintf(stderr, "factormer: out of memory\n");
        return 1;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        print_model_dir(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("factormer %s\n", fm_version());
        return 0;
    }
    char msg[FM_MSG_LEN];
    if (fm_init(msg) != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return 1;
    }
    // the profile's file can be written: checked before the command's work
    bool help = false;
    for (int i = 2; i < argc; i++) help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
    int checked = profile_json && !help ? fm_output_check(profile_json, "--profile", msg) : FM_OK;
    if (checked != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        fm_finalize();
        return checked == FM_ERR_INVALID ? 2 : 1;
    }
    if (profile_json) fm_profile_enable(true);
    if (memory_limit) fm_set_memory_limit(memory_limit);
    const double start = now();
    int status;
    if (!strcmp(argv[1], "factorize")) status = fm_cmd_factorize(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "rank")) status = fm_cmd_rank(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "info")) status = fm_cmd_info(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "generate")) status = fm_cmd_generate(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "bench")) status = fm_cmd_bench(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "train")) status = fm_cmd_train(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "eval")) status = fm_cmd_eval(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "sample")) status = fm_cmd_sample(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "solve")) status = fm_cmd_solve(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "transform")) status = fm_cmd_transform(argc - 1, argv + 1);
    else {
        fprintf(stderr, "factormer: unknown command '%s'\n\n%s", argv[1], usage);
        status = 2;
    }
    if (profile_json) status = report_profile(status, now() - start, profile_json);
    fm_finalize();
    return status;
}
