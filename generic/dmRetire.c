/*
 * dmRetire.c --
 *
 *	Keeps memory alive while C frames of this package may still point to
 *	it.  Every entry from Tcl's event loop or from a Tcl command into the
 *	package (an event batch, a timer, a handle subcommand) is bracketed
 *	by DmEnter and DmLeave.  Memory retired inside such a bracket is
 *	freed only when the outermost one is left, so Tcl code run in the
 *	middle (a reflected log channel, a signal script, a handler that
 *	calls "update" and so dispatches events again, or closes the server)
 *	can end a connection or a server without freeing what an outer frame
 *	is about to look at.  Those frames check the object's own flags
 *	(closed, released) after each call into Tcl, never a stale pointer.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>

typedef struct Retired {
    DmFreeProc *proc;		/* NULL: free(). */
    void *ptr;
} Retired;

/*
 * Per thread, like Tcl's event loop: one depth and one list.
 */

typedef struct ThreadData {
    int depth;			/* DmEnter minus DmLeave calls. */
    Retired *retired;		/* Freed when depth returns to 0. */
    size_t numRetired, maxRetired;
} ThreadData;

static Tcl_ThreadDataKey dataKey;

/*
 *----------------------------------------------------------------------
 *
 * DmEnter, DmLeave --
 *
 *	Mark the start and end of a call into the package.  Leaving the
 *	outermost one frees what was retired meanwhile, including what a
 *	procedure called while freeing retires in turn.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	DmLeave may free memory.
 *
 *----------------------------------------------------------------------
 */

void
DmEnter(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    tsdPtr->depth++;
}

void
DmLeave(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (tsdPtr->depth > 1) {
	tsdPtr->depth--;
	return;
    }

    /*
     * Still inside while freeing, so a free procedure that retires more
     * appends to the list instead of freeing under the loop.
     */

    while (tsdPtr->numRetired > 0) {
	Retired r = tsdPtr->retired[--tsdPtr->numRetired];

	if (r.proc != NULL) {
	    r.proc(r.ptr);
	} else {
	    free(r.ptr);
	}
    }
    tsdPtr->depth = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * RetireExit --
 *
 *	Frees the thread's list when the thread (or process) ends.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Frees memory.
 *
 *----------------------------------------------------------------------
 */

static void
RetireExit(
    void *clientData)
{
    ThreadData *tsdPtr = clientData;

    free(tsdPtr->retired);
    tsdPtr->retired = NULL;
    tsdPtr->numRetired = tsdPtr->maxRetired = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmRetire --
 *
 *	Frees ptr (with proc, or free() if proc is NULL): at once outside
 *	any call into the package, else when the outermost one is left.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Frees ptr now or later.
 *
 *----------------------------------------------------------------------
 */

void
DmRetire(
    DmFreeProc *proc,
    void *ptr)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (tsdPtr->depth == 0) {
	if (proc != NULL) {
	    proc(ptr);
	} else {
	    free(ptr);
	}
	return;
    }
    if (tsdPtr->numRetired == tsdPtr->maxRetired) {
	size_t max = tsdPtr->maxRetired ? 2 * tsdPtr->maxRetired : 64;
	Retired *grown = realloc(tsdPtr->retired, max * sizeof(Retired));

	if (grown == NULL) {
	    Tcl_Panic("dustmote: out of memory");
	}
	if (tsdPtr->retired == NULL) {
	    Tcl_CreateThreadExitHandler(RetireExit, tsdPtr);
	}
	tsdPtr->retired = grown;
	tsdPtr->maxRetired = max;
    }
    tsdPtr->retired[tsdPtr->numRetired].proc = proc;
    tsdPtr->retired[tsdPtr->numRetired].ptr = ptr;
    tsdPtr->numRetired++;
}
