/*
 * dmBody.c --
 *
 *	Request bodies for Tcl handlers: framed by Content-Length or chunked,
 *	limited by -maxbody (413, before a byte of it is read when
 *	Content-Length already says so), kept in memory up to -bodyspool
 *	bytes and in a temporary file beyond, which is removed when the
 *	exchange ends.  "Expect: 100-continue" is answered once the body is
 *	known to be wanted and allowed.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * DmBodyBegin --
 *
 *	Starts collecting the body of a request for its handler.  A
 *	Content-Length over -maxbody is answered 413 at once.
 *
 * Results:
 *	1 if collecting; 0 if the request was answered (413) and the rest
 *	of the input is to be dropped; -1 if the connection was destroyed.
 *
 * Side effects:
 *	May send "HTTP/1.1 100 Continue" or 413.
 *
 *----------------------------------------------------------------------
 */

int
DmBodyBegin(
    DmConn *conn,
    DmBody *body,
    const DmRequest *req,
    int haveBytes)		/* Some of the body arrived with the head. */
{
    DmServer *srv = conn->srv;

    body->kind = req->bodyKind;
    body->left = req->contentLength;
    body->spoolFd = -1;
    if (body->kind == DM_BODY_CHUNKED) {
	DmChunkedInit(&body->chunked);
    } else if (body->left > (uint64_t) srv->config.maxBody) {
	DmLogEvent(srv, conn->peer, "request body of %llu bytes refused:"
		" -maxbody is %lld", (unsigned long long) body->left,
		(long long) srv->config.maxBody);
	return DmExchangeAnswer(conn->ex, NULL, 413) < 0 ? -1 : 0;
    }
    if (DmWantsContinue(req) && !haveBytes) {
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	DmBuf b;

	b.ptr = cont;
	b.len = sizeof(cont) - 1;
	/*
	 * Nothing of the connection's waits to be sent, so it fits; if the
	 * socket is full all the same, the connection ends: the reply
	 * would follow a piece of it (and over TLS, a record OpenSSL holds
	 * would go out as the reply's first bytes).
	 */

	if (DmConnWrite(conn, &b, 1, 0) != (long) b.len) {
	    DmConnDestroy(conn);
	    return -1;
	}
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Store --
 *
 *	Appends body bytes: to memory until -bodyspool is passed, then to a
 *	temporary file (what memory held goes there first).
 *
 * Results:
 *	0, or -1 if memory or the file failed (errno set).
 *
 * Side effects:
 *	May create the spool file.
 *
 *----------------------------------------------------------------------
 */

static int
Store(
    DmServer *srv,
    DmBody *body,
    const char *data,
    size_t len)
{
    if (len == 0) {
	return 0;			/* An empty chunk. */
    }
    if (body->spoolFd < 0 && body->memLen + len
	    > (uint64_t) srv->config.bodySpool) {
	body->spoolFd = DmFileTemp(&body->spoolPath);
	if (body->spoolFd < 0 || DmFileWrite(body->spoolFd, body->mem,
		body->memLen) < 0) {
	    return -1;
	}
	body->memLen = 0;
    }
    if (body->spoolFd >= 0) {
	return DmFileWrite(body->spoolFd, data, len);
    }
    if (body->memLen + len > body->memCap) {
	size_t cap = body->memCap ? 2 * body->memCap : 4096;
	char *grown;

	while (cap < body->memLen + len) {
	    cap *= 2;
	}
	grown = realloc(body->mem, cap);
	if (grown == NULL) {
	    return -1;
	}
	body->mem = grown;
	body->memCap = cap;
    }
    memcpy(body->mem + body->memLen, data, len);
    body->memLen += len;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmBodyFeed --
 *
 *	Takes the body's bytes from input.  A malformed chunked body sets
 *	status 400, one that passes -maxbody 413, a store that fails 500;
 *	the caller answers with it.
 *
 * Results:
 *	Bytes of buf consumed (all of them on error).
 *
 * Side effects:
 *	Stores the data; sets body->done at its end, or body->status.
 *
 *----------------------------------------------------------------------
 */

long
DmBodyFeed(
    DmConn *conn,
    DmBody *body,
    const char *buf,
    size_t len)
{
    DmServer *srv = conn->srv;
    size_t used, dataLen;
    char *data;

    if (body->kind == DM_BODY_LENGTH) {
	used = (body->left < len) ? (size_t) body->left : len;
	if (Store(srv, body, buf, used) < 0) {
	    body->status = 500;
	    return (long) len;
	}
	body->left -= used;
	body->len += used;
	body->done = (body->left == 0);
	return (long) used;
    }

    /*
     * Chunk data is never longer than the input it comes in: decoded
     * into a block of that size, then stored.
     */

    data = malloc(len ? len : 1);
    if (data == NULL) {
	body->status = 500;
	return (long) len;
    }
    switch (DmChunkedDecode(&body->chunked, buf, len, &used, data,
	    &dataLen)) {
    case DM_CHUNKED_ERROR:
	body->status = 400;
	used = len;
	break;
    case DM_CHUNKED_DONE:
	body->done = 1;
	/* FALLTHRU */
    default:
	body->len += dataLen;
	if (body->len > (uint64_t) srv->config.maxBody) {
	    body->status = 413;
	    body->done = 0;
	    used = len;
	} else if (Store(srv, body, data, dataLen) < 0) {
	    body->status = 500;
	    body->done = 0;
	    used = len;
	}
	break;
    }
    free(data);
    return (long) used;
}

/*
 *----------------------------------------------------------------------
 *
 * DmBodyFinish --
 *
 *	Puts a whole body into the request dict: "body" (the bytes, or
 *	empty when spooled) and, when spooled, "bodyfile" (the file's path).
 *
 * Results:
 *	TCL_OK.
 *
 * Side effects:
 *	Changes the dict (unshared by the caller).
 *
 *----------------------------------------------------------------------
 */

int
DmBodyFinish(
    DmBody *body,
    Tcl_Obj *request)
{
    Tcl_Obj *bodyKey = Tcl_NewStringObj("body", 4);

    Tcl_IncrRefCount(bodyKey);
    if (body->spoolFd >= 0) {
	Tcl_Obj *fileKey = Tcl_NewStringObj("bodyfile", 8);

	Tcl_IncrRefCount(fileKey);
	Tcl_DictObjPut(NULL, request, fileKey,
		Tcl_NewStringObj(body->spoolPath, -1));
	Tcl_DecrRefCount(fileKey);
	DmFileClose(body->spoolFd);
	body->spoolFd = -2;		/* Closed; the file stays. */
    } else {
	Tcl_DictObjPut(NULL, request, bodyKey, Tcl_NewByteArrayObj(
		(const unsigned char *) body->mem, (Tcl_Size) body->memLen));
    }
    Tcl_DecrRefCount(bodyKey);
    free(body->mem);
    body->mem = NULL;
    body->memLen = body->memCap = 0;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmBodyFree --
 *
 *	Lets go of a body: memory, and the spool file, which is removed.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Removes a file.
 *
 *----------------------------------------------------------------------
 */

void
DmBodyFree(
    DmBody *body)
{
    free(body->mem);
    body->mem = NULL;
    body->memLen = body->memCap = 0;
    if (body->spoolFd >= 0) {
	DmFileClose(body->spoolFd);
    }
    body->spoolFd = -1;
    if (body->spoolPath != NULL) {
	DmFileRemove(body->spoolPath);
	free(body->spoolPath);
	body->spoolPath = NULL;
    }
}
