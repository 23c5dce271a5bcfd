// Output files checked before the work that fills them, and the outputs of a
// run under one prefix written as a set: whole, by one run at a time, or not
// at all.
#ifndef FM_OUTPUT_H
#define FM_OUTPUT_H

// PATH can be written as an output file: it is not empty, names no directory
// ("dir/", an existing directory), is no special file (a device, a FIFO), and
// its directory exists and is writable. `what` names it in messages ("--json",
// "the output file"). FM_ERR_INVALID for a name that cannot be a file's,
// FM_ERR_IO when the file system stands in the way.
int fm_output_check(const char *path, const char *what, char *msg);

// The files PREFIX + suffix of one run. Each is written under a staged name
// beside its final one (PREFIX.W.mtx.tmp.XXXXXX), and the staged files are
// renamed onto the final names only once all are written: a run that fails
// or is killed first leaves the previous run's files as they were and none
// of its own. While the set is open, PREFIX.lock holds an advisory lock
// (flock) with the owner's pid: a second run on the prefix is refused rather
// than mixing its files with the first's. The lock file is removed when the
// set is freed (and by io/signals when a signal ends the process); a lock
// file that a killed process left behind holds no lock and is taken over.
typedef struct fm_output_set fm_output_set;
#define FM_OUTPUT_SET_MAX 8

// Check PREFIX (`what` names it: "--out") and every PREFIX + suffix as
// fm_output_check does, then lock the prefix. FM_ERR_IO, "in use by pid N",
// when another process holds it.
int fm_output_set_open(fm_output_set **out, const char *what, const char *prefix, const char *const *suffixes,
                       int count, char *msg);
// Make the staged names (empty files, removed again unless committed).
int fm_output_set_stage(fm_output_set *set, char *msg);
// File i's final name, and the name to write it to (after a stage: the
// staged name).
const char *fm_output_set_final(const fm_output_set *set, int i);
const char *fm_output_set_staged(const fm_output_set *set, int i);
// Rename every staged file onto its final name, in order; signals wait until
// the renames are done (io/signals, FM_SIGNALS_DEFER).
int fm_output_set_commit(fm_output_set *set, char *msg);
// A writer's message names the staged file it wrote: name the final file
// instead (in place; msg holds FM_MSG_LEN bytes).
void fm_output_set_name_final(const fm_output_set *set, char *msg);
// Remove the staged files not committed, release and remove the lock.
void fm_output_set_free(fm_output_set **set);

#endif
