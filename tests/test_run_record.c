// What a run records of itself (the program runs as a child process,
// tests/program.h): the summary's version, command, seed, tolerance,
// iteration limit, kind, threads and CPU features, and the version and
// command line at the head of the trace and of the factor files.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "program.h"

TestSuite(run_record, .init = fm_test_setup);

// The arguments the shell reads from `line`, one per line of /bin/sh's
// printf (no argument here holds a line break).
static char *shell_words(const char *line)
{
    char script[4096];
    snprintf(script, sizeof script, "printf '%%s\\n' %s", line);
    // /bin/sh -c SCRIPT, its stdout into a file
    prog_scratch s = prog_scratch_new();
    const char *out = fm_test_path(s.root, "words");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(120);
        dup2(fd, 1);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(121);
    }
    int wstatus;
    cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
    cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "sh could not read: %s", line);
    char *words = fm_test_read_text(out);
    prog_remove_tree(s.root);
    return words;
}

Test(run_record, every_output_names_its_version_and_command)
{
    prog_scratch s = prog_scratch_new();
    const char *x = prog_planted_file(&s, "X.mtx", 40, 30);
    char prefix[600], profile[600];
    snprintf(prefix, sizeof prefix, "%s/it's a \"run\"", s.out);
    snprintf(profile, sizeof profile, "--profile=%s/p.json", s.root);
    prog_child c = PROG_RUN(&s, "factorize", x, "--rank", "3", "--iters", "7", "--tol", "1e-05", "--seed", "11",
                            "--threads", "1", "--time-limit", "100", profile, "--out", prefix, "--quiet");
    prog_expect_status(&c, 0);

    char path[700];
    snprintf(path, sizeof path, "%s.summary.json", prefix);
    char *summary = fm_test_read_text(path);
    prog_expect_json_string(summary, "version", fm_version());
    prog_expect_json_string(summary, "cpu", fm_cpu_features());
    prog_expect_json_string(summary, "kind", "dense");
    cr_assert_eq(prog_json_number(summary, "seed"), 11);
    cr_assert_eq(prog_json_number(summary, "tol"), 1e-5);
    cr_assert_eq(prog_json_number(summary, "iters_requested"), 7);
    cr_assert_eq(prog_json_number(summary, "time_limit"), 100);
    cr_assert_eq(prog_json_number(summary, "threads"), 1);
    // "command": the arguments as given, --profile included, JSON-escaped
    char want[4096] = "\"command\": [";
    for (int i = 0; c.argv[i]; i++) {
        strcat(want, i ? ", \"" : "\"");
        for (const char *p = c.argv[i]; *p; p++) {
            if (*p == '"' || *p == '\\') strncat(want, "\\", 2);
            strncat(want, p, 1);
        }
        strcat(want, "\"");
    }
    strcat(want, "]");
    cr_assert_not_null(strstr(summary, want), "the summary lacks %s:\n%s", want, summary);

    // the trace's first line: "# factormer VERSION: COMMAND", the command
    // quoted so that the shell reads back the same arguments
    snprintf(path, sizeof path, "%s.trace.csv", prefix);
    char *trace = fm_test_read_text(path);
    char head[64];
    snprintf(head, sizeof head, "# factormer %s: ", fm_version());
    cr_assert(!strncmp(trace, head, strlen(head)), "the trace starts: %.200s", trace);
    char *line = strndup(trace + strlen(head), strcspn(trace + strlen(head), "\n"));
    char *words = shell_words(line);
    char argv_lines[4096] = "";
    for (int i = 0; c.argv[i]; i++) {
        strcat(argv_lines, c.argv[i]);
        strcat(argv_lines, "\n");
    }
    cr_assert_str_eq(words, argv_lines, "the trace's command line %s", line);
    const char *header = strchr(trace, '\n') + 1;
    cr_assert(!strncmp(header, "iteration,seconds,rmse,", 23), "%s", trace);
    // the factors carry the same line as a comment
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s%s", prefix, f ? ".H.mtx" : ".W.mtx");
        char *text = fm_test_read_text(path);
        char comment[4200];
        snprintf(comment, sizeof comment, "\n%%factormer %s: %s\n", fm_version(), line);
        cr_assert_not_null(strstr(text, comment), "%s lacks %s", path, comment);
        free(text);
    }
    free(words);
    free(line);
    free(trace);
    free(summary);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

