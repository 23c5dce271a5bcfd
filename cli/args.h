// Argument parsing shared by the subcommands: numbers are checked whole.
#ifndef FM_CLI_ARGS_H
#define FM_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Each returns false after printing "factormer: OPTION expects ..." to stderr.
bool fm_arg_int(const char *option, const char *text, long min, long max, long *value);
bool fm_arg_double(const char *option, const char *text, double min, double max, double *value);
// A rank, 1 to FM_MAX_RANK; the message says the limit and why.
bool fm_arg_rank(const char *option, const char *text, long *value);
// --svd-power: "auto" (FM_SVD_POWER_AUTO) or a count from 0 to FM_MAX_SVD_POWER.
bool fm_arg_svd_power(const char *option, const char *text, int *power);
// argv[*i] is an option that takes a value: advance to it, or complain.
const char *fm_arg_value(int argc, char **argv, int *i);
// --option=value for every option: main splits each "--name=value" into
// "--name" "value" (after taking out --profile and --max-memory), in a new
// argv that lives to the end of the program. Returns false when out of memory.
bool fm_arg_split_inline(int *argc, char ***argv);
// False, after "factormer: --quiet takes no value ('--quiet=1')", when `arg`
// is the value split off an option that took none (it reached the command
// as a positional argument); true otherwise.
bool fm_arg_positional(const char *arg);
// A command's one data file: `arg` goes to *data, unless there is one already
// (false after a message).
bool fm_arg_data(const char **data, const char *arg);
// The data file's name without directory and .mtx / .mtx.gz (the default
// name of a command's outputs).
void fm_arg_data_name(char *out, size_t size, const char *path);

// The program's command line as given, --profile included: main saves it
// before it takes --profile out of argv. Both texts are malloc'd (NULL when
// out of memory): the arguments quoted for a POSIX shell, so that pasting
// the line reruns the command; and as a JSON array of strings.
void fm_arg_command_save(int argc, char **argv);
char *fm_arg_command_shell(void);
char *fm_arg_command_json(void);

// Every command's --help lists this option; cli/main.c takes it out of argv
// before the command runs, so that every command has it.
#define FM_PROFILE_DEFAULT_PATH "factormer-profile.json"
#define FM_ARG_PROFILE_HELP                                                           \
    "  --profile[=F.json]  time every op: print calls, seconds, share, GFLOP/s and\n" \
    "                      GB/s per op on stderr and write them as JSON to F.json\n"  \
    "                      (default " FM_PROFILE_DEFAULT_PATH "; not written if the\n" \
    "                      command fails)\n"

// Every command that reads a data file lists this option; cli/main.c takes
// it (--max-memory SIZE or --max-memory=SIZE) out of argv before the command
// runs and sets the library's memory limit.
#define FM_ARG_MEMORY_HELP                                                              \
    "  --max-memory SIZE   refuse a data file whose run needs more memory than SIZE\n" \
    "                      bytes (512M, 4G, 1.5T; binary units), estimated from its\n" \
    "                      size line before it is read (default: this machine's\n"   \
    "                      memory, or its cgroup's limit when lower)\n"

// A file name (or any text from outside) as printed: its control bytes
// (below 0x20, and 0x7f) written as \xNN, so that a name cannot break a line
// or send the terminal an escape sequence. The result lives in one of 8
// static buffers used in turn.
const char *fm_arg_shown(const char *text);

// Whether this process is one of several a launcher (mpirun) started for a
// command run without --distributed: then it says so on stderr (`each`:
// what each process would do, "fit the whole matrix") and the command
// exits with status 2, rather than every process writing the same files.
bool fm_arg_launched_alone(const char *each);

// A JSON value in `out` (cut to fit `size`): a string quoted, its quotes,
// backslashes and control characters escaped; a number with 9 significant
// digits, null when it is not finite.
void fm_arg_json_string(char *out, size_t size, const char *text);
void fm_arg_json_number(char *out, size_t size, double x);

// "4G", "512M", "1.5T", "1048576": bytes (K, M, G, T, P, E are powers of 1024;
// an optional "i", "B" or "iB" after them). False after a message.
bool fm_arg_size(const char *option, const char *text, uint64_t *bytes);

int fm_cmd_factorize(int argc, char **argv);
int fm_cmd_rank(int argc, char **argv);
int fm_cmd_info(int argc, char **argv);
int fm_cmd_generate(int argc, char **argv);
int fm_cmd_bench(int argc, char **argv);
int fm_cmd_train(int argc, char **argv);
int fm_cmd_train_neuralif(int argc, char **argv);
int fm_cmd_train_learned_lu(int argc, char **argv);
int fm_cmd_eval(int argc, char **argv);
int fm_cmd_sample(int argc, char **argv);
int fm_cmd_solve(int argc, char **argv);
int fm_cmd_transform(int argc, char **argv);
int fm_cmd_bench_solve(int argc, char **argv);

#endif
