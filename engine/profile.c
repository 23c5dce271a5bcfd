// Per-op counters: a small table keyed by op name.
#include "profile.h"

#include <string.h>

#define FM_PROFILE_MAX 128

bool fm_profile_on = false;
static fm_profile_entry table[FM_PROFILE_MAX];
static int used = 0;

void fm_profile_enable(bool on) { fm_profile_on = on; }

void fm_profile_reset(void)
{
    memset(table, 0, sizeof table);
    used = 0;
}

void fm_profile_record(const char *name, double seconds, double flops, double bytes)
{
#pragma omp critical(fm_profile)
    {
        int e = 0;
        while (e < used && table[e].name != name && strcmp(table[e].name, name)) e++;
        if (e < FM_PROFILE_MAX) {
            if (e == used) table[used++].name = name;
            table[e].calls++;
            table[e].seconds += seconds;
            table[e].flops += flops;
            table[e].bytes += bytes;
        }
    }
}

int fm_profile_entries(const fm_profile_entry **entries)
{
    *entries = table;
    return used;
}
