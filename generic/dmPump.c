/*
 * dmPump.c --
 *
 *	The "dustmote::pump" command: copies bytes from one channel to
 *	another like fcopy, synchronously or in the background.  From a plain
 *	file to an unstacked TCP socket the bytes go by sendfile, never
 *	through user space; between any other channels (a TLS or other
 *	stacked socket, a pipe, a reflected channel) they go through one
 *	large buffer with Tcl_Read and Tcl_Write, which act on the top of a
 *	stack so a transformation is never bypassed.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <string.h>

#define PUMP_BUFFER	(256 * 1024)	/* Bytes per Tcl_Read/Tcl_Write. */
#define SENDFILE_STEP	(64 * 1024 * 1024) /* Bytes per sendfile call. */

/*
 * A channel's settings that the pump changes for the copy and restores.
 */

typedef struct SavedOptions {
    Tcl_DString translation, encoding, eofchar, blocking;
} SavedOptions;

typedef struct Pump {
    Tcl_Interp *interp;
    Tcl_Channel in, out;
    Tcl_Obj *command;		/* Completion callback; NULL when sync. */
    Tcl_WideInt left;		/* Bytes still to copy; -1: up to EOF. */
    Tcl_WideInt copied;
    int inFd, outFd;		/* Descriptors, when sendfile is usable. */
    int useSendfile;
    int waitMask;		/* Channel handlers now registered: */
#define WAIT_IN 1		/* readable on in, */
#define WAIT_OUT 2		/* writable on out. */
    int finished;		/* The callback is scheduled. */
    Tcl_Obj *error;		/* Why the copy stopped, or NULL. */
    SavedOptions inSaved, outSaved;
    char *buf;			/* The fallback buffer. */
} Pump;

