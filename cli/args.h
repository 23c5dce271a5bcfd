// Argument parsing shared by the subcommands: numbers are checked whole.
#ifndef FM_CLI_ARGS_H
#define FM_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Each returns false after printing "factormer: OPTION expects ..." to stderr.
bool fm_arg_int(const char *option, const char *text, long min, long max, long *value);
bool fm_arg_double(const char *option, const char *text, double min, double max, double *value);
// argv[*i] is an option that takes a value: advance to it, or complain.
const char *fm_arg_value(int argc, char **argv, int *i);
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

int fm_cmd_factorize(int argc, char **argv);
int fm_cmd_info(int argc, char **argv);
int fm_cmd_generate(int argc, char **argv);
int fm_cmd_bench(int argc, char **argv);
int fm_cmd_train(int argc, char **argv);
int fm_cmd_eval(int argc, char **argv);
int fm_cmd_sample(int argc, char **argv);

#endif
