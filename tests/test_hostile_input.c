// Hostile input to the `factormer` program: files that declare more than
// they hold or than the machine has, damaged compressed data, names with
// control bytes, models that overflow. Each case runs the program as a child
// process and checks the message (the file, the line, what was expected), a
// nonzero exit code, and that no output file exists.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lfactormer_checkpoint.h"
#include "helpers.h"
#include "program.h"


TestSuite(hostile, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Running the program
//------------------------------------------------------------------------------

// The program runs through tests/program.h: a scratch directory with the
// data at its top and the outputs under out/.
typedef prog_scratch scratch;
typedef prog_child run;
#define scratch_new prog_scratch_new
#define run_free prog_child_free
#define RUN(s, ...) PROG_RUN((s), __VA_ARGS__)

static void scratch_free(const scratch *s) { prog_remove_tree(s->root); }

// s->root/name, in static storage rotated over 8 slots.
static const char *in(const scratch *s, const char *name) { return fm_test_path(s->root, name); }

// Exit code `code`, no sanitizer report, stderr holding each of the
// NULL-terminated words, and nothing in s->out.
static void expect_refusal(const scratch *s, const run *r, int code, ...)
{
    cr_assert(!strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error:"), "a sanitizer report:\n%s", r->err);
    cr_assert_eq(r->status, code, "expected exit code %d, got %d\n--- stdout ---\n%s--- stderr ---\n%s", code,
                 r->status, r->out, r->err);
    va_list words;
    va_start(words, code);
    fm_test_expect_words_list("stderr", r->err, words);
    va_end(words);
    cr_assert_eq(fm_test_count_files(s->out), 0, "%s is not empty after a refusal", s->out);
}

#define EXPECT_REFUSAL(s, r, code, ...) expect_refusal((s), (r), (code), __VA_ARGS__, (const char *)NULL)

static void gzip_text(const char *path, const char *text)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    cr_assert_geq(gzputs(gz, text), 0);
    cr_assert_eq(gzclose(gz), Z_OK);
}

#define COO "%%MatrixMarket matrix coordinate real general\n"
#define ARR "%%MatrixMarket matrix array real general\n"

//------------------------------------------------------------------------------
// Declared sizes
//------------------------------------------------------------------------------

// 67 bytes that declare 3000000000 x 2 with one entry: the graph's row
// pointers alone are 24 GB and a rank-10 run's factors 360 GB. Every command
// that reads data refuses it from the size line, before anything is built.
Test(hostile, declared_rows_beyond_the_memory_limit)
{
    scratch s = scratch_new();
    const char *data = in(&s, "big.mtx");
    fm_test_write(data, COO "3000000000 2 1\n1 1 1.5\n");
    const char *prefix = fm_test_path(s.out, "big");
    run r = RUN(&s, "factorize", data, "--out", prefix, "--max-memory", "4G");
    EXPECT_REFUSAL(&s, &r, 1, "big.mtx:2:", "3000000000 x 2 sparse matrix declared here (1 entry)", "needs about",
                   "graph 22.4 GiB", "rank-10 run", "more than the memory limit of 4.0 GiB");
    run_free(&r);
    r = RUN(&s, "info", data, "--max-memory=4G");
    EXPECT_REFUSAL(&s, &r, 1, "big.mtx:2:", "3000000000 x 2", "rank-10 run", "4.0 GiB");
    run_free(&r);
    r = RUN(&s, "sample", data, "--fanout", "4", "--max-memory", "4G");
    EXPECT_REFUSAL(&s, &r, 1, "big.mtx:2:", "3000000000 x 2", "to read it and build its graph", "4.0 GiB");
    run_free(&r);
    r = RUN(&s, "eval", data, "--rank", "1", "--methods", "plain", "--out", s.out, "--max-memory", "4G");
    EXPECT_REFUSAL(&s, &r, 1, "big.mtx:2:", "3000000000 x 2", "rank-1 run", "4.0 GiB");
    run_free(&r);
    scratch_free(&s);
}

// Without --max-memory the limit is the machine's: no machine holds the 8 TiB
// of row pointers of 2^40 rows.
Test(hostile, declared_rows_beyond_the_machine)
{
    scratch s = scratch_new();
    const char *data = in(&s, "wide.mtx");
    fm_test_write(data, COO "1099511627776 2 1\n1 1 1\n");
    run r = RUN(&s, "info", data, "--rank", "1");
    EXPECT_REFUSAL(&s, &r, 1, "wide.mtx:2:", "1099511627776 x 2", "needs about", "more than the memory limit of",
                   "--max-memory SIZE sets another");
    run_free(&r);
    scratch_free(&s);
}

// Beyond 2^60 rows GraphBLAS cannot hold a matrix at all: the size line is
// refused with the file and the line, not a bare "GraphBLAS: invalid value".
// The second file's size line made the reader compute n(n+1)/2 for a
// non-square shape, a signed overflow.
Test(hostile, dimensions_beyond_graphblas)
{
    scratch s = scratch_new();
    const char *one = in(&s, "huge.mtx"), *none = in(&s, "none.mtx");
    fm_test_write(one, COO "2305843009213693952 2 1\n1 1 1\n");
    fm_test_write(none, COO "2305843009213693952 2 0\n");
    const char *prefix = fm_test_path(s.out, "huge");
    run r = RUN(&s, "factorize", one, "--out", prefix, "--max-memory", "8E");
    EXPECT_REFUSAL(&s, &r, 1, "huge.mtx:2:", "2305843009213693952 x 2", "too large", "1152921504606846976 (2^60)");
    run_free(&r);
    r = RUN(&s, "info", none);
    EXPECT_REFUSAL(&s, &r, 1, "none.mtx:2:", "2305843009213693952 x 2", "too large");
    run_free(&r);
    scratch_free(&s);
}

// An array header that declares 100000 x 100000 (10^10 values, 40 GB) over
// two values: the file cannot hold what it declares, so nothing is allocated
// for it and the read ends where the file does. Gzip alike.
Test(hostile, array_shorter_than_declared)
{
    scratch s = scratch_new();
    const char *plain = in(&s, "short.mtx"), *packed = in(&s, "short.mtx.gz");
    fm_test_write(plain, ARR "100000 100000\n1\n2\n");
    gzip_text(packed, ARR "100000 100000\n1\n2\n");
    const char *prefix = fm_test_path(s.out, "short");
    run r = RUN(&s, "factorize", plain, "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "short.mtx:4:", "ended after 2 of the 10000000000 values", "100000 x 100000");
    run_free(&r);
    r = RUN(&s, "factorize", packed, "--out", prefix, "--max-memory", "1T");
    EXPECT_REFUSAL(&s, &r, 1, "short.mtx.gz:4:", "ended after 2 of the 10000000000 values");
    run_free(&r);
    scratch_free(&s);
}

// The limit applies to ordinary files too, and a bad size is a usage error.
Test(hostile, max_memory_option)
{
    scratch s = scratch_new();
    const char *data = in(&s, "small.mtx");
    fm_test_write(data, COO "3 3 3\n1 1 1\n2 2 2\n3 3 3\n");
    const char *prefix = fm_test_path(s.out, "small");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--out", prefix, "--max-memory", "100");
    EXPECT_REFUSAL(&s, &r, 1, "small.mtx:2:", "3 x 3 sparse matrix declared here (3 entries)", "rank-2 run",
                   "more than the memory limit of 100 B (set by --max-memory");
    run_free(&r);
    static const char *const bad[] = { "4X", "-1G", "0", "", "G", "1e30", "4 G" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = RUN(&s, "factorize", data, "--rank", "2", "--out", prefix, "--max-memory", bad[i]);
        EXPECT_REFUSAL(&s, &r, 2, "--max-memory expects a size", "512M");
        run_free(&r);
    }
    r = RUN(&s, "info", data, "--max-memory");
    EXPECT_REFUSAL(&s, &r, 2, "--max-memory expects a value");
    run_free(&r);
    r = RUN(&s, "factorize", data, "--rank", "2", "--iters", "3", "--quiet", "--out", prefix, "--max-memory",
            "64MiB");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(fm_test_exists(fm_test_path(s.out, "small.W.mtx")));
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// Damaged files and hostile names
//------------------------------------------------------------------------------

// Flip bits of the byte `from_end` bytes before the end of the file.
static void flip(const char *path, long from_end)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, -from_end, SEEK_END), 0);
    const int c = fgetc(f);
    cr_assert_eq(fseek(f, -from_end, SEEK_END), 0);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

// The CRC-32 in the gzip trailer does not match the data.
Test(hostile, gzip_crc_error)
{
    scratch s = scratch_new();
    const char *data = in(&s, "ratings.mtx.gz");
    gzip_text(data, COO "4 3 3\n1 1 1\n2 2 2\n3 3 3\n");
    flip(data, 8);
    const char *prefix = fm_test_path(s.out, "ratings");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "ratings.mtx.gz: corrupt gzip data (CRC error): the file is damaged");
    run_free(&r);
    r = RUN(&s, "info", data);
    EXPECT_REFUSAL(&s, &r, 1, "ratings.mtx.gz: corrupt gzip data (CRC error)");
    run_free(&r);
    scratch_free(&s);
}

