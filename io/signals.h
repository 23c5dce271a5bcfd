// Signals for a program that writes files. SIGINT, SIGTERM and SIGHUP are
// caught; what a caught signal does depends on the mode the program is in.
// SIGXFSZ is ignored, so that a write past the file-size limit (ulimit -f)
// fails with EFBIG and takes the ordinary error path.
//
// A handler that ends the process first removes every file it would leave
// behind (io/atomic_file: temporaries, staged outputs, locks), then ends it
// by the signal's default action. It always runs on the thread that called
// fm_signals_catch (a signal that lands on another thread is sent on), the
// thread that writes files.
#ifndef FM_SIGNALS_H
#define FM_SIGNALS_H

#include <stdbool.h>

typedef enum {
    FM_SIGNALS_END = 0,   // (the default) a signal ends the process at once
    FM_SIGNALS_STOP,      // the first signal is recorded (fm_signals_caught) for the work to stop at
                          // its next safe point; a second one ends the process
    FM_SIGNALS_DEFER,     // signals are recorded; leaving this mode ends the process by the first one
                          // recorded here, once the work it protects (renames) is done
} fm_signals_mode;

// Install the handlers (once per process; later calls do nothing).
void fm_signals_catch(void);
// Switch mode; returns the previous one. Leaving FM_SIGNALS_DEFER after a
// signal arrived in it does not return.
fm_signals_mode fm_signals_mode_set(fm_signals_mode mode);
// Hold the caught signals back on this thread (a short critical section:
// taking or dropping a lock file), then let them in again; the handler
// sends a signal that lands on another thread to this one, where it waits.
void fm_signals_hold(bool hold);
// The signal recorded in FM_SIGNALS_STOP, else 0.
int fm_signals_caught(void);
// "SIGINT", "SIGTERM", "SIGHUP", else "signal N" (static storage).
const char *fm_signal_name(int sig);

#endif
