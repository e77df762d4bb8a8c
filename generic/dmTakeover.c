/*
 * dmTakeover.c --
 *
 *	Connection takeover: a route made with -takeover 1 gets the
 *	connection as an ordinary Tcl channel (fileevent, fconfigure, fcopy,
 *	chan pipe and transform all work on it), positioned just after the
 *	request head, with any bytes already read delivered first; from then
 *	on the server leaves it alone.  This is how WebSocket, server-sent
 *	events or a proxy are built in Tcl, and how the original DustMote's
 *	handlers ("add-handler") got their socket.
 *
 *	The channel is of a type of its own over the package's event set,
 *	not a Tcl socket made from the descriptor: Tcl 8.6 watches its own
 *	sockets with select(), which cannot take a descriptor of 1024 or
 *	more.  It behaves as a socket does: -peername, -sockname and -error,
 *	"-translation {auto crlf}", and it starts non-blocking, as the
 *	original DustMote's sockets were when their handlers ran.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Takeover {
    Tcl_Channel chan;
    DmWatch watch;		/* The socket in the event set. */
    int fd;
    DmTls *tls;			/* The connection's TLS, or NULL. */
    Tcl_TimerToken pending;	/* Reports input that waits in the TLS
				 * layer, which the event set cannot see. */
} Takeover;

static Tcl_DriverInputProc	TakeoverInput;
static Tcl_DriverOutputProc	TakeoverOutput;
static Tcl_DriverGetOptionProc	TakeoverGetOption;
static Tcl_DriverWatchProc	TakeoverWatch;
static Tcl_DriverGetHandleProc	TakeoverGetHandle;
static Tcl_DriverClose2Proc	TakeoverClose;
static Tcl_DriverBlockModeProc	TakeoverBlockMode;
static DmFreeProc		TakeoverFree;

static const Tcl_ChannelType takeoverType = {
    "dustmote",			/* Type name. */
    TCL_CHANNEL_VERSION_5,
    TCL_CLOSE2PROC,		/* Close: close2Proc is used. */
    TakeoverInput,
    TakeoverOutput,
    NULL,			/* Seek. */
    NULL,			/* Set option. */
    TakeoverGetOption,
    TakeoverWatch,
    TakeoverGetHandle,
    TakeoverClose,
    TakeoverBlockMode,
    NULL,			/* Flush. */
    NULL,			/* Handler. */
    NULL,			/* Wide seek. */
    NULL,			/* Thread action. */
    NULL			/* Truncate. */
};

/*
 *----------------------------------------------------------------------
 *
 * TakeoverInput, TakeoverOutput --
 *
 *	Read from and write to the socket.
 *
 * Results:
 *	Bytes moved, or -1 with *errorCodePtr set (EAGAIN when a non-
 *	blocking channel would wait).
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

static int
TakeoverInput(
    void *instanceData,
    char *buf,
    int toRead,
    int *errorCodePtr)
{
    Takeover *t = instanceData;
    long n = (t->tls != NULL) ? DmTlsRecv(t->tls, buf, (size_t) toRead)
	    : DmNetRecv(t->fd, buf, (size_t) toRead);

    if (n < 0) {
	*errorCodePtr = Tcl_GetErrno();
	return -1;
    }
    return (int) n;
}

static int
TakeoverOutput(
    void *instanceData,
    const char *buf,
    int toWrite,
    int *errorCodePtr)
{
    Takeover *t = instanceData;
    DmBuf b;
    long n;

    b.ptr = buf;
    b.len = (size_t) toWrite;
    n = (t->tls != NULL) ? DmTlsSend(t->tls, &b, 1)
	    : DmNetSend(t->fd, &b, 1, 0);
    if (n < 0) {
	*errorCodePtr = Tcl_GetErrno();
	return -1;
    }
    return (int) n;
}

/*
 *----------------------------------------------------------------------
 *
 * TakeoverGetOption --
 *
 *	The options a socket has: -peername and -sockname (address, host
 *	name, port: the address stands for the host name, as no lookup is
 *	made), and -error (the pending error, cleared).
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Appends to *dsPtr.
 *
 *----------------------------------------------------------------------
 */