// A path of about 1000 characters: the message keeps its reason (the
// buffer holds 512) and shortens the path at its front.
Test(hostile, long_path_keeps_the_reason)
{
    scratch s = scratch_new();
    char path[1200];
    snprintf(path, sizeof path, "%s", s.root);
    while (strlen(path) < 1000) {
        strcat(path, "/ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
        cr_assert_eq(mkdir(path, 0755), 0, "mkdir: %s", strerror(errno));
    }
    char data[1300];
    snprintf(data, sizeof data, "%s/bad.mtx", path);
    fm_test_write(data, COO "3 3 2\n1 1 1\n2 2\n");
    const char *prefix = fm_test_path(s.out, "bad");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "factormer: ...", "dddd/bad.mtx:4: expected 3 fields \"row col value\", found 2\n");
    run_free(&r);
    remove(data);
    r = RUN(&s, "info", data);
    EXPECT_REFUSAL(&s, &r, 1, "factormer: ...", "dddd/bad.mtx: cannot open the file: No such file or directory\n");
    run_free(&r);
    for (char *slash; strlen(path) > strlen(s.root) && (slash = strrchr(path, '/'));) {
        cr_assert_eq(rmdir(path), 0, "rmdir %s: %s", path, strerror(errno));
        *slash = 0;
    }
    scratch_free(&s);
}