typedef struct ThreadData {
    int initialized;
    Tcl_HashTable busy;		/* Tcl_Channel -> Pump * using it. */
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static void	PumpEvent(void *clientData, int mask);
static void	PumpStart(void *clientData);
static void	PumpClosed(void *clientData);
static void	PumpCallback(void *clientData);
static void	FreePump(void *ptr);

/*
 *----------------------------------------------------------------------
 *
 * BusyTable --
 *
 *	The thread's table of channels taken by a pump.
 *
 * Results:
 *	The table.
 *
 * Side effects:
 *	Initialises it on first use.
 *
 *----------------------------------------------------------------------
 */

static Tcl_HashTable *
BusyTable(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (!tsdPtr->initialized) {
	Tcl_InitHashTable(&tsdPtr->busy, TCL_ONE_WORD_KEYS);
	tsdPtr->initialized = 1;
    }
    return &tsdPtr->busy;
}

/*
 *----------------------------------------------------------------------
 *
 * SaveOptions, RestoreOptions --
 *
 *	The pump moves bytes unchanged, so both channels are binary for the
 *	copy (and non-blocking for a background one); their own settings
 *	come back afterwards.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes channel options.
 *
 *----------------------------------------------------------------------
 */

static void
SaveOptions(
    Tcl_Channel chan,
    SavedOptions *s,
    int blocking)
{
    Tcl_DStringInit(&s->translation);
    Tcl_DStringInit(&s->encoding);
    Tcl_DStringInit(&s->eofchar);
    Tcl_DStringInit(&s->blocking);
    Tcl_GetChannelOption(NULL, chan, "-translation", &s->translation);
    Tcl_GetChannelOption(NULL, chan, "-encoding", &s->encoding);
    Tcl_GetChannelOption(NULL, chan, "-eofchar", &s->eofchar);
    Tcl_GetChannelOption(NULL, chan, "-blocking", &s->blocking);
    Tcl_SetChannelOption(NULL, chan, "-translation", "binary");
    Tcl_SetChannelOption(NULL, chan, "-blocking", blocking ? "1" : "0");
}

static void
RestoreOptions(
    Tcl_Channel chan,
    SavedOptions *s)
{
    if (chan != NULL) {
	Tcl_SetChannelOption(NULL, chan, "-blocking",
		Tcl_DStringValue(&s->blocking));
	Tcl_SetChannelOption(NULL, chan, "-translation",
		Tcl_DStringValue(&s->translation));
	Tcl_SetChannelOption(NULL, chan, "-encoding",
		Tcl_DStringValue(&s->encoding));
	Tcl_SetChannelOption(NULL, chan, "-eofchar",
		Tcl_DStringValue(&s->eofchar));
    }
    Tcl_DStringFree(&s->translation);
    Tcl_DStringFree(&s->encoding);
    Tcl_DStringFree(&s->eofchar);
    Tcl_DStringFree(&s->blocking);
}

/*
 *----------------------------------------------------------------------
 *
 * ChannelFd --
 *
 *	The descriptor under a channel, if the channel is of the given type
 *	and nothing is stacked on it: only then do its bytes reach the
 *	descriptor unchanged.
 *
 * Results:
 *	The descriptor, or -1.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
ChannelFd(
    Tcl_Channel chan,
    const char *typeName,
    int direction)
{
    void *handle;

    if (Tcl_GetTopChannel(chan) != chan
	    || strcmp(Tcl_ChannelName(Tcl_GetChannelType(chan)), typeName) != 0
	    || Tcl_GetChannelHandle(chan, direction, &handle) != TCL_OK) {
	return -1;
    }
    return PTR2INT(handle);
}

/*
 *----------------------------------------------------------------------
 *
 * SetError --
 *
 *	Records why a copy stopped: the POSIX error of the last call.
 *
 * Results:
 *	-1, for the caller to return.
 *
 * Side effects:
 *	Sets pump->error.
 *
 *----------------------------------------------------------------------
 */

static int
SetError(
    Pump *pump,
    const char *what)
{
    pump->error = Tcl_ObjPrintf("error %s: %s", what,
	    Tcl_ErrnoMsg(Tcl_GetErrno()));
    Tcl_IncrRefCount(pump->error);
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * Gone --
 *
 *	Whether a channel of the pump was closed by Tcl code that a read or
 *	a write ran (a reflected channel's, or an update inside it): the
 *	copy then stops, and the channels are not touched again.
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static inline int
Gone(
    const Pump *pump)
{
    return pump->in == NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * Step --
 *
 *	Copies as much as can be copied without blocking (everything, for a
 *	synchronous pump).  Bytes buffered in the input channel go first, by
 *	the buffer path, and the output channel's queue must be empty before
 *	sendfile writes around it.
 *
 * Results:
 *	1 when the copy is complete, 0 when it must wait (pump->waitMask
 *	says for what), -1 on error (pump->error says why).
 *
 * Side effects:
 *	Moves bytes.
 *
 *----------------------------------------------------------------------
 */

static int
Step(
    Pump *pump)
{
    pump->waitMask = 0;
    while (pump->left != 0) {
	Tcl_Size n, want = PUMP_BUFFER;

	if (pump->useSendfile && Tcl_InputBuffered(pump->in) == 0) {
	    uint64_t off;
	    long sent;

	    if (Tcl_OutputBuffered(pump->out) > 0) {
		if (Tcl_Flush(pump->out) != TCL_OK) {
		    return SetError(pump, "writing");
		}
		if (Gone(pump)) {
		    return -1;
		}
		if (Tcl_OutputBuffered(pump->out) > 0) {
		    pump->waitMask = WAIT_OUT;	/* Flushing in background. */
		    return 0;
		}
	    }
	    off = (uint64_t) Tcl_Tell(pump->in);
	    sent = DmNetSendFile(pump->outFd, pump->inFd, &off,
		    (pump->left < 0 || pump->left > SENDFILE_STEP)
		    ? SENDFILE_STEP : (size_t) pump->left, 0, NULL);
	    if (sent < 0) {
		if (DmErrnoIsAgain()) {
		    pump->waitMask = WAIT_OUT;
		    return 0;
		}
		return SetError(pump, "copying");
	    }
	    Tcl_Seek(pump->in, (Tcl_WideInt) off, SEEK_SET);
	    if (sent == 0) {
		break;				/* End of file. */
	    }
	    pump->copied += sent;
	    if (pump->left > 0) {
		pump->left -= sent;
	    }
	    continue;
	}

	/*
	 * The buffer path.  A background pump reads no more while the
	 * output channel still queues a buffer's worth.
	 */

	if (pump->command != NULL
		&& Tcl_OutputBuffered(pump->out) >= PUMP_BUFFER) {
	    pump->waitMask = WAIT_OUT;
	    return 0;
	}
	if (pump->useSendfile && Tcl_InputBuffered(pump->in) < want) {
	    want = Tcl_InputBuffered(pump->in);	/* Bytes read ahead: they
						 * go first, a buffer's
						 * worth at a time. */
	}
	if (pump->left >= 0 && pump->left < want) {
	    want = (Tcl_Size) pump->left;
	}
	n = Tcl_Read(pump->in, pump->buf, want);
	if (Gone(pump)) {
	    return -1;
	}
	if (n < 0) {
	    return SetError(pump, "reading");
	}
	if (n == 0) {
	    if (Tcl_Eof(pump->in)) {
		break;
	    }
	    pump->waitMask = WAIT_IN;
	    return 0;
	}
	if (Tcl_Write(pump->out, pump->buf, n) < 0) {
	    return Gone(pump) ? -1 : SetError(pump, "writing");
	}
	pump->copied += n;
	if (pump->left > 0) {
	    pump->left -= n;
	}
	if (Gone(pump)) {
	    return -1;
	}
    }
    if (Tcl_Flush(pump->out) != TCL_OK) {
	return Gone(pump) ? -1 : SetError(pump, "writing");
    }
    return Gone(pump) ? -1 : 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Watch --
 *
 *	Registers the channel handlers a waiting background pump needs.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Creates or deletes channel handlers.
 *
 *----------------------------------------------------------------------
 */

static void
Watch(
    Pump *pump,
    int mask)
{
    Tcl_DeleteChannelHandler(pump->in, PumpEvent, pump);
    Tcl_DeleteChannelHandler(pump->out, PumpEvent, pump);
    if (mask & WAIT_IN) {
	Tcl_CreateChannelHandler(pump->in, TCL_READABLE, PumpEvent, pump);
    }
    if (mask & WAIT_OUT) {
	Tcl_CreateChannelHandler(pump->out, TCL_WRITABLE, PumpEvent, pump);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Release --
 *
 *	Gives the channels back: handlers gone, options restored, no longer
 *	busy.  A channel that is being closed is passed as NULL.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

static void
Release(
    Pump *pump)
{
    Tcl_HashTable *busy = BusyTable();
    Tcl_Channel chans[2];
    int i;

    if (Gone(pump)) {
	return;				/* Released already. */
    }
    chans[0] = pump->in;
    chans[1] = pump->out;
    for (i = 0; i < 2; i++) {
	Tcl_HashEntry *hPtr;

	Tcl_DeleteChannelHandler(chans[i], PumpEvent, pump);
	Tcl_DeleteCloseHandler(chans[i], PumpClosed, pump);
	hPtr = Tcl_FindHashEntry(busy, (char *) chans[i]);
	if (hPtr != NULL) {
	    Tcl_DeleteHashEntry(hPtr);
	}
    }
    RestoreOptions(pump->in, &pump->inSaved);
    RestoreOptions(pump->out, &pump->outSaved);
    pump->in = pump->out = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * Finish --
 *
 *	Ends a background copy: releases the channels and schedules the
 *	callback.  It runs from an idle handler, never from inside a
 *	channel close, where a script could not safely touch channels.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Schedules PumpCallback.
 *
 *----------------------------------------------------------------------
 */

static void
Finish(
    Pump *pump)
{
    Tcl_CancelIdleCall(PumpStart, pump);
    Release(pump);
    pump->finished = 1;
    Tcl_DoWhenIdle(PumpCallback, pump);
}

/*
 *----------------------------------------------------------------------
 *
 * PumpEvent --
 *
 *	A channel the background pump waits for is ready.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Moves bytes; may finish the copy.
 *
 *----------------------------------------------------------------------
 */

static void
PumpEvent(
    void *clientData,
    TCL_UNUSED(int) /*mask*/)
{
    Pump *pump = clientData;
    int r;

    /*
     * Tcl code run by a read or write may close a channel (PumpClosed
     * then finishes the copy) and run the callback, which frees the
     * pump: it stays in memory until this step is over.
     */

    Tcl_Preserve(pump);
    r = Step(pump);
    if (!pump->finished) {
	if (r == 0) {
	    Watch(pump, pump->waitMask);
	} else {
	    Finish(pump);
	}
    }
    Tcl_Release(pump);
}

/*
 *----------------------------------------------------------------------
 *
 * PumpStart --
 *
 *	The first step of a background copy, from the event loop as fcopy's
 *	is: the callback never runs before the pump command returns.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See PumpEvent.
 *
 *----------------------------------------------------------------------
 */

static void
PumpStart(
    void *clientData)
{
    PumpEvent(clientData, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * PumpClosed --
 *
 *	One of the channels is being closed during a copy: the copy stops
 *	and the callback (or the caller of a synchronous copy) hears why.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Releases the other channel; schedules the callback.
 *
 *----------------------------------------------------------------------
 */

static void
PumpClosed(
    void *clientData)
{
    Pump *pump = clientData;

    if (pump->finished || Gone(pump)) {
	return;
    }
    if (pump->error != NULL) {
	Tcl_DecrRefCount(pump->error);
    }
    pump->error = Tcl_NewStringObj("channel closed", -1);
    Tcl_IncrRefCount(pump->error);

    /*
     * Tcl does not tell which channel is closing; both are still valid
     * now, so both are released and get their settings back.  A
     * synchronous copy (closed by Tcl code its own read or write ran)
     * sees the release and returns the error.
     */

    if (pump->command == NULL) {
	Release(pump);
    } else {
	Finish(pump);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PumpCallback --
 *
 *	Calls "CMD bytes ?error?" at global level; an error in it goes to
 *	the background error handler.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Runs a script; frees the pump.
 *
 *----------------------------------------------------------------------
 */

static void
PumpCallback(
    void *clientData)
{
    Pump *pump = clientData;
    Tcl_Interp *interp = pump->interp;

    if (!Tcl_InterpDeleted(interp)) {
	Tcl_Obj *cmd = Tcl_DuplicateObj(pump->command);
	int code;

	Tcl_IncrRefCount(cmd);
	Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewWideIntObj(pump->copied));
	if (pump->error != NULL) {
	    Tcl_ListObjAppendElement(NULL, cmd, pump->error);
	}
	code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
	if (code != TCL_OK) {
	    Tcl_BackgroundException(interp, code);
	}
	Tcl_DecrRefCount(cmd);
    }
    Tcl_DecrRefCount(pump->command);
    if (pump->error != NULL) {
	Tcl_DecrRefCount(pump->error);
    }
    Tcl_Release(interp);
    Tcl_EventuallyFree(pump, (Tcl_FreeProc *) FreePump);
}

/*
 *----------------------------------------------------------------------
 *
 * FreePump --
 *
 *	Frees a pump and its buffer.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

static void
FreePump(
    void *ptr)
{
    Pump *pump = ptr;

    Tcl_Free(pump->buf);
    Tcl_Free((char *) pump);
}

/*
 *----------------------------------------------------------------------
 *
 * DmPumpObjCmd --
 *
 *	Implements "dustmote::pump in out ?-size n? ?-offset n?
 *	?-command cmd?".
 *
 * Results:
 *	A standard Tcl result: the byte count of a synchronous copy, empty
 *	for a background one.
 *
 * Side effects:
 *	Copies bytes; see the user documentation.
 *
 *----------------------------------------------------------------------
 */

int
DmPumpObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const pumpOptions[] = {
	"-command", "-offset", "-size", NULL
    };
    enum { PO_COMMAND, PO_OFFSET, PO_SIZE };
    Tcl_HashTable *busy = BusyTable();
    Tcl_Channel in, out;
    Tcl_Obj *command = NULL;
    Tcl_WideInt size = -1, offset = -1;
    int inMode, outMode, i, r, isNew;
    Pump *pump;

    if (objc < 3 || objc % 2 == 0) {
	Tcl_WrongNumArgs(interp, 1, objv,
		"in out ?-size n? ?-offset n? ?-command cmd?");
	return TCL_ERROR;
    }
    for (i = 3; i < objc; i += 2) {
	int index;
	Tcl_WideInt *slot;

	if (Tcl_GetIndexFromObj(interp, objv[i], pumpOptions, "option", 0,
		&index) != TCL_OK) {
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "OPTION",
		    Tcl_GetString(objv[i]), NULL);
	    return TCL_ERROR;
	}
	if (index == PO_COMMAND) {
	    command = objv[i + 1];
	    continue;
	}
	slot = (index == PO_SIZE) ? &size : &offset;
	if (Tcl_GetWideIntFromObj(NULL, objv[i + 1], slot) != TCL_OK
		|| *slot < 0) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "bad value \"%s\" for %s: must be a non-negative integer",
		    Tcl_GetString(objv[i + 1]), pumpOptions[index]));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", pumpOptions[index],
		    NULL);
	    return TCL_ERROR;
	}
    }

    in = Tcl_GetChannel(interp, Tcl_GetString(objv[1]), &inMode);
    out = (in == NULL) ? NULL
	    : Tcl_GetChannel(interp, Tcl_GetString(objv[2]), &outMode);
    if (out == NULL) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "PUMP", "CHANNEL", NULL);
	return TCL_ERROR;
    }
    if (!(inMode & TCL_READABLE) || !(outMode & TCL_WRITABLE)) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("channel \"%s\" is not %s",
		Tcl_GetString(objv[(inMode & TCL_READABLE) ? 2 : 1]),
		(inMode & TCL_READABLE) ? "writable" : "readable"));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "PUMP", "MODE", NULL);
	return TCL_ERROR;
    }
    if (in == out) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"cannot pump channel \"%s\" into itself",
		Tcl_GetString(objv[1])));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "PUMP", "SAME", NULL);
	return TCL_ERROR;
    }
    if (Tcl_FindHashEntry(busy, (char *) in) != NULL
	    || Tcl_FindHashEntry(busy, (char *) out) != NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"channel \"%s\" is busy", Tcl_GetString(objv[
		Tcl_FindHashEntry(busy, (char *) in) ? 1 : 2])));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "PUMP", "BUSY", NULL);
	return TCL_ERROR;
    }
    if (offset >= 0 && Tcl_Seek(in, offset, SEEK_SET) < 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"cannot seek \"%s\" to %" TCL_LL_MODIFIER "d: %s",
		Tcl_GetString(objv[1]), (long long) offset,
		Tcl_PosixError(interp)));
	return TCL_ERROR;
    }

    pump = (Pump *) Tcl_Alloc(sizeof(Pump));
    memset(pump, 0, sizeof(Pump));
    pump->interp = interp;
    pump->in = in;
    pump->out = out;
    pump->left = size;
    pump->buf = Tcl_Alloc(PUMP_BUFFER);
    pump->inFd = ChannelFd(in, "file", TCL_READABLE);
    pump->outFd = ChannelFd(out, "tcp", TCL_WRITABLE);
#ifdef HAVE_SENDFILE
    pump->useSendfile = (pump->inFd >= 0 && pump->outFd >= 0
	    && DmFileIsRegular(pump->inFd));
#endif
    Tcl_CreateHashEntry(busy, (char *) in, &isNew);
    Tcl_CreateHashEntry(busy, (char *) out, &isNew);
    SaveOptions(in, &pump->inSaved, command == NULL);
    SaveOptions(out, &pump->outSaved, command == NULL);
    Tcl_CreateCloseHandler(in, PumpClosed, pump);
    Tcl_CreateCloseHandler(out, PumpClosed, pump);

    if (command == NULL) {
	Tcl_WideInt copied;
	Tcl_Obj *error;

	r = Step(pump);
	Release(pump);
	copied = pump->copied;
	error = pump->error;
	FreePump(pump);
	if (r < 0) {
	    Tcl_SetObjResult(interp, error);
	    Tcl_DecrRefCount(error);
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "PUMP", "IO", NULL);
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, Tcl_NewWideIntObj(copied));
	return TCL_OK;
    }

    pump->command = command;
    Tcl_IncrRefCount(command);
    Tcl_Preserve(interp);

    Tcl_DoWhenIdle(PumpStart, pump);
    return TCL_OK;
}
