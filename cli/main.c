// The `factormer` program: subcommands over the library.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "factormer.h"

static const char usage[] =
    "usage: factormer <command> [options]\n"
    "\n"
    "commands:\n"
    "  factorize [DATA.mtx[.gz]]  nonnegative matrix factorization by AO-ADMM\n"
    "                             (no file: a planted low-rank demo matrix)\n"
    "  info DATA.mtx[.gz]         shape, entries, kind, values, memory a run needs\n"
    "  generate OUT.mtx           a planted nonnegative low-rank matrix\n"
    "  bench attention            the edge attention's two paths, timed side by side\n"
    "\n"
    "Run 'factormer <command> --help' for the options of a command.\n";

// OpenMP threads that spin between parallel regions are harmless on an idle
// machine (2 us per region against 13.5 us sleeping) but cost 317 us per
// region when another process holds one of the two cores, and the engine's
// kernels run one region after another (perf/README.md). libgomp reads its
// wait policy once, when it loads, so the program restarts itself with a
// passive policy unless the user chose one.
static void prefer_passive_waiting(char **argv)
{
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);   // returns only on failure: run as we are
}

int main(int argc, char **argv)
{
    prefer_passive_waiting(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("factormer 0.1.0\n");
        return 0;
    }
    char msg[FM_MSG_LEN];
    if (fm_init(msg) != FM_OK) {
        fprintf(stderr, "factormer: %s\n", msg);
        return 1;
    }
    int status;
    if (!strcmp(argv[1], "factorize")) status = fm_cmd_factorize(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "info")) status = fm_cmd_info(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "generate")) status = fm_cmd_generate(argc - 1, argv + 1);
    else if (!strcmp(argv[1], "bench")) status = fm_cmd_bench(argc - 1, argv + 1);
    else {
        fprintf(stderr, "factormer: unknown command '%s'\n\n%s", argv[1], usage);
        status = 2;
    }
    fm_finalize();
    return status;
}