// stderr (or stdout) holds no control byte but its newlines, one per line.
static void expect_no_control_bytes(const char *text, int lines)
{
    int newlines = 0;
    for (const char *c = text; *c; c++) {
        cr_assert(((unsigned char)*c >= 0x20 && *c != 0x7f) || *c == '\n', "a control byte 0x%02x in:\n%s",
                  (unsigned char)*c, text);
        newlines += *c == '\n';
    }
    cr_assert_eq(newlines, lines, "%d lines, expected %d:\n%s", newlines, lines, text);
}

// A file name with a newline and a terminal escape sequence, and a header
// token with control bytes: echoed as \xNN.
Test(hostile, control_bytes_in_names_are_escaped)
{
    scratch s = scratch_new();
    const char *data = in(&s, "new\nline\x1b[2Jred.mtx");
    fm_test_write(data, COO "3 3 2\n1 1 1\n2 2\n");
    const char *prefix = fm_test_path(s.out, "x");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "new\\x0aline\\x1b[2Jred.mtx:4: expected 3 fields");
    expect_no_control_bytes(r.err, 1);
    run_free(&r);
    fm_test_write(data, COO "3 3 2\n1 1 1\n2 2 2\n");
    r = RUN(&s, "info", data);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "new\\x0aline\\x1b[2Jred.mtx\n  format"), "%s", r.out);
    expect_no_control_bytes(r.out, 7);
    run_free(&r);
    remove(data);
    data = in(&s, "token.mtx");
    fm_test_write(data, "%%MatrixMarket matrix coordinate re\x1b]2;owned\x07" "al general\n3 3 0\n");
    r = RUN(&s, "info", data);
    EXPECT_REFUSAL(&s, &r, 1, "token.mtx:1: unknown field \"re\\x1b]2;owned\\x07al\"");
    expect_no_control_bytes(r.err, 1);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// Hostile models
