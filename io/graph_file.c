// The König digraph of a Matrix Market file: io reads the file
// (io/mtx.c), the engine builds the graph from its triplets (engine/graph.c),
// which reads no file.
#include "factormer.h"
#include "status.h"

int fm_graph_from_mtx(fm_graph **out, const char *path, fm_kind kind, char *msg)
{
    fm_triplets *t = NULL;
#define FREE_ALL fm_triplets_free(&t)
    FM_TRY(fm_mtx_read(&t, path, kind == FM_KIND_INCOMPLETE, msg));
    FM_TRY(fm_graph_from_triplets(out, t, kind, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
