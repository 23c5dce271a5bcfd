// Fixtures of the training suites: see train_fixtures.h.
#include "train_fixtures.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fm_train_options fm_test_training_tiny(fm_model_kind kind, const char *out)
{
    fm_train_options o;
    fm_train_options_default(&o, kind);
    o.rank = 3;
    o.width = 8;
    o.heads = 1;
    o.layers = 2;
    o.epochs = 2;
    o.train_size = 24;
    o.valid_size = 8;
    o.rate = 1e-2;
    o.checkpoint_every = 0;
    o.out = out;
    return o;
}

char *fm_test_training_path(const char *dir, const char *name)
{
    char *p = malloc(600);
    cr_assert_not_null(p);
    snprintf(p, 600, "%s/%s", dir, name);
    return p;
}

char *fm_test_training_state(const char *out)
{
    char *p = malloc(strlen(out) + sizeof FM_TRAIN_STATE_SUFFIX);
    cr_assert_not_null(p);
    sprintf(p, "%s%s", out, FM_TRAIN_STATE_SUFFIX);
    return p;
}

fm_train_result *fm_test_training_run(const fm_train_options *o)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_result *r = NULL;
    cr_assert_eq(fm_train_run(&r, o, msg), FM_OK, "%s", msg);
    cr_assert_not_null(r);
    return r;
}

int fm_test_training_refused(const fm_train_options *o, char *msg)
{
    fm_train_result *r = NULL;
    const int status = fm_train_run(&r, o, msg);
    cr_assert_neq(status, FM_OK, "the run should have failed");
    cr_assert_null(r);
    return status;
}

int fm_test_training_stop_after(const fm_train_progress *p, void *user)
{
    return p->event == FM_TRAIN_EVENT_STEP && p->matrices >= *(const int64_t *)user;
}

unsigned char *fm_test_slurp(const char *path, long *bytes)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    *bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)*bytes + 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, (size_t)*bytes, f), (size_t)*bytes);
    fclose(f);
    return data;
}

fm_test_outcome fm_test_outcome_of(const char *out)
{
    char msg[FM_MSG_LEN] = "";
    fm_test_outcome c = {0};
    char *state = fm_test_training_state(out);
    fm_checkpoint_header h;
    cr_assert_eq(fm_checkpoint_read(state, &h, &c.state_blocks, &c.state, NULL, msg), FM_OK, "%s", msg);
    c.model = fm_test_slurp(out, &c.model_bytes);
    free(state);
    return c;
}

void fm_test_outcome_free(fm_test_outcome *c)
{
    fm_params_free(&c->state_blocks);
    free(c->model);
}

void fm_test_expect_same_outcome(const fm_test_outcome *a, const fm_test_outcome *b, const char *what)
{
    const int64_t n = a->state_blocks->count;
    cr_assert_eq(b->state_blocks->count, n);
    cr_expect_eq(memcmp(a->state_blocks->values, b->state_blocks->values, sizeof(float) * n), 0,
                 "%s: the parameters differ", what);
    cr_expect_eq(memcmp(a->state_blocks->m, b->state_blocks->m, sizeof(float) * n), 0, "%s: m differs", what);
    cr_expect_eq(memcmp(a->state_blocks->v, b->state_blocks->v, sizeof(float) * n), 0, "%s: v differs", what);
    cr_expect_eq(memcmp(&a->state, &b->state, sizeof a->state), 0, "%s: the training states differ", what);
    cr_expect(a->model_bytes == b->model_bytes && !memcmp(a->model, b->model, (size_t)a->model_bytes),
              "%s: the best models differ", what);
}