//------------------------------------------------------------------------------

// A rank-2 model of `kind` (width 8, 2 heads, 2 layers) with its values
// from fm_params_init, every one times `scale`.
static void write_model(const char *path, fm_model_kind kind, float scale)
{
    char msg[FM_MSG_LEN];
    const fm_checkpoint_header h = {
        .kind = kind,
        .config = { .inputs = fm_model_kind_inputs(kind, 2), .rank = 2, .width = 8, .heads = 2, .layers = 2 } };
    fm_params *p = NULL;
    cr_assert_eq(fm_lfactormer_params_new(&p, &h.config, msg), FM_OK, "%s", msg);
    fm_params_init(p, 7);
    for (int64_t e = 0; e < p->count; e++) p->values[e] *= scale;
    cr_assert_eq(fm_checkpoint_write(path, &h, p, NULL, msg), FM_OK, "%s", msg);
    fm_params_free(&p);
}

static const char *planted_data(const scratch *s)
{
    const char *data = in(s, "planted.mtx");
    run r = RUN(s, "generate", data, "--rows", "30", "--cols", "20", "--rank", "2");
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    return data;
}

// A tensor name in the file with control bytes (the file's checksum made to
// match): the loader names it escaped.
Test(hostile, control_bytes_in_a_tensor_name)
{
    scratch s = scratch_new();
    const char *data = planted_data(&s), *model = in(&s, "named.fmw");
    write_model(model, FM_MODEL_INIT, 1);
    FILE *f = fopen(model, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    const long size = ftell(f);
    uint8_t *bytes = malloc(size);
    cr_assert_not_null(bytes);
    rewind(f);
    cr_assert_eq(fread(bytes, 1, size, f), (size_t)size);
    // the first name of the table: its length (4 bytes), then the name
    memcpy(bytes + FM_CHECKPOINT_HEADER_BYTES + 4, "\x1b]2;\n", 5);
    const uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), bytes, (uInt)(size - 4));
    for (int i = 0; i < 4; i++) bytes[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    rewind(f);
    cr_assert_eq(fwrite(bytes, 1, size, f), (size_t)size);
    fclose(f);
    free(bytes);
    const char *prefix = fm_test_path(s.out, "planted");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--init", "learned", "--model", model, "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "named.fmw: tensor 0 is '\\x1b]2;\\x0a");
    expect_no_control_bytes(r.err, 1);
    run_free(&r);
    scratch_free(&s);
}

