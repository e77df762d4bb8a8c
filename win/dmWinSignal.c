/*
 * dmWinSignal.c --
 *
 *	Catching console control events on Windows for dustmote::onsignal
 *	(generic/dmOnsignal.c): INT is Ctrl-C, BREAK is Ctrl-Break, TERM is
 *	the console being closed, the user logging off or the system
 *	shutting down.  Windows calls the handler in a thread of its own;
 *	the handler queues an event for the Tcl thread that asked, which
 *	runs the script from its event loop.
 *
 *	For TERM, Windows ends the process once the handler returns, and at
 *	the latest a few seconds after the event: the handler waits for the
 *	script to have run (up to 4.5 s), so a server can close and log,
 *	but it cannot drain for longer.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <signal.h>

#define DM_SIGBREAK 21		/* As the C library numbers SIGBREAK. */

const DmSignalName dmSignalNames[] = {
    {"INT", SIGINT}, {"BREAK", DM_SIGBREAK}, {"TERM", SIGTERM}, {NULL, 0}
};

/*
 * What the handler thread reads: which signals are caught, the Tcl
 * thread to tell, and the event it sets once a script has run.
 */

static volatile LONG caught[DM_MAX_SIGNAL];
static Tcl_ThreadId owner;
static HANDLE ranEvent;
static int installed;

typedef struct SignalEvent {
    Tcl_Event header;
    int signo;
} SignalEvent;

/*
 *----------------------------------------------------------------------
 *
 * SignalEventProc --
 *
 *	Runs a caught signal's script in the Tcl thread.
 *
 * Results:
 *	1: the event is taken.
 *
 * Side effects:
 *	See DmSignalRun; tells a waiting handler that the script ran.
 *
 *----------------------------------------------------------------------
 */

static int
SignalEventProc(
    Tcl_Event *evPtr,
    TCL_UNUSED(int) /*flags*/)
{
    DmSignalRun(((SignalEvent *) evPtr)->signo);
    SetEvent(ranEvent);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ConsoleHandler --
 *
 *	Called by Windows, in a thread of its own, for a console control
 *	event.
 *
 * Results:
 *	TRUE if the event's signal is caught (Windows then does nothing
 *	more for Ctrl-C and Ctrl-Break), FALSE to let the next handler (in
 *	the end, the one that ends the process) have it.
 *
 * Side effects:
 *	Queues an event for the Tcl thread.
 *
 *----------------------------------------------------------------------
 */

static BOOL WINAPI
ConsoleHandler(
    DWORD type)
{
    SignalEvent *ev;
    int signo;

    switch (type) {
    case CTRL_C_EVENT:
	signo = SIGINT;
	break;
    case CTRL_BREAK_EVENT:
	signo = DM_SIGBREAK;
	break;
    default:
	signo = SIGTERM;
	break;
    }
    if (!caught[signo]) {
	return FALSE;
    }
    ev = (SignalEvent *) Tcl_Alloc(sizeof(SignalEvent));
    ev->header.proc = SignalEventProc;
    ev->signo = signo;
    ResetEvent(ranEvent);
    Tcl_ThreadQueueEvent(owner, &ev->header, TCL_QUEUE_TAIL);
    Tcl_ThreadAlert(owner);
    if (signo == SIGTERM) {
	WaitForSingleObject(ranEvent, 4500);
    }
    return TRUE;
}

/*
 *----------------------------------------------------------------------
 *
 * DmSignalCatch --
 *
 *	Sends a signal's console events to the Tcl thread (on), or lets
 *	Windows act on them as by default.
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Installs the console handler on first use; the calling thread is
 *	the one told from now on.
 *
 *----------------------------------------------------------------------
 */

int
DmSignalCatch(
    int signo,
    int on)
{
    if (on && !installed) {
	ranEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (ranEvent == NULL || !SetConsoleCtrlHandler(ConsoleHandler, TRUE)) {
	    errno = DmWinErrno(GetLastError());
	    return -1;
	}
	installed = 1;
    }
    if (on) {
	owner = Tcl_GetCurrentThread();	/* Set while none is caught (see
					 * DmSignalRelease): the handler
					 * does not read it then. */
    }
    InterlockedExchange(&caught[signo], on ? 1 : 0);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmSignalRelease --
 *
 *	No signal is caught any more: no thread is told, and the next
 *	catch, in whichever thread, makes that thread the one.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Forgets the thread.
 *
 *----------------------------------------------------------------------
 */

void
DmSignalRelease(void)
{
    owner = NULL;
}
