#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "atomic_file.h"

static const int caught_signals[] = { SIGINT, SIGTERM, SIGHUP };

static pthread_t writer;          // the thread the handler runs on
static atomic_int mode;           // an fm_signals_mode
static volatile sig_atomic_t stop_signal, deferred_signal;

// Remove what the process would leave behind, then die of `sig`.
static void end_by(int sig)
{
    fm_temp_remove_all();
    struct sigaction action = { 0 };
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    raise(sig);   // in the handler: delivered as it returns, the signal being blocked until then
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void on_signal(int sig)
{
    const int saved_errno = errno;
    if (!pthread_equal(pthread_self(), writer)) {
        pthread_kill(writer, sig);
    } else {
        switch (atomic_load(&mode)) {
        case FM_SIGNALS_DEFER:
            if (!deferred_signal) deferred_signal = sig;
            break;
        case FM_SIGNALS_STOP:
            if (!stop_signal) {
                stop_signal = sig;
                break;
            }
            end_by(sig);
            break;
        default:
            end_by(sig);
        }
    }
    errno = saved_errno;
}

void fm_signals_catch(void)
{
    static bool installed = false;
    if (installed) return;
    installed = true;
    writer = pthread_self();
    struct sigaction action = { 0 };
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof caught_signals / sizeof caught_signals[0]; i++)
        sigaddset(&action.sa_mask, caught_signals[i]);
    for (size_t i = 0; i < sizeof caught_signals / sizeof caught_signals[0]; i++)
        sigaction(caught_signals[i], &action, NULL);
    struct sigaction ignore = { 0 };
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGXFSZ, &ignore, NULL);
}

fm_signals_mode fm_signals_mode_set(fm_signals_mode next)
{
    const fm_signals_mode previous = atomic_exchange(&mode, next);
    if (previous == FM_SIGNALS_DEFER && next != FM_SIGNALS_DEFER && deferred_signal) end_by(deferred_signal);
    return previous;
}

void fm_signals_hold(bool hold)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof caught_signals / sizeof caught_signals[0]; i++) sigaddset(&set, caught_signals[i]);
    pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int fm_signals_caught(void) { return stop_signal; }

const char *fm_signal_name(int sig)
{
    static char name[32];
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: snprintf(name, sizeof name, "signal %d", sig); return name;
    }
}