// A NaN among the values (the file's checksum made to match): the loader
// names the file and the tensor. (The loader refused it before this suite.)
Test(hostile, model_with_a_nan_weight)
{
    scratch s = scratch_new();
    const char *data = planted_data(&s), *model = in(&s, "nan.fmw");
    write_model(model, FM_MODEL_INIT, 1);
    FILE *f = fopen(model, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    const long size = ftell(f);
    uint8_t *bytes = malloc(size);
    cr_assert_not_null(bytes);
    rewind(f);
    cr_assert_eq(fread(bytes, 1, size, f), (size_t)size);
    // the values start after the header and the tensor table (its size at byte 44)
    const uint32_t table = bytes[44] | bytes[45] << 8 | bytes[46] << 16 | (uint32_t)bytes[47] << 24;
    const uint8_t nan_bits[4] = { 0x00, 0x00, 0xc0, 0x7f };
    memcpy(bytes + FM_CHECKPOINT_HEADER_BYTES + table + 4 * 3, nan_bits, 4);
    const uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), bytes, (uInt)(size - 4));
    for (int i = 0; i < 4; i++) bytes[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    rewind(f);
    cr_assert_eq(fwrite(bytes, 1, size, f), (size_t)size);
    fclose(f);
    free(bytes);
    const char *prefix = fm_test_path(s.out, "planted");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--init", "learned", "--model", model, "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "nan.fmw: the values hold nan at tensor 'embed_w.weight' element 3; expected finite values");
    run_free(&r);
    scratch_free(&s);
}

