// The memory a run needs (fm_memory_estimate_run) and the limit reading is
// checked against (fm_set_memory_limit, fm_memory_limit, and the refusals of
// fm_mtx_read_for_run, fm_mtx_read_dense and the graph builders).
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static void reset_limit(void) { fm_set_memory_limit(0); }

TestSuite(memory, .init = fm_test_setup, .fini = reset_limit);

#define COO "%%MatrixMarket matrix coordinate real general\n"
#define ARR "%%MatrixMarket matrix array real general\n"

// The parts of the estimate, from what each kind stores.
Test(memory, estimate_parts)
{
    fm_memory_estimate e;
    // A sparse graph of m rows holds m + 1 row pointers in A and n + 1 in Aᵀ
    // however few its entries: 3·10^9 rows with one entry is 24 GB.
    fm_memory_estimate_run(&e, 3000000000, 2, 1, false, FM_KIND_SPARSE, 0);
    cr_assert_geq(e.graph, 8.0 * (3000000000.0 + 2 + 2));
    cr_assert_lt(e.graph, 8.0 * (3000000000.0 + 2 + 2) + 100);
    cr_assert_eq(e.factors, 0, "rank 0 has no factors");
    cr_assert_geq(e.peak, e.reading + e.graph);
    // with a rank, the factors: rank floats per row and column, several times
    fm_memory_estimate f;
    fm_memory_estimate_run(&f, 3000000000, 2, 1, false, FM_KIND_SPARSE, 10);
    cr_assert_eq(f.graph, e.graph);
    cr_assert_geq(f.factors, 3 * 4.0 * 10 * 3000000002.0);
    cr_assert_geq(f.peak, f.graph + f.factors);
    // twice the rank, twice the factors
    fm_memory_estimate_run(&e, 3000000000, 2, 1, false, FM_KIND_SPARSE, 20);
    cr_assert_float_eq(e.factors, 2 * f.factors, 1e-9 * f.factors);
    // dense: rows·cols values in each orientation, whatever the entries
    fm_memory_estimate_run(&e, 1000, 500, 500000, true, FM_KIND_AUTO, 0);
    cr_assert_eq(e.graph, 8.0 * 1000 * 500);
    cr_assert_eq(e.reading, 4.0 * 1000 * 500);
    // an array read as sparse keeps at most its rows·cols entries, as coordinates
    fm_memory_estimate_run(&f, 1000, 500, 500000, true, FM_KIND_SPARSE, 0);
    cr_assert_geq(f.graph, 24.0 * 500000);
    cr_assert_gt(f.building, 0);
    // triplets: 20 bytes an entry; the incomplete kind's duplicate check more
    fm_memory_estimate_run(&e, 1000, 500, 7000, false, FM_KIND_AUTO, 0);
    cr_assert_eq(e.reading, 20.0 * 7000);
    fm_memory_estimate_run(&f, 1000, 500, 7000, false, FM_KIND_INCOMPLETE, 0);
    cr_assert_gt(f.building, e.building);
    // a hostile shape does not overflow: the estimate is just large
    fm_memory_estimate_run(&e, INT64_MAX, INT64_MAX, INT64_MAX, false, FM_KIND_DENSE, 256);
    cr_assert_gt(e.peak, 1e38);
}

Test(memory, limit)
{
    const uint64_t machine = fm_memory_limit();
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    cr_assert_gt(machine, 0);
    cr_assert_leq(machine, (uint64_t)pages * (uint64_t)page, "the default is at most the physical memory");
    fm_set_memory_limit(12345);
    cr_assert_eq(fm_memory_limit(), 12345);
    fm_set_memory_limit(0);
    cr_assert_eq(fm_memory_limit(), machine);
}

static const char *write_file(char *dir, const char *name, const char *text)
{
    strcpy(dir, fm_test_tmpdir());
    const char *path = fm_test_path(dir, name);
    fm_test_write(path, text);
    return path;
}

