// fm_alloc_large, fm_shrink_large, fm_free_large (engine/memory.h): blocks
// below and above FM_LARGE_BYTES hold every byte asked for, keep their
// contents when shrunk, large ones are 2 MiB-aligned where they get a
// mapping of their own, and no size is an error but SIZE_MAX.
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "helpers.h"
#include "memory.h"

TestSuite(large_alloc, .init = fm_test_setup);

// Every byte written and read back (a block shorter than asked would fault,
// or, under AddressSanitizer, be reported).
static void fill_and_check(unsigned char *block, size_t bytes, unsigned seed)
{
    for (size_t b = 0; b < bytes; b++) block[b] = (unsigned char)(b * 131 + seed);
    size_t wrong = bytes;
    for (size_t b = bytes; b-- > 0;)
        if (block[b] != (unsigned char)(b * 131 + seed)) wrong = b;
    cr_assert_eq(wrong, bytes, "byte %zu of %zu", wrong, bytes);
}

Test(large_alloc, blocks_hold_what_they_were_asked_for)
{
    const size_t sizes[] = { 1, 17, 4096, FM_LARGE_BYTES - 1, FM_LARGE_BYTES, FM_LARGE_BYTES + 1,
                             (size_t)5 << 20 | 123 };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        unsigned char *block = fm_alloc_large(sizes[s]);
        cr_assert_not_null(block, "%zu bytes", sizes[s]);
        cr_assert_eq((uintptr_t)block % 16, 0, "%zu bytes at %p", sizes[s], (void *)block);
#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
        if (sizes[s] >= FM_LARGE_BYTES)
            cr_assert_eq((uintptr_t)block % FM_LARGE_BYTES, 0, "%zu bytes at %p", sizes[s], (void *)block);
#endif
        fill_and_check(block, sizes[s], (unsigned)s);
        fm_free_large(block);
    }
    cr_assert_null(fm_alloc_large(0));
    cr_assert_null(fm_alloc_large(SIZE_MAX));
    fm_free_large(NULL);
}

Test(large_alloc, shrinking_keeps_the_first_bytes)
{
    const size_t from[] = { 1000, (size_t)7 << 20, (size_t)7 << 20, FM_LARGE_BYTES + 5 };
    const size_t to[] = { 10, (size_t)3 << 20 | 7, 100, FM_LARGE_BYTES + 4 };
    for (size_t s = 0; s < sizeof from / sizeof *from; s++) {
        unsigned char *block = fm_alloc_large(from[s]);
        cr_assert_not_null(block);
        fill_and_check(block, from[s], 7);
        unsigned char *smaller = fm_shrink_large(block, to[s]);
        cr_assert_not_null(smaller);
        size_t wrong = to[s];
        for (size_t b = to[s]; b-- > 0;)
            if (smaller[b] != (unsigned char)(b * 131 + 7)) wrong = b;
        cr_assert_eq(wrong, to[s], "byte %zu", wrong);
        fill_and_check(smaller, to[s], 9);   // still writable to the end
        cr_assert_eq(fm_shrink_large(smaller, 0), smaller);
        fm_free_large(smaller);
    }
    cr_assert_null(fm_shrink_large(NULL, 10));
}

// A freed mapping is kept for the next block of about its size (no page
// faults the second time), and only for one it holds with at most half to
// spare; a block in use is never handed out twice.
Test(large_alloc, freed_mappings_are_reused)
{
    const size_t six = (size_t)6 << 20;
    unsigned char *first = fm_alloc_large(six - 100);
    cr_assert_not_null(first);
    fill_and_check(first, six - 100, 3);
    fm_free_large(first);
    unsigned char *again = fm_alloc_large(six - 50);
    cr_assert_not_null(again);
#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
    cr_assert_eq(again, first, "the freed mapping of the same size was not reused");
    // its pages are still there: a fresh mapping's would not be resident yet
    unsigned char resident = 0;
    cr_assert_eq(mincore(again, 4096, &resident), 0);
    cr_assert(resident & 1, "the reused block's first page is not resident");
#endif
    fill_and_check(again, six - 50, 4);
    unsigned char *other = fm_alloc_large(six - 50);   // `again` is in use
    cr_assert_not_null(other);
    cr_assert_neq(other, again);
    fill_and_check(other, six - 50, 5);
    fm_free_large(again);
    unsigned char *small = fm_alloc_large(FM_LARGE_BYTES);   // 2 MiB: 6 would leave two thirds spare
    cr_assert_not_null(small);
    cr_assert_neq(small, again);
    fill_and_check(small, FM_LARGE_BYTES, 6);
    fm_free_large(small);
    fm_free_large(other);
}

// More freed blocks than are kept, by count and by bytes: the oldest go, and
// every block handed out afterwards still holds what it was asked for.
Test(large_alloc, kept_mappings_are_bounded)
{
    enum { MANY = 20 };
    unsigned char *block[MANY];
    for (int round = 0; round < 2; round++) {
        for (int b = 0; b < MANY; b++) {
            const size_t bytes = FM_LARGE_BYTES * (size_t)(1 + b % 3) - 64;
            block[b] = fm_alloc_large(bytes);
            cr_assert_not_null(block[b]);
            fill_and_check(block[b], bytes, (unsigned)(b + round));
        }
        for (int b = 0; b < MANY; b++) fm_free_large(block[b]);
    }
    const size_t big = (size_t)100 << 20;
    for (int b = 0; b < 3; b++) {
        block[b] = fm_alloc_large(big);
        cr_assert_not_null(block[b]);
        fill_and_check(block[b], big, (unsigned)b);
    }
    for (int b = 0; b < 3; b++) fm_free_large(block[b]);
    unsigned char *again = fm_alloc_large(big);
    cr_assert_not_null(again);
    fill_and_check(again, big, 9);
    fm_free_large(again);
}

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
// A block freed twice while its mapping is kept is stopped, not handed out
// to two later callers. (Under AddressSanitizer blocks come from malloc and
// the sanitizer reports a double free itself.)
Test(large_alloc, a_block_freed_twice_aborts, .signal = SIGABRT)
{
    unsigned char *block = fm_alloc_large((size_t)3 << 20);
    cr_assert_not_null(block);
    fm_free_large(block);
    fm_free_large(block);
}
#endif