// Finite weights so large that the network's activations overflow: a clear
// error that names the model and the stage, and no output (the sanitizer
// build checks that nothing on the way is undefined).
Test(hostile, model_with_huge_weights)
{
    scratch s = scratch_new();
    const char *data = planted_data(&s), *model = in(&s, "huge.fmw");
    write_model(model, FM_MODEL_INIT, 1e30f);
    const char *prefix = fm_test_path(s.out, "planted");
    run r = RUN(&s, "factorize", data, "--rank", "2", "--init", "learned", "--model", model, "--out", prefix);
    EXPECT_REFUSAL(&s, &r, 1, "huge.fmw: the initialization model failed in the learned initialization: the "
                   "network's output is not finite", "activations overflowed");
    run_free(&r);
    write_model(model, FM_MODEL_ACCEL, 1e30f);
    r = RUN(&s, "factorize", data, "--rank", "2", "--accelerate", "--model", model, "--accel-budget", "none", "--out",
            prefix);
    EXPECT_REFUSAL(&s, &r, 1, "huge.fmw: the acceleration model failed in an accelerator step: the network's output "
                   "is not finite", "(accelerator step 1, after iteration 5)");
    run_free(&r);
    // weights large but within what float carries through: a finite result
    write_model(model, FM_MODEL_INIT, 10);
    r = RUN(&s, "factorize", data, "--rank", "2", "--init", "learned", "--model", model, "--iters", "3", "--out",
            prefix);
    cr_assert(!strstr(r.err, "runtime error:"), "%s", r.err);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// The rank limit
//------------------------------------------------------------------------------

// 256 is the largest rank (FM_MAX_RANK): --help says so, and so does the
// option parser, with the reason, before any data is read.
Test(hostile, rank_limit)
{
    scratch s = scratch_new();
    const char *data = planted_data(&s);
    static const char *const commands[] = { "factorize", "info", "eval" };
    for (int c = 0; c < 3; c++) {
        run r = RUN(&s, commands[c], "--help");
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert_not_null(strstr(r.out, "at most 256"), "%s --help:\n%s", commands[c], r.out);
        run_free(&r);
        r = RUN(&s, commands[c], data, "--rank", "257", "--out", s.out);
        EXPECT_REFUSAL(&s, &r, 2, "--rank expects a whole number from 1 to 256, not '257'", "largest rank",
                       "each thread's stack");
        run_free(&r);
    }
    run r = RUN(&s, "factorize", data, "--rank", "256", "--iters", "0", "--out", fm_test_path(s.out, "x"));
    EXPECT_REFUSAL(&s, &r, 1, "rank 256 is out of range", "min(30, 20)");   // the limit itself passes the parser
    run_free(&r);
    scratch_free(&s);
}

Test(hostile, library_rank_limit)
{
    char msg[FM_MSG_LEN] = "";
    float *values = fm_test_planted(300, 300, 3, 1);
    fm_graph *g = fm_test_graph_dense(values, 300, 300, FM_KIND_DENSE);
    fm_solver_options opts;
    fm_solver_options_default(&opts);
    opts.rank = 257;
    opts.iters = 0;
    fm_solver_result *result = NULL;
    cr_assert_eq(fm_solver_run(&result, g, NULL, &opts, msg), FM_ERR_INVALID);
    cr_assert_null(result);
    cr_assert_not_null(strstr(msg, "above the supported maximum of 256 (the incomplete kind solves a rank x rank "
                                   "system per row and per column on each thread's stack)"), "%s", msg);
    fm_graph_free(&g);
    free(values);
}

//------------------------------------------------------------------------------
// The same through the library
//------------------------------------------------------------------------------

// `text` as dir/name read by fm_mtx_read: `code`, no output, and the words.
static void expect_read_error(const char *name, const char *text, int code, ...)
{
    char msg[FM_MSG_LEN] = "";
    const char *dir = fm_test_tmpdir();
    const char *path = fm_test_path(dir, name);
    fm_test_write(path, text);
    fm_triplets *t = NULL;
    const int status = fm_mtx_read(&t, path, false, msg);
    cr_assert_eq(status, code, "expected status %d, got %d: %s", code, status, msg);
    cr_assert_null(t);
    va_list words;
    va_start(words, code);
    fm_test_expect_words_list("the message", msg, words);
    va_end(words);
    fm_test_remove_dir(dir);
}

#define EXPECT_READ_ERROR(name, text, code, ...) expect_read_error((name), (text), (code), __VA_ARGS__, (const char *)NULL)

// 2^60 x 2: a shape GraphBLAS holds, whose graph no machine does (8 EiB of
// row pointers). Its size line made the reader compute n(n+1)/2 with
// n = 2^60 although the matrix is not symmetric: a signed overflow.
Test(hostile, library_size_line_overflow)
{
    EXPECT_READ_ERROR("bad.mtx", COO "1152921504606846976 2 0\n", FM_ERR_MEMORY, "bad.mtx:2:",
                      "1152921504606846976 x 2 sparse matrix declared here (0 entries)", "needs about");
    EXPECT_READ_ERROR("bad.mtx", COO "2305843009213693952 2 0\n", FM_ERR_PARSE, "bad.mtx:2:", "too large",
                      "(2^60)");
}

// 10^12 declared values (4 TB) in a file of a few bytes: nothing is
// allocated for them, and the read ends where the file does.
Test(hostile, library_array_shorter_than_declared)
{
    EXPECT_READ_ERROR("bad.mtx", ARR "1000000 1000000\n1\n2\n", FM_ERR_PARSE, "bad.mtx:4:",
                      "ended after 2 of the 1000000000000 values", "(line 2)");
    // a value that is wrong is still reported at its line
    EXPECT_READ_ERROR("bad.mtx", ARR "1000000 1000000\n1\nx\n", FM_ERR_PARSE, "bad.mtx:4:", "expected a real value");
}

// Triplets of a shape beyond GraphBLAS, or beyond any machine's memory.
Test(hostile, library_graph_of_hostile_triplets)
{
    char msg[FM_MSG_LEN] = "";
    int64_t row[1] = { 0 }, col[1] = { 0 };
    float val[1] = { 1 };
    fm_triplets t = { .rows = INT64_C(1) << 61, .cols = 2, .count = 1, .row = row, .col = col, .val = val };
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_SPARSE, msg), FM_ERR_INVALID, "%s", msg);
    cr_assert_null(g);
    cr_assert_not_null(strstr(msg, "2305843009213693952 x 2 is too large"), "%s", msg);
    t.rows = INT64_C(1) << 50;
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_SPARSE, msg), FM_ERR_MEMORY, "%s", msg);
    cr_assert_null(g);
    cr_assert_not_null(strstr(msg, "1125899906842624 x 2 matrix with 1 entry needs about"), "%s", msg);
}
