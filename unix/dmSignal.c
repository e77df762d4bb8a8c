/*
 * dmSignal.c --
 *
 *	Catching signals on Unix for dustmote::onsignal (generic/
 *	dmOnsignal.c).  The handler only writes the signal's number to a
 *	pipe; the event set reads it and runs the script from the event
 *	loop, where Tcl may be called.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <signal.h>
#include <string.h>

const DmSignalName dmSignalNames[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"TERM", SIGTERM},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {NULL, 0}
};

/*
 * The pipe belongs to the process and is read by the thread that asked
 * for the signals (see DmSignalRelease).
 */

static int pipeFds[2] = {-1, -1};
static DmWatch pipeWatch;
static int watching;			/* pipeWatch is in an event set. */

/*
 *----------------------------------------------------------------------
 *
 * SignalHandler --
 *
 *	Async-signal-safe: records the signal in the pipe.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes one byte.
 *
 *----------------------------------------------------------------------
 */

static void
SignalHandler(
    int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char) signo;

    if (write(pipeFds[1], &b, 1) < 0) {
	/* The pipe is full: that signal is already pending. */
    }
    errno = saved;
}

/*
 *----------------------------------------------------------------------
 *
 * PipeReadable --
 *
 *	Runs the scripts of the signals that arrived.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmSignalRun.
 *
 *----------------------------------------------------------------------
 */

static void
PipeReadable(
    TCL_UNUSED(void *),
    TCL_UNUSED(int))
{
    unsigned char buf[64];
    ssize_t n = read(pipeFds[0], buf, sizeof(buf));
    ssize_t i;

    for (i = 0; i < n; i++) {
	DmSignalRun(buf[i]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmSignalCatch --
 *
 *	Sends a signal to SignalHandler (on), or gives it its default
 *	action.  The pipe is opened on first use, non-blocking (a full pipe
 *	must never block the handler) and close-on-exec.
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Changes the signal's disposition; may open and watch the pipe.
 *
 *----------------------------------------------------------------------
 */

int
DmSignalCatch(
    int signo,
    int on)
{
    struct sigaction sa;

    if (on && pipeFds[0] < 0 && DmWakeOpen(pipeFds) < 0) {
	return -1;
    }
    if (on && !watching) {
	if (DmWatchStart(&pipeWatch, pipeFds[0], DM_READABLE, PipeReadable,
		NULL) < 0) {
	    return -1;
	}
	watching = 1;
    }
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (on) {
	sa.sa_handler = SignalHandler;
	sa.sa_flags = SA_RESTART;
    } else {
	sa.sa_handler = SIG_DFL;
    }
    return sigaction(signo, &sa, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * DmSignalRelease --
 *
 *	No signal is caught any more: the pipe leaves this thread's event
 *	set, so that the next thread to catch one watches it in its own.
 *	The pipe stays open (a signal already on its way is read later).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Stops the pipe's watch.
 *
 *----------------------------------------------------------------------
 */

void
DmSignalRelease(void)
{
    if (watching) {
	DmWatchStop(&pipeWatch);
	watching = 0;
    }
}
