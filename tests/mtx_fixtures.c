// Fixtures of the Matrix Market tests (tests/mtx_fixtures.h).
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "mtx_fixtures.h"

// Write `text` to a fresh DIR/name and read it back.
static int read_text(const char *name, const char *text, bool duplicates_are_errors,
                     fm_triplets **t, char *msg, char *dir_out)
{
    const char *dir = fm_test_tmpdir();
    strcpy(dir_out, dir);
    const char *path = fm_test_path(dir_out, name);
    fm_test_write(path, text);
    return fm_mtx_read(t, path, duplicates_are_errors, msg);
}

// Read `text` as a file called `name`, expect `code`, a message that holds
// `where` and each of the NULL-terminated words after it, and no output.
void mtx_expect_error_named(const char *name, const char *text, bool duplicates_are_errors, int code,
                            const char *where, ...)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    fm_triplets *t = NULL;
    int status = read_text(name, text, duplicates_are_errors, &t, msg, dir);
    cr_assert_eq(status, code, "expected status %d, got %d: %s\n--- input ---\n%s", code, status, msg, text);
    cr_assert_null(t, "the output must stay NULL on failure");
    cr_assert_not_null(strstr(msg, where), "the message lacks \"%s\": %s", where, msg);
    va_list words;
    va_start(words, where);
    fm_test_expect_words_list("the message", msg, words);
    va_end(words);
    fm_test_remove_dir(dir);
}

// Read `text`, which must succeed.
fm_triplets *mtx_read_ok(const char *text, bool duplicates_are_errors)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    fm_triplets *t = NULL;
    int status = read_text("good.mtx", text, duplicates_are_errors, &t, msg, dir);
    cr_assert_eq(status, FM_OK, "%s\n--- input ---\n%s", msg, text);
    cr_assert_not_null(t);
    fm_test_remove_dir(dir);
    return t;
}

void mtx_expect_entry(const fm_triplets *t, int64_t k, int64_t row, int64_t col, float val)
{
    cr_assert_lt(k, t->count);
    cr_assert(t->row[k] == row && t->col[k] == col && t->val[k] == val,
              "entry %lld is (%lld, %lld, %g), expected (%lld, %lld, %g)", (long long)k,
              (long long)t->row[k], (long long)t->col[k], (double)t->val[k], (long long)row,
              (long long)col, (double)val);
}