static int
TakeoverGetOption(
    void *instanceData,
    Tcl_Interp *interp,
    const char *optionName,
    Tcl_DString *dsPtr)
{
    Takeover *t = instanceData;
    static const char *const names[] = {"-error", "-peername", "-sockname"};
    int i;

    for (i = 0; i < 3; i++) {
	char addr[DM_ADDR_LEN], port[16];
	int p;

	if (optionName != NULL && strcmp(optionName, names[i]) != 0) {
	    continue;
	}
	if (optionName == NULL) {
	    Tcl_DStringAppendElement(dsPtr, names[i]);
	}
	if (i == 0) {
	    int err = DmNetError(t->fd);

	    /*
	     * Asked alone, the value is the message itself, not a list.
	     */

	    if (optionName == NULL) {
		Tcl_DStringAppendElement(dsPtr, err ? Tcl_ErrnoMsg(err) : "");
	    } else if (err) {
		Tcl_DStringAppend(dsPtr, Tcl_ErrnoMsg(err), -1);
	    }
	    continue;
	}
	if (DmNetName(t->fd, i == 1, addr, &p) < 0) {
	    if (interp != NULL) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"cannot get %s: %s", names[i], Tcl_PosixError(interp)));
	    }
	    return TCL_ERROR;
	}
	snprintf(port, sizeof(port), "%d", p);
	if (optionName == NULL) {
	    Tcl_DStringStartSublist(dsPtr);
	}
	Tcl_DStringAppendElement(dsPtr, addr);
	Tcl_DStringAppendElement(dsPtr, addr);
	Tcl_DStringAppendElement(dsPtr, port);
	if (optionName == NULL) {
	    Tcl_DStringEndSublist(dsPtr);
	}
    }
    if (optionName != NULL && strcmp(optionName, "-error") != 0
	    && strcmp(optionName, "-peername") != 0
	    && strcmp(optionName, "-sockname") != 0) {
	return Tcl_BadChannelOption(interp, optionName,
		"error peername sockname");
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * TakeoverEvent, TakeoverPending, TakeoverWatch --
 *
 *	The event set reports the socket ready, or a timer input waiting in
 *	the TLS layer: Tcl's channel layer is told, which runs fileevent
 *	scripts.  TakeoverWatch is how that layer says which events it
 *	wants.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Runs scripts; changes the watch.
 *
 *----------------------------------------------------------------------
 */

static void
TakeoverEvent(
    void *clientData,
    int events)
{
    Takeover *t = clientData;

    Tcl_NotifyChannel(t->chan, ((events & DM_READABLE) ? TCL_READABLE : 0)
	    | ((events & DM_WRITABLE) ? TCL_WRITABLE : 0));
}

static void
TakeoverPending(
    void *clientData)
{
    Takeover *t = clientData;

    t->pending = NULL;
    Tcl_NotifyChannel(t->chan, TCL_READABLE);
}

static void
TakeoverWatch(
    void *instanceData,
    int mask)
{
    Takeover *t = instanceData;

    DmWatchSet(&t->watch, ((mask & TCL_READABLE) ? DM_READABLE : 0)
	    | ((mask & TCL_WRITABLE) ? DM_WRITABLE : 0));
    if ((mask & TCL_READABLE) && t->tls != NULL && DmTlsPending(t->tls)) {
	if (t->pending == NULL) {
	    t->pending = Tcl_CreateTimerHandler(0, TakeoverPending, t);
	}
    } else if (t->pending != NULL) {
	Tcl_DeleteTimerHandler(t->pending);
	t->pending = NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TakeoverGetHandle, TakeoverBlockMode, TakeoverClose --
 *
 *	The descriptor; blocking or not; closing (one side, or the whole
 *	channel, whose memory is retired: an event of the current batch may
 *	still point to its watch).
 *
 * Results:
 *	TCL_OK or 0, or an errno value.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

static int
TakeoverGetHandle(
    void *instanceData,
    TCL_UNUSED(int) /*direction*/,
    void **handlePtr)
{
    Takeover *t = instanceData;

    *handlePtr = INT2PTR(t->fd);
    return TCL_OK;
}

static int
TakeoverBlockMode(
    void *instanceData,
    int mode)
{
    Takeover *t = instanceData;

    return DmNetSetBlocking(t->fd, mode == TCL_MODE_BLOCKING) < 0
	    ? Tcl_GetErrno() : 0;
}

static int
TakeoverClose(
    void *instanceData,
    TCL_UNUSED(Tcl_Interp *),
    int flags)
{
    Takeover *t = instanceData;

    if (flags & TCL_CLOSE_READ) {
	DmNetShutdownRead(t->fd);
	return 0;
    }
    if (flags & TCL_CLOSE_WRITE) {
	if (t->tls != NULL) {
	    DmTlsShutdown(t->tls);
	}
	DmNetShutdownWrite(t->fd);
	return 0;
    }
    DmWatchStop(&t->watch);
    if (t->pending != NULL) {
	Tcl_DeleteTimerHandler(t->pending);
    }
    if (t->tls != NULL) {
	DmNetSetBlocking(t->fd, 0);	/* close_notify is not waited for. */
	DmTlsFree(t->tls);
    }
    DmNetClose(t->fd);
    DmRetire(TakeoverFree, t);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * TakeoverFree --
 *
 *	Frees a channel's state, once no call into the package can still
 *	be using it.
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
TakeoverFree(
    void *ptr)
{
    Tcl_Free((char *) ptr);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTakeover --
 *
 *	Hands a connection to its route's handler as a channel: the server
 *	forgets it (it leaves -maxconnections and stats), the bytes read
 *	after the head go first, and "{*}handler channel request" runs.  An
 *	error in the handler is reported as a background error and closes
 *	the channel if the handler left it open.
 *
 * Results:
 *	-1: the connection is no longer the server's.
 *
 * Side effects:
 *	Creates a channel in the server's interpreter; runs the handler.
 *
 *----------------------------------------------------------------------
 */

int
DmTakeover(
    DmConn *conn,
    DmSavedRequest *saved,
    Tcl_Obj *handler,
    Tcl_Obj *request)
{
    DmServer *srv = conn->srv;
    Tcl_Interp *interp = srv->interp;
    Tcl_Obj *cmd, **words;
    Tcl_Size n;
    char name[32], *pending = NULL;
    size_t pendingLen = 0;
    Takeover *t = (Takeover *) Tcl_Alloc(sizeof(Takeover));
    int code;

    t->fd = DmConnDetach(conn, &pending, &pendingLen, &t->tls);
    t->pending = NULL;
    snprintf(name, sizeof(name), "dmsock%u", DmUniqueId());
    t->chan = Tcl_CreateChannel(&takeoverType, name, t,
	    TCL_READABLE | TCL_WRITABLE);
    DmWatchInit(&t->watch, t->fd, TakeoverEvent, t);
    Tcl_RegisterChannel(interp, t->chan);
    Tcl_SetChannelOption(NULL, t->chan, "-translation", "auto crlf");
    Tcl_SetChannelOption(NULL, t->chan, "-blocking", "0");
    if (pendingLen > 0) {
	Tcl_Ungets(t->chan, pending, (Tcl_Size) pendingLen, 0);
    }
    free(pending);

    Tcl_ListObjGetElements(NULL, handler, &n, &words);
    cmd = Tcl_NewListObj(n, words);
    Tcl_IncrRefCount(cmd);
    Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj(name, -1));
    Tcl_ListObjAppendElement(NULL, cmd, request);
    Tcl_Preserve(interp);
    code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL | TCL_EVAL_DIRECT);
    Tcl_DecrRefCount(cmd);
    if (code != TCL_OK && code != TCL_RETURN) {
	Tcl_Channel left;

	DmLogEvent(srv, "-", "error in takeover handler for %.*s: %s",
		(int) saved->req.requestLine.len, saved->req.requestLine.ptr,
		Tcl_GetString(Tcl_GetObjResult(interp)));
	Tcl_BackgroundException(interp, code);
	Tcl_ResetResult(interp);
	left = Tcl_GetChannel(interp, name, NULL);
	if (left != NULL) {
	    Tcl_UnregisterChannel(interp, left);
	}
    }
    Tcl_ResetResult(interp);
    Tcl_Release(interp);
    return -1;
}
