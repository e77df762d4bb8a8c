/*
 * dmSignal.c --
 *
 *	The "dustmote::onsignal" command: runs a script when the process
 *	receives a signal, so a server can shut down cleanly on Ctrl-C or
 *	SIGTERM.  The handler only writes the signal's number to a pipe; the
 *	script runs later from the event loop, where Tcl may be called.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    int number;
} signalNames[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"TERM", SIGTERM},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {NULL, 0}
};

#define MAX_SIGNAL 64

/*
 * Signals belong to the process, so does this state; the pipe is read by
 * the thread that first asked for a signal.
 */

static int pipeFds[2] = {-1, -1};
static DmWatch pipeWatch;
static Tcl_Interp *scriptInterps[MAX_SIGNAL];
static Tcl_Obj *scripts[MAX_SIGNAL];

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
 * ClearSignal --
 *
 *	Forgets a signal's script and gives the signal its default action.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes the signal's disposition.
 *
 *----------------------------------------------------------------------
 */

static void
ClearSignal(
    int signo)
{
    struct sigaction sa;

    if (scripts[signo] != NULL) {
	Tcl_DecrRefCount(scripts[signo]);
	scripts[signo] = NULL;
    }
    scriptInterps[signo] = NULL;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(signo, &sa, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * InterpDeleted --
 *
 *	An interpreter with signal scripts is going: its signals get their
 *	default action back, so no script runs in a dead interpreter.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See ClearSignal.
 *
 *----------------------------------------------------------------------
 */

static void
InterpDeleted(
    TCL_UNUSED(void *),
    Tcl_Interp *interp)
{
    int signo;

    for (signo = 1; signo < MAX_SIGNAL; signo++) {
	if (scriptInterps[signo] == interp) {
	    ClearSignal(signo);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PipeReadable --
 *
 *	Runs the scripts of the signals that arrived, at global level;
 *	errors go to the background error handler.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Runs scripts.
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
	Tcl_Interp *interp = scriptInterps[buf[i]];
	Tcl_Obj *script = scripts[buf[i]];
	int code;

	if (script == NULL || interp == NULL) {
	    continue;
	}
	Tcl_IncrRefCount(script);
	Tcl_Preserve(interp);
	code = Tcl_EvalObjEx(interp, script, TCL_EVAL_GLOBAL);
	if (code != TCL_OK) {
	    Tcl_BackgroundException(interp, code);
	}
	Tcl_Release(interp);
	Tcl_DecrRefCount(script);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SignalNumber --
 *
 *	Looks up a signal name, with or without "SIG".
 *
 * Results:
 *	The number, or 0 (with an error in interp) if unknown.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
SignalNumber(
    Tcl_Interp *interp,
    Tcl_Obj *nameObj)
{
    const char *name = Tcl_GetString(nameObj);
    int i;

    if (strncmp(name, "SIG", 3) == 0) {
	name += 3;
    }
    for (i = 0; signalNames[i].name != NULL; i++) {
	if (strcmp(name, signalNames[i].name) == 0) {
	    return signalNames[i].number;
	}
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown signal \"%s\": must be"
	    " HUP, INT, QUIT, TERM, USR1 or USR2", Tcl_GetString(nameObj)));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "SIGNAL", NULL);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * OpenPipe --
 *
 *	Opens the signal pipe, non-blocking (a full pipe must never block
 *	the handler) and close-on-exec (atomically where pipe2 exists, so a
 *	child started meanwhile by another thread cannot inherit it).
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Fills pipeFds.
 *
 *----------------------------------------------------------------------
 */

static int
OpenPipe(void)
{
#ifdef HAVE_PIPE2
    return pipe2(pipeFds, O_NONBLOCK | O_CLOEXEC);
#else
    int i;

    if (pipe(pipeFds) < 0) {
	return -1;
    }
    for (i = 0; i < 2; i++) {
	fcntl(pipeFds[i], F_SETFL, fcntl(pipeFds[i], F_GETFL) | O_NONBLOCK);
	fcntl(pipeFds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * DmOnsignalObjCmd --
 *
 *	Implements "dustmote::onsignal signals ?script?": sets the script
 *	run when one of the signals arrives ("" restores the default
 *	action), or returns the script set.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Installs or removes signal handlers.
 *
 *----------------------------------------------------------------------
 */

int
DmOnsignalObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj **names;
    Tcl_Size count, i;
    int numbers[16];

    if (objc != 2 && objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "signals ?script?");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[1], &count, &names) != TCL_OK) {
	return TCL_ERROR;
    }
    if (count < 1 || count > 16) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		"expected 1 to 16 signal names", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "SIGNAL", NULL);
	return TCL_ERROR;
    }
    for (i = 0; i < count; i++) {
	if ((numbers[i] = SignalNumber(interp, names[i])) == 0) {
	    return TCL_ERROR;
	}
    }
    if (objc == 2) {
	Tcl_Obj *script = scripts[numbers[0]];

	Tcl_SetObjResult(interp, script ? script : Tcl_NewObj());
	return TCL_OK;
    }
    if (pipeFds[0] < 0) {
	if (OpenPipe() < 0 || DmWatchStart(&pipeWatch, pipeFds[0],
		DM_READABLE, PipeReadable, NULL) < 0) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "cannot watch signals: %s", Tcl_PosixError(interp)));
	    return TCL_ERROR;
	}
    }
    Tcl_DontCallWhenDeleted(interp, InterpDeleted, NULL);
    Tcl_CallWhenDeleted(interp, InterpDeleted, NULL);
    for (i = 0; i < count; i++) {
	int signo = numbers[i];
	struct sigaction sa;
	Tcl_Size len;

	ClearSignal(signo);
	Tcl_GetStringFromObj(objv[2], &len);
	if (len > 0) {
	    memset(&sa, 0, sizeof(sa));
	    sigemptyset(&sa.sa_mask);
	    sa.sa_handler = SignalHandler;
	    sa.sa_flags = SA_RESTART;
	    scripts[signo] = objv[2];
	    scriptInterps[signo] = interp;
	    Tcl_IncrRefCount(objv[2]);
	    sigaction(signo, &sa, NULL);
	}
    }
    Tcl_SetObjResult(interp, objv[2]);
    return TCL_OK;
}
