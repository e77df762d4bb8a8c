/*
 * dmOnsignal.c --
 *
 *	The "dustmote::onsignal" command: runs a script when the process
 *	receives a signal (on Windows, a console control event), so a server
 *	can shut down cleanly on Ctrl-C or when told to stop.  The platform
 *	(unix/dmSignal.c, win/dmWinSignal.c) names the signals, catches them
 *	and calls DmSignalRun later from the event loop, where Tcl may be
 *	called.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <string.h>

/*
 * Signals belong to the process, so does this state.  It is used by one
 * thread only, the first to set a script, until none is left: the
 * platform tells that thread of signals, and the scripts are its
 * interpreters' objects.
 */

static Tcl_Interp *scriptInterps[DM_MAX_SIGNAL];
static Tcl_Obj *scripts[DM_MAX_SIGNAL];

static Tcl_Mutex ownerMutex;
static Tcl_ThreadId owner;		/* Under ownerMutex. */
static int owned;

static void	ReleaseIfUnused(void);

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
    if (scripts[signo] != NULL) {
	Tcl_DecrRefCount(scripts[signo]);
	scripts[signo] = NULL;
    }
    scriptInterps[signo] = NULL;
    DmSignalCatch(signo, 0);
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

    for (signo = 1; signo < DM_MAX_SIGNAL; signo++) {
	if (scriptInterps[signo] == interp) {
	    ClearSignal(signo);
	}
    }
    ReleaseIfUnused();
}

/*
 *----------------------------------------------------------------------
 *
 * ReleaseIfUnused --
 *
 *	Called in the thread that handles signals: once it has no script
 *	left, another thread may take signals over (this one may be about
 *	to end).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May give up the ownership and the platform's watch.
 *
 *----------------------------------------------------------------------
 */

static void
ReleaseIfUnused(void)
{
    int signo;

    for (signo = 1; signo < DM_MAX_SIGNAL; signo++) {
	if (scripts[signo] != NULL) {
	    return;
	}
    }
    DmSignalRelease();
    Tcl_MutexLock(&ownerMutex);
    owned = 0;
    Tcl_MutexUnlock(&ownerMutex);
}

/*
 *----------------------------------------------------------------------
 *
 * DmSignalRun --
 *
 *	Runs the script of a signal that arrived, at global level; errors
 *	go to the background error handler.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Runs a script.
 *
 *----------------------------------------------------------------------
 */

void
DmSignalRun(
    int signo)
{
    Tcl_Interp *interp;
    Tcl_Obj *script;
    int code;

    if (signo <= 0 || signo >= DM_MAX_SIGNAL) {
	return;
    }
    interp = scriptInterps[signo];
    script = scripts[signo];
    if (script == NULL || interp == NULL) {
	return;
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

/*
 *----------------------------------------------------------------------
 *
 * SignalNumber --
 *
 *	Looks up a signal name, with or without "SIG".
 *
 * Results:
 *	The number, or 0 (with an error in interp) if unknown here.
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
    Tcl_Obj *known;
    int i;

    if (strncmp(name, "SIG", 3) == 0) {
	name += 3;
    }
    for (i = 0; dmSignalNames[i].name != NULL; i++) {
	if (strcmp(name, dmSignalNames[i].name) == 0) {
	    return dmSignalNames[i].number;
	}
    }
    known = Tcl_NewObj();
    for (i = 0; dmSignalNames[i].name != NULL; i++) {
	Tcl_AppendPrintfToObj(known, "%s%s", i == 0 ? "" :
		dmSignalNames[i + 1].name == NULL ? " or " : ", ",
		dmSignalNames[i].name);
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown signal \"%s\": must be"
	    " %s", Tcl_GetString(nameObj), Tcl_GetString(known)));
    Tcl_DecrRefCount(known);
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "SIGNAL", NULL);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmOnsignalObjCmd --
 *
 *	Implements "dustmote::onsignal signals ?script?": sets the script
 *	run when one of the signals arrives ("" restores the default
 *	action), or returns the script set.  Only the first thread to set
 *	a script may use it from then on.
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
    Tcl_Size count, i, len;
    int numbers[16], mine;

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
    Tcl_MutexLock(&ownerMutex);
    if (!owned && objc == 3) {
	owner = Tcl_GetCurrentThread();
	owned = 1;
    }
    mine = !owned ? -1 : (owner == Tcl_GetCurrentThread());
    Tcl_MutexUnlock(&ownerMutex);
    if (mine < 0) {
	return TCL_OK;			/* No script anywhere: "". */
    }
    if (!mine) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("signals are handled by"
		" another thread: the first that set a script with"
		" dustmote::onsignal", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "THREAD", NULL);
	return TCL_ERROR;
    }
    if (objc == 2) {
	Tcl_Obj *script = scripts[numbers[0]];

	Tcl_SetObjResult(interp, script ? script : Tcl_NewObj());
	return TCL_OK;
    }
    Tcl_GetStringFromObj(objv[2], &len);
    Tcl_DontCallWhenDeleted(interp, InterpDeleted, NULL);
    Tcl_CallWhenDeleted(interp, InterpDeleted, NULL);
    for (i = 0; i < count; i++) {
	int signo = numbers[i];

	ClearSignal(signo);
	if (len == 0) {
	    continue;
	}
	if (DmSignalCatch(signo, 1) < 0) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "cannot watch signals: %s", Tcl_PosixError(interp)));
	    return TCL_ERROR;
	}
	scripts[signo] = objv[2];
	scriptInterps[signo] = interp;
	Tcl_IncrRefCount(objv[2]);
    }
    ReleaseIfUnused();
    Tcl_SetObjResult(interp, objv[2]);
    return TCL_OK;
}
