/*
 * dmServer.c --
 *
 *	A server's life: its configuration taking effect, closing, freeing,
 *	and the timer that expires its connections.  The Tcl commands that
 *	start and drive a server are in dmServerCmd.c.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	LogChanged(int oldKind, Tcl_Obj *oldValue,
		    Tcl_Channel oldChan, int kind, Tcl_Obj *value,
		    Tcl_Channel chan);
static void	ServerTimerProc(void *clientData);
static DmFreeProc FreeServer;

/*
 *----------------------------------------------------------------------
 *
 * DmServerConfigure --
 *
 *	Makes a parsed configuration the server's: takes references to its
 *	objects, drops the old ones, and updates what depends on it.  It
 *	calls no Tcl code: lines for a log channel being replaced were
 *	written before the options were parsed (see dmServerCmd.c).
 *
 * Results:
 *	A standard Tcl result: TCL_ERROR if the new root cannot be opened
 *	or memory runs out, in which case nothing changed.
 *
 * Side effects:
 *	May reopen the root, rebuild the Server field, move deadlines and
 *	point the logs at other channels.
 *
 *----------------------------------------------------------------------
 */

int
DmServerConfigure(
    Tcl_Interp *interp,
    DmServer *srv,
    DmConfig *cfg)
{
    DmConfig *old = &srv->config;
    char *realRoot = NULL;
    DmField *fields = NULL;
    DmLogFormat *format = NULL;
    int rootFd = -1, which;

    if (old->logFormat == NULL || strcmp(Tcl_GetString(old->logFormat),
	    Tcl_GetString(cfg->logFormat)) != 0) {
	format = DmLogFormatCompile(interp, cfg->logFormat);
	if (format == NULL) {
	    return TCL_ERROR;
	}
    }

    if (cfg->limits.maxHeaders != old->limits.maxHeaders) {
	fields = malloc(sizeof(DmField) * (size_t) cfg->limits.maxHeaders);
	if (fields == NULL) {
	    DmLogFormatFree(format);
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	    return TCL_ERROR;
	}
    }

    if (old->root == NULL || strcmp(Tcl_GetString(old->root),
	    Tcl_GetString(cfg->root)) != 0) {
	Tcl_DString ds;

	Tcl_UtfToExternalDString(NULL, Tcl_GetString(cfg->root),
		TCL_INDEX_NONE, &ds);
	rootFd = DmFileOpenRoot(Tcl_DStringValue(&ds), &realRoot);
	Tcl_DStringFree(&ds);
	if (rootFd < 0) {
	    free(fields);
	    DmLogFormatFree(format);
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "cannot serve \"%s\": %s", Tcl_GetString(cfg->root),
		    Tcl_PosixError(interp)));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "ROOT",
		    Tcl_GetString(cfg->root), Tcl_ErrnoId(), NULL);
	    return TCL_ERROR;
	}
    }

    /*
     * Log files are opened last of what can fail; a failure leaves the
     * rest as it was, but for a log already moved to its new target.
     */

    if (LogChanged(srv->accessSink.kind, old->accessLog, srv->accessSink.chan,
	    cfg->accessKind, cfg->accessLog, cfg->accessChan)
	    && DmLogSetTarget(interp, &srv->accessSink, cfg->accessKind,
	    cfg->accessChan, cfg->accessLog) != TCL_OK) {
	goto failed;
    }
    if (LogChanged(srv->errorSink.kind, old->errorLog, srv->errorSink.chan,
	    cfg->errorKind, cfg->errorLog, cfg->errorChan)
	    && DmLogSetTarget(interp, &srv->errorSink, cfg->errorKind,
	    cfg->errorChan, cfg->errorLog) != TCL_OK) {
	goto failed;
    }
    if (format != NULL) {
	DmLogFormatFree(srv->logFormat);
	srv->logFormat = format;
	srv->logTimed = DmLogFormatTimed(format);
    }
    if (fields != NULL) {
	free(srv->fields);
	srv->fields = fields;
    }
    if (rootFd >= 0 || cfg->followSymlinks != old->followSymlinks) {
	DmCacheFlush(srv->cache);	/* Paths may name other files now. */
    }
    if (srv->listen.fd >= 0 && cfg->deferAccept != old->deferAccept) {
	DmNetDeferAccept(srv->listen.fd, cfg->deferAccept);
    }
    if (rootFd >= 0) {
	if (srv->rootFd >= 0) {
	    DmFileClose(srv->rootFd);
	}
	free(srv->realRoot);
	srv->rootFd = rootFd;
	srv->realRoot = realRoot;
    }
    srv->serverHeaderLen = (size_t) sprintf(srv->serverHeader,
	    "Server: %s\r\n", Tcl_GetString(cfg->serverName));
    for (which = 0; which < DM_TIMER_LISTS; which++) {
	if (old->timeouts[which] != 0
		&& old->timeouts[which] != cfg->timeouts[which]) {
	    DmConnRetime(srv, which,
		    cfg->timeouts[which] - old->timeouts[which]);
	}
    }
    DmConfigRetain(cfg, 1);
    DmConfigRetain(old, -1);
    *old = *cfg;
    if (srv->timerAt != 0) {
	DmTimerArm(srv, DmConnNextDeadline(srv));
    }
    return TCL_OK;

  failed:
    free(fields);
    DmLogFormatFree(format);
    free(realRoot);
    if (rootFd >= 0) {
	DmFileClose(rootFd);
    }
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * LogChanged --
 *
 *	Whether a log is to move: to another kind of target, another
 *	channel, or another file or command (compared by value).
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
LogChanged(
    int oldKind,
    Tcl_Obj *oldValue,
    Tcl_Channel oldChan,
    int kind,
    Tcl_Obj *value,
    Tcl_Channel chan)
{
    if (oldKind != kind) {
	return 1;
    }
    if (kind == DM_SINK_CHANNEL) {
	return oldChan != chan;
    }
    return kind != DM_SINK_NONE && strcmp(Tcl_GetString(oldValue),
	    Tcl_GetString(value)) != 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmServerClose --
 *
 *	Stops listening at once; connections finish their replies in flight
 *	and close.  The log stops here, as the interpreter may be going.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes the listening socket; the server is freed with its last
 *	connection.
 *
 *----------------------------------------------------------------------
 */

void
DmServerClose(
    DmServer *srv)
{
    int fd = srv->listen.fd, i;

    if (srv->closing) {
	return;
    }
    DmEnter();
    srv->closing = 1;
    DmWatchStop(&srv->listen);
    DmNetClose(fd);
    DmLogFlush(srv);
    DmLogSinkFree(&srv->accessSink);
    DmLogSinkFree(&srv->errorSink);
    for (i = 0; i < 2; i++) {
	Tcl_Obj **logPtr = i ? &srv->config.errorLog : &srv->config.accessLog;

	if (*logPtr != NULL) {
	    Tcl_DecrRefCount(*logPtr);
	    *logPtr = NULL;
	}
    }
    DmConnServerClosing(srv);
    if (srv->numConns == 0) {
	DmServerRelease(srv);
    }
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * DmServerRelease, FreeServer --
 *
 *	Let go of a closed server once no connection uses it: what it holds
 *	outside memory goes at once, the memory when no frame can point to
 *	it any more (see dmRetire.c).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Cancels the server's timers, closes its root and frees it.
 *
 *----------------------------------------------------------------------
 */

void
DmServerRelease(
    DmServer *srv)
{
    if (srv->released) {
	return;
    }
    srv->released = 1;
    if (srv->timerToken) {
	Tcl_DeleteTimerHandler(srv->timerToken);
	srv->timerToken = NULL;
    }
    if (srv->logTimer) {
	Tcl_DeleteTimerHandler(srv->logTimer);
	srv->logTimer = NULL;
    }
    DmLogSinkFree(&srv->accessSink);
    DmLogSinkFree(&srv->errorSink);
    if (srv->rootFd >= 0) {
	DmFileClose(srv->rootFd);
	srv->rootFd = -1;
    }
    DmRetire(FreeServer, srv);
}

static void
FreeServer(
    void *ptr)
{
    DmServer *srv = ptr;

    free(srv->realRoot);
    free(srv->scratch);
    free(srv->fields);
    if (srv->pipeline != NULL) {
	DmPipelineFree(srv->pipeline);
    }
    Tcl_DeleteHashTable(&srv->exchanges);
    DmLogFormatFree(srv->logFormat);
    if (srv->cache != NULL) {
	DmCacheDelete(srv->cache);
    }
    DmConfigRetain(&srv->config, -1);
    free(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTimerArm, ServerTimerProc --
 *
 *	One Tcl timer per server fires at the earliest connection deadline
 *	(or to retry accepting after running out of descriptors).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Expires connections; re-arms itself.
 *
 *----------------------------------------------------------------------
 */

void
DmTimerArm(
    DmServer *srv,
    int64_t deadline)
{
    int64_t wait;

    if (srv->timerToken) {
	Tcl_DeleteTimerHandler(srv->timerToken);
	srv->timerToken = NULL;
    }
    srv->timerAt = 0;
    if (deadline == 0 || srv->released) {
	return;
    }
    wait = deadline - DmNowMs();
    srv->timerAt = deadline;
    srv->timerToken = Tcl_CreateTimerHandler(wait < 0 ? 0 : (int) wait,
	    ServerTimerProc, srv);
}

static void
ServerTimerProc(
    void *clientData)
{
    DmServer *srv = clientData;
    int64_t next;

    srv->timerToken = NULL;
    srv->timerAt = 0;
    DmEnter();
    DmConnExpire(srv, DmNowMs());
    if (srv->acceptPaused && !srv->closing) {
	srv->acceptPaused = 0;
	DmWatchSet(&srv->listen, DM_READABLE);
    }
    next = DmConnNextDeadline(srv);
    if (next != 0 && (srv->timerAt == 0 || next < srv->timerAt)) {
	DmTimerArm(srv, next);
    }
    DmLogFlushDue(srv);
    DmLeave();
}
