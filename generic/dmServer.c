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

static void	SetErrorPages(DmServer *srv, Tcl_Obj *pages);
static int	LogChanged(int oldKind, Tcl_Obj *oldValue,
		    Tcl_Channel oldChan, int kind, Tcl_Obj *value,
		    Tcl_Channel chan);
static void	ServerTimerProc(void *clientData);
static DmFreeProc FreeServer;

/*
 *----------------------------------------------------------------------
 *
 * TrustedRanges --
 *
 *	Parses -trustedproxies (checked already by DmConfigParse) into the
 *	ranges the connections match against.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Replaces srv->trusted; none if memory ran out.
 *
 *----------------------------------------------------------------------
 */

static void
TrustedRanges(
    DmServer *srv,
    Tcl_Obj *list)
{
    Tcl_Obj **v;
    Tcl_Size n = 0, i, len;
    const char *s;

    free(srv->trusted);
    srv->trusted = NULL;
    srv->numTrusted = 0;
    if (list != NULL) {
	Tcl_ListObjGetElements(NULL, list, &n, &v);
    }
    if (n == 0 || (srv->trusted = malloc((size_t) n * sizeof(DmCidr)))
	    == NULL) {
	return;
    }
    for (i = 0; i < n; i++) {
	s = Tcl_GetStringFromObj(v[i], &len);
	if (DmParseCidr(s, (size_t) len, &srv->trusted[srv->numTrusted])) {
	    srv->numTrusted++;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * FileFields --
 *
 *	The fields every file reply gets from the configuration:
 *	Cache-Control for -maxage (its Expires is made each second, see
 *	DmReplyClock), then the -headers.
 *
 * Results:
 *	Their length; the checks of dmConfig.c keep it within
 *	DM_MAX_FILE_FIELDS + 40.
 *
 * Side effects:
 *	Writes the "Name: value\r\n" lines to buf.
 *
 *----------------------------------------------------------------------
 */

static size_t
FileFields(
    const DmConfig *cfg,
    char *buf)
{
    size_t len = 0;
    Tcl_Obj **v;
    Tcl_Size n = 0, i;

    if (cfg->maxAge >= 0) {
	len += (size_t) sprintf(buf, "Cache-Control: max-age=%d\r\n",
		cfg->maxAge);
    }
    if (cfg->headers != NULL) {
	Tcl_ListObjGetElements(NULL, cfg->headers, &n, &v);
    }
    for (i = 0; i < n; i += 2) {
	len += (size_t) sprintf(buf + len, "%s: %s\r\n", Tcl_GetString(v[i]),
		Tcl_GetString(v[i + 1]));
    }
    return len;
}

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
    DmField *fields = NULL;
    DmLogFormat *format = NULL;
    DmRoot root, *vhosts = NULL;
    DmTlsConfig *tls = NULL;
    int which, numVhosts = 0, newRoot = 0, newVhosts = 0, i;

    root.fd = -1;
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
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	    goto failed;
	}
    }
    if (old->root == NULL || strcmp(Tcl_GetString(old->root),
	    Tcl_GetString(cfg->root)) != 0) {
	if (DmRootOpen(interp, &root, cfg->root, NULL, 0) != TCL_OK) {
	    goto failed;
	}
	newRoot = 1;
    }
    if ((old->vhosts == NULL) != (cfg->vhosts == NULL)
	    || (cfg->vhosts != NULL && strcmp(Tcl_GetString(old->vhosts),
	    Tcl_GetString(cfg->vhosts)) != 0)) {
	Tcl_Obj **v;
	Tcl_Size n = 0;

	newVhosts = 1;
	if (cfg->vhosts != NULL) {
	    Tcl_ListObjGetElements(NULL, cfg->vhosts, &n, &v);
	}
	vhosts = calloc((size_t) (n / 2 + 1), sizeof(DmRoot));
	if (vhosts == NULL) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	    goto failed;
	}
	for (i = 0; i < n; i += 2, numVhosts++) {
	    Tcl_Size len;
	    const char *name = Tcl_GetStringFromObj(v[i], &len);

	    if (DmRootOpen(interp, &vhosts[numVhosts],
		    Tcl_FSGetNormalizedPath(NULL, v[i + 1]), name,
		    (size_t) len) != TCL_OK) {
		goto failed;
	    }
	}
    }

    if (cfg->tlsGiven && cfg->tls != NULL
	    && DmTlsConfigNew(interp, cfg->tls, &tls) != TCL_OK) {
	goto failed;
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

    /*
     * From here on nothing fails.
     */

    if (format != NULL) {
	DmLogFormatFree(srv->logFormat);
	srv->logFormat = format;
    }
    srv->logTimed = DmLogFormatTimed(srv->logFormat)
	    || srv->accessSink.kind == DM_SINK_COMMAND;	/* Its "duration". */
    if (fields != NULL) {
	free(srv->fields);
	srv->fields = fields;
    }
    if (newRoot) {
	DmRootClose(&srv->root);
	srv->root = root;
    } else if (cfg->followSymlinks != old->followSymlinks) {
	DmCacheFlush(srv->root.cache);	/* Paths may name other files. */
    }
    if (newVhosts) {
	for (i = 0; i < srv->numVhosts; i++) {
	    DmRootClose(&srv->vhosts[i]);
	}
	free(srv->vhosts);
	srv->vhosts = vhosts;
	srv->numVhosts = numVhosts;
    } else if (cfg->followSymlinks != old->followSymlinks) {
	for (i = 0; i < srv->numVhosts; i++) {
	    DmCacheFlush(srv->vhosts[i].cache);
	}
    }
    if (cfg->tlsGiven) {
	/*
	 * New connections get the new certificates; those under way keep
	 * theirs.
	 */

	DmTlsConfigFree(srv->tls);
	srv->tls = tls;
	cfg->tlsGiven = 0;
    }
    SetErrorPages(srv, cfg->errorPages);
    if (srv->listen.fd >= 0 && (cfg->deferAccept != old->deferAccept
	    || cfg->sendLowat != old->sendLowat)) {
	DmNetTuneListener(srv->listen.fd, cfg->deferAccept, cfg->sendLowat);
    }
    srv->serverHeaderLen = (size_t) sprintf(srv->serverHeader,
	    "Server: %s\r\n", Tcl_GetString(cfg->serverName));
    srv->fileFieldsLen = FileFields(cfg, srv->fileFields);
    TrustedRanges(srv, cfg->trustedProxies);
    srv->dateSecond = 0;		/* Expires to be made anew. */
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
    DmTlsConfigFree(tls);
    if (newRoot) {
	DmRootClose(&root);
    }
    for (i = 0; i < numVhosts; i++) {
	DmRootClose(&vhosts[i]);
    }
    free(vhosts);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * SetErrorPages --
 *
 *	Fills the table of -errorpages by status from the option's value
 *	(checked by DmConfigParse: statuses 400 to 599, normalised paths).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes references.
 *
 *----------------------------------------------------------------------
 */

static void
SetErrorPages(
    DmServer *srv,
    Tcl_Obj *pages)
{
    Tcl_Obj **v;
    Tcl_Size n = 0, i;
    int k, status;

    for (k = 0; k < 200; k++) {
	if (srv->errorPages[k] != NULL) {
	    Tcl_DecrRefCount(srv->errorPages[k]);
	    srv->errorPages[k] = NULL;
	}
    }
    if (pages != NULL) {
	Tcl_ListObjGetElements(NULL, pages, &n, &v);
    }
    for (i = 0; i + 1 < n; i += 2) {
	if (Tcl_GetIntFromObj(NULL, v[i], &status) == TCL_OK
		&& status >= 400 && status <= 599) {
	    srv->errorPages[status - 400] = v[i + 1];
	    Tcl_IncrRefCount(v[i + 1]);
	}
    }
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
    DmWatchStopSync(&srv->listen);	/* Refuses connections from now. */
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
    if (srv->root.fd >= 0) {
	DmFileClose(srv->root.fd);	/* The rest with the memory. */
	srv->root.fd = -1;
    }
    DmRetire(FreeServer, srv);
}

static void
FreeServer(
    void *ptr)
{
    DmServer *srv = ptr;
    int i;

    DmRootClose(&srv->root);
    for (i = 0; i < srv->numVhosts; i++) {
	DmRootClose(&srv->vhosts[i]);
    }
    free(srv->vhosts);
    SetErrorPages(srv, NULL);
    free(srv->scratch);
    free(srv->fields);
    free(srv->trusted);
    DmTlsConfigFree(srv->tls);
    if (srv->pipeline != NULL) {
	DmPipelineFree(srv->pipeline);
    }
    DmLogFormatFree(srv->logFormat);
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