// The rank decides: the same file fits a rank-1 run and not a rank-100 one.
Test(memory, read_for_run)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    const char *path = write_file(dir, "ratings.mtx", COO "% a comment\n1000 800 3\n1 1 1\n2 2 2\n3 3 3\n");
    fm_memory_estimate small, large;
    fm_memory_estimate_run(&small, 1000, 800, 3, false, FM_KIND_INCOMPLETE, 1);
    fm_memory_estimate_run(&large, 1000, 800, 3, false, FM_KIND_INCOMPLETE, 100);
    cr_assert_lt(small.peak, large.peak);
    fm_set_memory_limit((uint64_t)((small.peak + large.peak) / 2));
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read_for_run(&t, path, FM_KIND_INCOMPLETE, 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(t->count, 3);
    fm_triplets_free(&t);
    cr_assert_eq(fm_mtx_read_for_run(&t, path, FM_KIND_INCOMPLETE, 100, msg), FM_ERR_MEMORY);
    cr_assert_null(t);
    FM_TEST_EXPECT_WORDS("the message", msg, "ratings.mtx:3:", "1000 x 800 incomplete matrix declared here (3 entries)",
                         "rank-100 run", "rank-100 factors", "more than the memory limit of",
                         "set by --max-memory or fm_set_memory_limit");
    // fm_mtx_read checks the graph alone
    cr_assert_eq(fm_mtx_read(&t, path, true, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    fm_set_memory_limit(1000);
    cr_assert_eq(fm_mtx_read(&t, path, false, msg), FM_ERR_MEMORY);
    cr_assert_null(t);
    FM_TEST_EXPECT_WORDS("the message", msg, "ratings.mtx:3:", "sparse matrix", "to read it and build its graph",
                         "1000 B");
    fm_test_remove_dir(dir);
}

Test(memory, read_dense_checks_the_values)
{
    char dir[256], msg[FM_MSG_LEN] = "";
    char text[4000] = ARR "40 30\n";
    for (int e = 0; e < 40 * 30; e++) strcat(text, "1\n");
    const char *path = write_file(dir, "W.mtx", text);
    fm_set_memory_limit(4 * 40 * 30 - 1);
    fm_dense *d = NULL;
    cr_assert_eq(fm_mtx_read_dense(&d, path, msg), FM_ERR_MEMORY, "%s", msg);
    cr_assert_null(d);
    FM_TEST_EXPECT_WORDS("the message", msg, "W.mtx:2:", "40 x 30 array", "to hold its values", "4.7 KiB");
    fm_test_remove_dir(dir);
}

// The graph builders check too (they know no file).
Test(memory, graph_builders)
{
    char msg[FM_MSG_LEN] = "";
    int64_t row[1] = { 0 }, col[1] = { 0 };
    float val[1] = { 1 };
    fm_triplets t = { .rows = 3000000000, .cols = 2, .count = 1, .row = row, .col = col, .val = val };
    fm_graph *g = NULL;
    fm_set_memory_limit((uint64_t)1 << 30);
    cr_assert_eq(fm_graph_from_triplets(&g, &t, FM_KIND_SPARSE, msg), FM_ERR_MEMORY, "%s", msg);
    cr_assert_null(g);
    FM_TEST_EXPECT_WORDS("the message", msg, "sparse graph of a 3000000000 x 2 matrix with 1 entry", "needs about",
                         "1.0 GiB");
    float values[6] = { 1, 2, 3, 4, 5, 6 };
    fm_set_memory_limit(40);
    cr_assert_eq(fm_graph_from_dense(&g, 2, 3, values, FM_KIND_DENSE, msg), FM_ERR_MEMORY, "%s", msg);
    cr_assert_null(g);
    fm_set_memory_limit(0);
    cr_assert_eq(fm_graph_from_dense(&g, 2, 3, values, FM_KIND_DENSE, msg), FM_OK, "%s", msg);
    fm_graph_free(&g);
}
