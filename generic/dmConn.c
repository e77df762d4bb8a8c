/*
 * dmConn.c --
 *
 *	The life of one connection: accept, read request heads, map them to
 *	files, send the replies (small files in one write with their head,
 *	large ones by sendfile), keep-alive and pipelining, timeouts, and a
 *	lingering close after an error so the peer reads our answer instead
 *	of a reset.
 *
 *	An idle connection holds no buffer: input and reply bytes are
 *	assembled in the server's scratch buffer and only what a socket could
 *	not take, or the start of a request still arriving, is copied aside.
 *	Nothing here calls Tcl code, so nothing else can use the scratch
 *	buffer while a connection does; log lines are written to their
 *	channels after the event (DmLogFlushDue).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPT_BATCH	64	/* Connections accepted per event. */
#define SENDFILE_CHUNK	(1 << 30)
#define PATH_MAX_BYTES	4096	/* Longest normalised path served. */

enum {
    CONN_READ,			/* Reading request heads and bodies. */
    CONN_SEND,			/* A reply waits for the socket. */
    CONN_LINGER			/* Reply sent, write side shut: draining
				 * input until the peer closes. */
};

struct DmConn {
    DmWatch watch;		/* Holds the socket. */
    DmServer *srv;
    DmConn *prev, *next;	/* In srv->conns. */
    DmConn *tprev, *tnext;	/* In srv->timers[timer]. */
    int timer;			/* DM_TIMER_*, or DM_TIMER_NONE. */
    int64_t deadline;		/* When the timer expires (ms). */
    int state;			/* CONN_*. */
    int keepAlive;		/* Stay open after the current reply. */
    int answered;		/* A request was answered: waiting is idle. */
    int linger;			/* Drain input before closing: the reply
				 * was an error and input may be left. */
    char *in;			/* Input not yet processed (malloc'ed), */
    size_t inLen, inCap;	/* NULL when there is none. */
    size_t inParsed;		/* Length of the unfinished head in `in'
				 * when it was last parsed, 0 if none, */
    size_t inCheckAt;		/* and the length at which a limit would
				 * be passed (DmRequest.checkAt). */
    uint64_t inputSeq;		/* srv->inputSeq of the last read. */
    char *out;			/* Reply bytes the socket did not take */
    size_t outLen, outPos;	/* yet (malloc'ed). */
    int fileFd;			/* File still to send after out, or -1, */
    char *filePath;		/* and its path, for the error log. */
    uint64_t fileOff, fileEnd;
    int bodyKind;		/* DM_BODY_* of a request body being */
    uint64_t bodyLeft;		/* skipped, and its progress. */
    DmChunked chunked;
    char peer[DM_ADDR_LEN];	/* The client's address, for the log. */
};

static void	ConnEvent(void *clientData, int events);
static int	ConnInput(DmConn *conn, int doRead);
static void	ConnDestroy(DmConn *conn);
static void	ConnLinger(DmConn *conn);
static int	ConnSend(DmConn *conn);
static int	HandleRequest(DmConn *conn, const DmRequest *req);
static int	ReplyError(DmConn *conn, int status, int headOnly,
		    const DmRequest *req, const char *extraName,
		    const char *extraValue, size_t extraValueLen);

/*
 *----------------------------------------------------------------------
 *
 * TimerUnlink, TimerSet --
 *
 *	Take a connection off its timer list, or (re)start one of its
 *	timers.  Lists are ordered by deadline because every member of one
 *	list got the same duration, so appending is enough.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May arm the server's Tcl timer earlier.
 *
 *----------------------------------------------------------------------
 */

static void
TimerUnlink(
    DmConn *conn)
{
    DmTimerList *list;

    if (conn->timer == DM_TIMER_NONE) {
	return;
    }
    list = &conn->srv->timers[conn->timer];
    if (conn->tprev) {
	conn->tprev->tnext = conn->tnext;
    } else {
	list->head = conn->tnext;
    }
    if (conn->tnext) {
	conn->tnext->tprev = conn->tprev;
    } else {
	list->tail = conn->tprev;
    }
    conn->tprev = conn->tnext = NULL;
    conn->timer = DM_TIMER_NONE;
}

static void
TimerSet(
    DmConn *conn,
    int which)
{
    DmServer *srv = conn->srv;
    DmTimerList *list = &srv->timers[which];

    TimerUnlink(conn);
    conn->timer = which;
    conn->deadline = DmNowMs() + srv->config.timeouts[which];
    conn->tprev = list->tail;
    conn->tnext = NULL;
    if (list->tail) {
	list->tail->tnext = conn;
    } else {
	list->head = conn;
    }
    list->tail = conn;
    if (srv->timerAt == 0 || conn->deadline < srv->timerAt) {
	DmTimerArm(srv, conn->deadline);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnAccept --
 *
 *	The listening socket is readable: accepts a batch of connections.
 *	Past -maxconnections a connection still gets a 503 and a clean
 *	close.  Out of descriptors, the listener is set aside until a
 *	connection closes or a short timer fires, so the loop neither spins
 *	nor dies.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Creates connections.
 *
 *----------------------------------------------------------------------
 */

void
DmConnAccept(
    void *clientData,
    TCL_UNUSED(int) /*events*/)
{
    DmServer *srv = clientData;
    int i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
	char peer[DM_ADDR_LEN];
	int fd = DmNetAccept(srv->listen.fd, peer);
	DmConn *conn;

	if (fd < 0) {
	    if (DmErrnoIsFdLimit()) {
		DmLogEvent(srv, "-", "cannot accept: %s; retrying in 250 ms",
			Tcl_ErrnoMsg(Tcl_GetErrno()));
		DmWatchSet(&srv->listen, 0);
		srv->acceptPaused = 1;
		DmTimerArm(srv, DmNowMs() + 250);
		break;
	    }
	    if (DmErrnoIsAgain()) {
		break;
	    }
	    continue;			/* ECONNABORTED and friends. */
	}
	conn = calloc(1, sizeof(DmConn));
	if (conn == NULL) {
	    DmNetClose(fd);
	    continue;
	}
	DmWatchInit(&conn->watch, fd, ConnEvent, conn);
	conn->srv = srv;
	conn->timer = DM_TIMER_NONE;
	conn->fileFd = -1;
	conn->keepAlive = 1;
	memcpy(conn->peer, peer, sizeof(peer));
	conn->next = srv->conns;
	if (srv->conns) {
	    srv->conns->prev = conn;
	}
	srv->conns = conn;
	srv->numConns++;
	srv->accepted++;
	if (srv->numConns > srv->config.maxConnections) {
	    ReplyError(conn, 503, 0, NULL, NULL, NULL, 0);
	    continue;
	}
	TimerSet(conn, DM_TIMER_HEAD);

	/*
	 * The request often arrives with the connection: reading now saves
	 * a trip through the event set, and a connection answered and
	 * closed at once never enters it.
	 */

	ConnInput(conn, 1);
    }
    DmLogFlushDue(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * ConnDestroy --
 *
 *	Closes a connection and frees what it holds.  The last connection of
 *	a closed server takes the server with it.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes descriptors; may resume accepting.
 *
 *----------------------------------------------------------------------
 */

static void
ConnDestroy(
    DmConn *conn)
{
    DmServer *srv = conn->srv;
    int fd = conn->watch.fd;

    DmWatchStop(&conn->watch);
    DmNetClose(fd);
    if (conn->fileFd >= 0) {
	DmFileClose(conn->fileFd);
    }
    free(conn->filePath);
    free(conn->in);
    free(conn->out);
    TimerUnlink(conn);
    if (conn->prev) {
	conn->prev->next = conn->next;
    } else {
	srv->conns = conn->next;
    }
    if (conn->next) {
	conn->next->prev = conn->prev;
    }
    srv->numConns--;
    DmRetire(NULL, conn);
    if (srv->acceptPaused && !srv->closing) {
	srv->acceptPaused = 0;
	DmWatchSet(&srv->listen, DM_READABLE);
    }
    if (srv->closing && srv->numConns == 0) {
	DmServerRelease(srv);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ConnEvent --
 *
 *	The socket is ready: send what waits, or read.  Then, with nothing
 *	of this connection left in the scratch buffer, is the time to write
 *	a full log buffer to its channel.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Anything a request causes.
 *
 *----------------------------------------------------------------------
 */

static void
ConnEvent(
    void *clientData,
    int events)
{
    DmConn *conn = clientData;
    DmServer *srv = conn->srv;	/* Still in memory after the connection
				 * ends: the caller is inside DmEnter. */

    if (conn->state != CONN_SEND) {
	ConnInput(conn, 1);
    } else if ((events & DM_WRITABLE) && ConnSend(conn) == 0
	    && conn->state == CONN_READ && conn->in != NULL) {
	ConnInput(conn, 0);		/* Pipelined requests wait there. */
    }
    DmLogFlushDue(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * SkipBody --
 *
 *	Consumes request-body bytes, which a file server reads and throws
 *	away so the next request on the connection parses.
 *
 * Results:
 *	Bytes consumed, or -1 if a chunked body is malformed.
 *
 * Side effects:
 *	Updates the body state; clears it when the body ends.
 *
 *----------------------------------------------------------------------
 */

static long
SkipBody(
    DmConn *conn,
    const char *buf,
    size_t len)
{
    size_t used;

    if (conn->bodyKind == DM_BODY_LENGTH) {
	used = (conn->bodyLeft < len) ? (size_t) conn->bodyLeft : len;
	conn->bodyLeft -= used;
	if (conn->bodyLeft == 0) {
	    conn->bodyKind = DM_BODY_NONE;
	}
	return (long) used;
    }
    switch (DmChunkedDecode(&conn->chunked, buf, len, &used, NULL, NULL)) {
    case DM_CHUNKED_DONE:
	conn->bodyKind = DM_BODY_NONE;
	return (long) used;
    case DM_CHUNKED_MORE:
	return (long) len;
    default:
	return -1;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * FirstLine --
 *
 *	For a request the parser refused: a stand-in with just its first
 *	line (if it ended), so the log can say what was asked.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *req; it asks for the connection to close.
 *
 *----------------------------------------------------------------------
 */

static void
FirstLine(
    const char *buf,
    size_t len,
    DmRequest *req)
{
    const char *end = buf + len, *lf;

    memset(req, 0, sizeof(*req));
    while (buf < end && (*buf == '\r' || *buf == '\n')) {
	buf++;
    }
    lf = memchr(buf, '\n', (size_t) (end - buf));
    if (lf != NULL) {
	req->requestLine.ptr = buf;
	req->requestLine.len = (size_t) (lf - buf);
	if (lf > buf && lf[-1] == '\r') {
	    req->requestLine.len--;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * WorthParsing --
 *
 *	Whether the unfinished head at the start of buf[0..len), parsed
 *	before when it was conn->inParsed bytes long, should be parsed
 *	again.  A head that trickles in would otherwise be parsed whole
 *	after every read: quadratic work, which under raised limits a
 *	client could make large.  It is parsed again once it may have
 *	ended, once it reaches a limit (so 414 and 431 come at once), and
 *	once it has doubled (so a malformed line is still found early).
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
WorthParsing(
    const DmConn *conn,
    const char *buf,
    size_t len)
{
    const DmLimits *limits = &conn->srv->config.limits;
    size_t parsed = conn->inParsed;

    /*
     * checkAt was found under the limits of the time; limits lowered
     * since are passed once the head is longer than both together.
     */

    return parsed == 0 || len >= conn->inCheckAt || len >= 2 * parsed
	    || len > limits->maxRequestLine + limits->maxHeadSize
	    || DmHeadMayEnd(buf, parsed, len);
}

/*
 *----------------------------------------------------------------------
 *
 * ProcessInput --
 *
 *	Answers the complete requests at the start of buf[0..len), in
 *	order, until one reply has to wait for the socket or a head is
 *	unfinished, and skips the bodies that follow them.
 *
 * Results:
 *	The number of bytes consumed (the rest is to be kept for later), or
 *	-1 if the connection was destroyed.
 *
 * Side effects:
 *	Sends replies; may put the connection into a lingering close.
 *
 *----------------------------------------------------------------------
 */

static long
ProcessInput(
    DmConn *conn,
    const char *buf,
    size_t len)
{
    DmServer *srv = conn->srv;
    size_t pos = 0;

    while (pos < len) {
	DmRequest req;
	long r;

	if (conn->state != CONN_READ) {
	    break;			/* The rest waits for the reply. */
	}
	if (conn->bodyKind != DM_BODY_NONE) {
	    r = SkipBody(conn, buf + pos, len - pos);
	    if (r < 0) {
		/*
		 * The reply to this body's request has gone out already: a
		 * 400 now would be read as the answer to whatever the
		 * client sent next (or, behind a proxy, another client).
		 * Nothing more is said on this connection.
		 */

		DmLogEvent(srv, conn->peer, "malformed chunked request body;"
			" connection closed");
		conn->bodyKind = DM_BODY_NONE;
		ConnLinger(conn);
		return (long) len;
	    }
	    pos += (size_t) r;
	    continue;
	}
	if (pos == 0 && !WorthParsing(conn, buf, len)) {
	    break;
	}
	r = DmParseRequest(buf + pos, len - pos, &srv->config.limits, &req,
		srv->fields);
	if (r == DM_PARSE_MORE) {
	    conn->inParsed = len - pos;
	    conn->inCheckAt = req.checkAt;
	    break;
	}
	conn->inParsed = 0;
	if (r < 0) {
	    FirstLine(buf + pos, len - pos, &req);
	    if (ReplyError(conn, (int) -r, 0, &req, NULL, NULL, 0) < 0) {
		return -1;
	    }
	    return (long) len;		/* The rest is never parsed. */
	}
	pos += (size_t) r;
	srv->requests++;
	conn->bodyKind = req.bodyKind;
	conn->bodyLeft = req.contentLength;
	if (req.bodyKind == DM_BODY_LENGTH && req.contentLength == 0) {
	    conn->bodyKind = DM_BODY_NONE;
	} else if (req.bodyKind == DM_BODY_CHUNKED) {
	    DmChunkedInit(&conn->chunked);
	}
	if (HandleRequest(conn, &req) < 0) {
	    return -1;
	}
    }
    return (long) pos;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnInput --
 *
 *	Processes input: what was kept from before, then (with doRead) what
 *	the socket has.  Kept input is put in front of the read in the
 *	scratch buffer when it leaves room there; a longer head (limits can
 *	be raised far beyond the scratch buffer) is read into and parsed in
 *	the connection's own buffer, which grows with it.  Either way, the
 *	kept bytes never depend on the size of a shared buffer, so limits
 *	changed meanwhile apply to what comes next.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Reads the socket, sends replies, sets timers.
 *
 *----------------------------------------------------------------------
 */

static int
ConnInput(
    DmConn *conn,
    int doRead)
{
    DmServer *srv = conn->srv;
    char *buf = srv->scratch, *own = NULL;
    size_t len = 0, room = DM_READ_ROOM, rest;
    long used;

    if (conn->in != NULL) {
	if (conn->inLen <= DM_READ_ROOM / 2) {
	    memcpy(buf, conn->in, conn->inLen);
	    free(conn->in);
	} else {
	    buf = own = conn->in;
	    room = conn->inCap;
	}
	len = conn->inLen;
	conn->in = NULL;
	conn->inLen = conn->inCap = 0;
    }
    if (doRead) {
	long n;

	if (own != NULL && room - len < DM_READ_ROOM / 2) {
	    char *grown = realloc(own, 2 * len);

	    if (grown == NULL) {
		free(own);
		ConnDestroy(conn);
		return -1;
	    }
	    buf = own = grown;
	    room = 2 * len;
	}
	n = DmNetRecv(conn->watch.fd, buf + len, room - len);
	if (n == 0 || (n < 0 && !DmErrnoIsAgain())) {
	    free(own);
	    ConnDestroy(conn);		/* The peer left (or reset). */
	    return -1;
	}
	if (n > 0) {
	    len += (size_t) n;
	    conn->inputSeq = ++srv->inputSeq;
	}
    }
    if (conn->state == CONN_LINGER) {
	free(own);
	return 0;			/* Drained and dropped. */
    }

    used = ProcessInput(conn, buf, len);
    if (used < 0) {
	free(own);
	return -1;
    }
    rest = len - (size_t) used;
    if (rest > 0 && conn->state != CONN_LINGER) {
	if (own != NULL && rest > DM_READ_ROOM / 2) {
	    memmove(own, own + used, rest);
	    conn->in = own;
	    conn->inCap = room;
	    own = NULL;
	} else if ((conn->in = malloc(rest)) != NULL) {
	    memcpy(conn->in, buf + used, rest);
	    conn->inCap = rest;
	} else {
	    free(own);
	    ConnDestroy(conn);
	    return -1;
	}
	conn->inLen = rest;
    }
    free(own);
    if (conn->state == CONN_READ) {
	if (conn->bodyKind != DM_BODY_NONE || conn->in != NULL) {
	    /*
	     * A head (or a body to skip) has started: it must all arrive
	     * within -headtimeout, however it trickles.
	     */

	    if (conn->timer != DM_TIMER_HEAD) {
		TimerSet(conn, DM_TIMER_HEAD);
	    }
	} else if (conn->answered && conn->timer != DM_TIMER_IDLE) {
	    TimerSet(conn, DM_TIMER_IDLE);
	}
	DmWatchSet(&conn->watch, DM_READABLE);
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnectionHeader --
 *
 *	Decides whether the connection stays open after this reply and
 *	what the Connection field says about it.
 *
 * Results:
 *	DM_CONN_HDR_*.
 *
 * Side effects:
 *	Sets conn->keepAlive.
 *
 *----------------------------------------------------------------------
 */

static int
ConnectionHeader(
    DmConn *conn,
    const DmRequest *req,
    int mustClose)
{
    conn->keepAlive = !mustClose && req != NULL && req->keepAlive
	    && !conn->srv->closing;
    if (!conn->keepAlive) {
	return DM_CONN_HDR_CLOSE;
    }
    return (req->versionMinor == 0) ? DM_CONN_HDR_KEEPALIVE
	    : DM_CONN_HDR_NONE;
}

/*
 *----------------------------------------------------------------------
 *
 * MoreFollows --
 *
 *	Whether the bytes about to be sent should wait for what follows
 *	them: the file after a head, or the FIN after a last reply, which
 *	the kernel then puts in the same packet (one packet and one wake-up
 *	less for the client of every closed connection).
 *
 * Results:
 *	1 or 0, for DmNetSend's `more'.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static inline int
MoreFollows(
    const DmConn *conn)
{
    return conn->fileFd >= 0 || !conn->keepAlive;
}

/*
 *----------------------------------------------------------------------
 *
 * QueueReply --
 *
 *	Sends head and body (both in the caller's buffers) in one write, then
 *	the file, if any, by ConnSend.  What the socket does not take now is
 *	copied to the connection.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Writes to the socket; the connection owns fileFd from now on.
 *
 *----------------------------------------------------------------------
 */

static int
QueueReply(
    DmConn *conn,
    const char *head,
    size_t headLen,
    const char *body,
    size_t bodyLen,
    int fileFd,
    uint64_t fileLen)
{
    DmBuf bufs[2];
    long n;
    size_t total = headLen + bodyLen;

    bufs[0].ptr = head;
    bufs[0].len = headLen;
    bufs[1].ptr = body;
    bufs[1].len = bodyLen;
    conn->fileFd = fileFd;
    conn->fileOff = 0;
    conn->fileEnd = fileLen;
    n = DmNetSend(conn->watch.fd, bufs, 2, MoreFollows(conn));
    if (n < 0) {
	if (!DmErrnoIsAgain()) {
	    ConnDestroy(conn);
	    return -1;
	}
	n = 0;
    }
    if ((size_t) n < total) {
	size_t rest = total - (size_t) n;

	conn->out = malloc(rest);
	if (conn->out == NULL) {
	    ConnDestroy(conn);
	    return -1;
	}
	if ((size_t) n < headLen) {
	    memcpy(conn->out, head + n, headLen - (size_t) n);
	    memcpy(conn->out + headLen - (size_t) n, body, bodyLen);
	} else {
	    memcpy(conn->out, body + ((size_t) n - headLen), rest);
	}
	conn->outLen = rest;
	conn->outPos = 0;
    }
    return ConnSend(conn) < 0 ? -1 : 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyDone --
 *
 *	The whole reply left: wait for the next request, or close.  A close
 *	after an error lingers: the write side is shut and input drained for
 *	a moment, since closing with unread input makes the kernel send a
 *	reset that can destroy our reply before the peer reads it.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Changes state, watch and timer.
 *
 *----------------------------------------------------------------------
 */

static int
ReplyDone(
    DmConn *conn)
{
    conn->answered = 1;
    if (conn->keepAlive) {
	conn->state = CONN_READ;
	DmWatchSet(&conn->watch, DM_READABLE);
	TimerSet(conn, DM_TIMER_IDLE);
	return 0;
    }
    if (!conn->linger && conn->in == NULL && conn->bodyKind == DM_BODY_NONE) {
	ConnDestroy(conn);		/* Nothing unread: a plain close. */
	return -1;
    }
    ConnLinger(conn);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnLinger --
 *
 *	Ends a connection whose replies are all sent but whose peer may
 *	still be sending: the write side is shut at once, and what arrives
 *	is read and dropped until the peer closes or the linger timer runs
 *	out.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes state, watch and timer; drops kept input.
 *
 *----------------------------------------------------------------------
 */

static void
ConnLinger(
    DmConn *conn)
{
    free(conn->in);
    conn->in = NULL;
    conn->inLen = conn->inCap = 0;
    conn->state = CONN_LINGER;
    DmNetShutdownWrite(conn->watch.fd);
    DmWatchSet(&conn->watch, DM_READABLE);
    TimerSet(conn, DM_TIMER_LINGER);
}

/*
 *----------------------------------------------------------------------
 *
 * ConnSend --
 *
 *	Sends what is pending: reply bytes, then file bytes.  A file that
 *	ends before the length we promised ends the connection, since the
 *	peer can no longer find where the reply stops.
 *
 * Results:
 *	0 if the reply is complete, 1 if it waits for the socket, -1 if the
 *	connection was destroyed.
 *
 * Side effects:
 *	Writes to the socket; changes state, watch and timer.
 *
 *----------------------------------------------------------------------
 */

static int
ConnSend(
    DmConn *conn)
{
    int progress = 0;

    while (conn->out != NULL) {
	DmBuf b;
	long n;

	b.ptr = conn->out + conn->outPos;
	b.len = conn->outLen - conn->outPos;
	n = DmNetSend(conn->watch.fd, &b, 1, MoreFollows(conn));
	if (n < 0) {
	    if (DmErrnoIsAgain()) {
		goto wait;
	    }
	    ConnDestroy(conn);
	    return -1;
	}
	progress = 1;
	conn->outPos += (size_t) n;
	if (conn->outPos == conn->outLen) {
	    free(conn->out);
	    conn->out = NULL;
	}
    }
    while (conn->fileFd >= 0 && conn->fileOff < conn->fileEnd) {
	uint64_t left = conn->fileEnd - conn->fileOff;
	long n = DmNetSendFile(conn->watch.fd, conn->fileFd, &conn->fileOff,
		left < SENDFILE_CHUNK ? (size_t) left : SENDFILE_CHUNK);

	if (n < 0 && DmErrnoIsAgain()) {
	    goto wait;
	}
	if (n == 0) {
	    DmLogEvent(conn->srv, conn->peer, "%s shrank while being sent:"
		    " %llu of %llu bytes sent; connection closed",
		    conn->filePath ? conn->filePath : "a file",
		    (unsigned long long) conn->fileOff,
		    (unsigned long long) conn->fileEnd);
	}
	if (n <= 0) {
	    ConnDestroy(conn);		/* Error, or the file shrank. */
	    return -1;
	}
	progress = 1;
    }
    if (conn->fileFd >= 0) {
	DmFileClose(conn->fileFd);
	conn->fileFd = -1;
	free(conn->filePath);
	conn->filePath = NULL;
    }
    return ReplyDone(conn) < 0 ? -1 : 0;

  wait:
    if (conn->state != CONN_SEND) {
	conn->state = CONN_SEND;
	DmWatchSet(&conn->watch, DM_WRITABLE);
	TimerSet(conn, DM_TIMER_SEND);
    } else if (progress) {
	TimerSet(conn, DM_TIMER_SEND);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyError --
 *
 *	Answers with an error status and its short HTML page.  Statuses that
 *	leave the request framing in doubt close the connection.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply; logs it.
 *
 *----------------------------------------------------------------------
 */

static int
ReplyError(
    DmConn *conn,
    int status,
    int headOnly,
    const DmRequest *req,
    const char *extraName,
    const char *extraValue,
    size_t extraValueLen)
{
    DmServer *srv = conn->srv;
    char *head = srv->scratch + DM_READ_ROOM, *body = head + DM_HEAD_ROOM;
    char *ownHead = NULL;
    size_t headLen, bodyLen, need;
    int mustClose, r;
    DmReply reply;

    /*
     * Closed after: a head that was not parsed (no request, or a stand-in
     * with only its first line), and the statuses after which framing or
     * the server's state is in doubt.  A 501 for an unknown method
     * leaves the connection open: its framing was understood.
     */

    mustClose = (req == NULL || req->methodName.ptr == NULL
	    || status == 400 || status == 408 || status == 414
	    || status == 431 || status == 500 || status == 503
	    || status == 505);

    /*
     * A Location can be longer than the scratch buffer's head part.
     */

    need = DM_REPLY_HEAD_MAX + srv->serverHeaderLen + sizeof(DM_HTML_TYPE)
	    + extraValueLen;
    if (need > DM_HEAD_ROOM) {
	head = ownHead = malloc(need);
	if (head == NULL) {
	    ConnDestroy(conn);
	    return -1;
	}
    }
    bodyLen = DmReplyErrorBody(status, body, DM_SMALL_FILE);
    memset(&reply, 0, sizeof(reply));
    reply.status = status;
    reply.contentLength = bodyLen;
    reply.lastModified = -1;
    reply.contentType = DM_HTML_TYPE;
    reply.contentTypeLen = sizeof(DM_HTML_TYPE) - 1;
    reply.connection = ConnectionHeader(conn, req, mustClose);
    reply.extraName = extraName;
    reply.extraValue = extraValue;
    reply.extraValueLen = extraValueLen;
    headLen = DmReplyHead(srv, &reply, head, need);
    DmLogRequest(srv, conn->peer, req, status, headOnly ? 0 : bodyLen);
    if (mustClose) {
	conn->bodyKind = DM_BODY_NONE;	/* Nothing more will be parsed. */
	conn->linger = 1;
    }
    r = QueueReply(conn, head, headLen, body, headOnly ? 0 : bodyLen, -1, 0);
    free(ownHead);
    return r;
}

/*
 *----------------------------------------------------------------------
 *
 * Redirect --
 *
 *	Answers "/dir" with 301 to "/dir/", keeping the query.  The
 *	Location is made from the normalised path, percent-encoded, never
 *	from the target as sent: it always starts with a single '/', so it
 *	can only name a path on this server (a target such as
 *	"//evil.example/..%2fdir" would otherwise become a link to another
 *	host).
 *
 * Results:
 *	As ReplyError.
 *
 * Side effects:
 *	As ReplyError.
 *
 *----------------------------------------------------------------------
 */

static int
Redirect(
    DmConn *conn,
    const DmRequest *req,
    const char *path,		/* The normalised path. */
    size_t pathLen)
{
    const char *t = req->target.ptr, *end = t + req->target.len;
    const char *q = memchr(t, '?', req->target.len);
    const char *hash = memchr(t, '#', req->target.len);
    size_t qLen = 0, len;
    char *loc;
    int r;

    if (q != NULL && (hash == NULL || q < hash)) {
	qLen = (size_t) ((hash != NULL ? hash : end) - q);
    }
    loc = malloc(3 * pathLen + 1 + qLen);
    if (loc == NULL) {
	ConnDestroy(conn);
	return -1;
    }
    len = DmEncodePath(path, pathLen, loc);
    loc[len++] = '/';
    if (qLen > 0) {
	memcpy(loc + len, q, qLen);
	len += qLen;
    }
    r = ReplyError(conn, 301, req->method == DM_METHOD_HEAD, req,
	    "Location", loc, len);
    free(loc);
    return r;
}

/*
 *----------------------------------------------------------------------
 *
 * OpenTarget --
 *
 *	Opens the regular file a normalised path names: the path itself, or
 *	for "/dir/" the first of the -default names that exists there.
 *
 * Results:
 *	A descriptor with *infoPtr filled, or -1 with *statusPtr set: 301
 *	for a directory named without its final slash, else the error.
 *
 * Side effects:
 *	Appends the index name to path and *pathLenPtr when one is used.
 *
 *----------------------------------------------------------------------
 */

static int
OpenTarget(
    DmServer *srv,
    char *path,			/* PATH_MAX_BYTES long. */
    size_t *pathLenPtr,
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    size_t pathLen = *pathLenPtr;
    Tcl_Size i, n;
    Tcl_Obj **names;
    int fd = DmFileOpenBeneath(srv->rootFd, srv->realRoot, path,
	    srv->config.followSymlinks, infoPtr, statusPtr);

    if (fd < 0 || infoPtr->kind == DM_FILE_REGULAR) {
	return fd;
    }
    DmFileClose(fd);
    if (infoPtr->kind != DM_FILE_DIRECTORY) {
	*statusPtr = 403;		/* A FIFO, a device... */
	return -1;
    }
    if (path[pathLen - 1] != '/') {
	*statusPtr = 301;
	return -1;
    }
    *statusPtr = 404;
    Tcl_ListObjGetElements(NULL, srv->config.defaults, &n, &names);
    for (i = 0; i < n; i++) {
	Tcl_Size nameLen;
	const char *name = Tcl_GetStringFromObj(names[i], &nameLen);

	if ((size_t) nameLen >= PATH_MAX_BYTES - pathLen) {
	    continue;
	}
	memcpy(path + pathLen, name, (size_t) nameLen + 1);
	fd = DmFileOpenBeneath(srv->rootFd, srv->realRoot, path,
		srv->config.followSymlinks, infoPtr, statusPtr);
	if (fd >= 0 && infoPtr->kind == DM_FILE_REGULAR) {
	    *pathLenPtr = pathLen + (size_t) nameLen;
	    return fd;
	}
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	*statusPtr = 404;
    }
    path[pathLen] = '\0';
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyFile --
 *
 *	Sends a 200 reply for a file: its bytes in memory (data), or an open
 *	descriptor to send from, or neither for HEAD.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply and logs it; takes fd over.
 *
 *----------------------------------------------------------------------
 */

static int
ReplyFile(
    DmConn *conn,
    const DmRequest *req,
    const char *path,
    size_t pathLen,
    const DmFileInfo *infoPtr,
    int fd,
    const char *data,
    const char *lastModifiedText)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD);
    char *head = srv->scratch + DM_READ_ROOM;
    DmReply reply;
    size_t headLen;

    memset(&reply, 0, sizeof(reply));
    reply.status = 200;
    reply.contentLength = infoPtr->size;
    reply.lastModified = infoPtr->mtime;
    reply.lastModifiedText = lastModifiedText;
    reply.contentType = DmMimeHeader(path, pathLen, &reply.contentTypeLen);
    reply.connection = ConnectionHeader(conn, req, 0);
    headLen = DmReplyHead(srv, &reply, head, DM_HEAD_ROOM);
    DmLogRequest(srv, conn->peer, req, 200, headOnly ? 0 : infoPtr->size);
    if (headOnly) {
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	return QueueReply(conn, head, headLen, NULL, 0, -1, 0);
    }
    if (data != NULL) {
	return QueueReply(conn, head, headLen, data, (size_t) infoPtr->size,
		-1, 0);
    }
    conn->filePath = strdup(path);
    return QueueReply(conn, head, headLen, NULL, 0, fd, infoPtr->size);
}

/*
 *----------------------------------------------------------------------
 *
 * HandleRequest --
 *
 *	Answers one parsed request: maps its target to a file below the root
 *	and sends it, from the cache when it holds the current version, or
 *	answers with the right status.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Opens files, fills the cache, sends the reply.
 *
 *----------------------------------------------------------------------
 */

static int
HandleRequest(
    DmConn *conn,
    const DmRequest *req)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD);
    char path[PATH_MAX_BYTES];
    size_t pathLen;
    int status, fd;
    DmFileInfo info;
    const DmCacheEntry *entry;
    const char *data;

    if (req->method != DM_METHOD_GET && !headOnly) {
	return (req->method == DM_METHOD_OTHER)
		? ReplyError(conn, 501, 0, req, NULL, NULL, 0)
		: ReplyError(conn, 405, 0, req, "Allow", "GET, HEAD", 9);
    }
    status = DmNormalizePath(req->target.ptr, req->target.len, path,
	    sizeof(path) - 256, &pathLen);	/* Room for an index name. */
    if (status != 0) {
	return ReplyError(conn, status, headOnly, req, NULL, NULL, 0);
    }
    if (path[pathLen - 1] != '/' && (entry = DmCacheGet(srv->cache,
	    srv->rootFd, path, conn->inputSeq, &data, &info)) != NULL) {
	return ReplyFile(conn, req, path, pathLen, &info, -1, data,
		DmCacheLastModified(entry));
    }
    fd = OpenTarget(srv, path, &pathLen, &info, &status);
    if (fd < 0) {
	return (status == 301) ? Redirect(conn, req, path, pathLen)
		: ReplyError(conn, status, headOnly, req, NULL, NULL, 0);
    }

    /*
     * A small file is read whole (watched for changes first), kept in
     * the cache if it was read whole, and sent with its head in one
     * write; the head tells the length actually read even if the file
     * changed since fstat.
     */

    if (!headOnly && info.size <= DM_SMALL_FILE) {
	char *body = srv->scratch + DM_READ_ROOM + DM_HEAD_ROOM;
	DmCacheTicket ticket = DmCacheWatch(srv->cache, srv->rootFd, path,
		fd, &info);
	long n = DmFileRead(fd, body, (size_t) info.size, 0);

	DmFileClose(fd);
	DmCachePut(srv->cache, path, &info, body, n, ticket);
	if (n < 0) {
	    return ReplyError(conn, 500, 0, req, NULL, NULL, 0);
	}
	info.size = (uint64_t) n;
	return ReplyFile(conn, req, path, pathLen, &info, -1, body, NULL);
    }
    return ReplyFile(conn, req, path, pathLen, &info, fd, NULL, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnExpire --
 *
 *	Ends the connections whose timer ran out: a request head that did
 *	not arrive in time gets 408 (a connection that sent nothing is just
 *	closed; a body after its answered request, closed with nothing
 *	more said), the rest are closed.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes connections.
 *
 *----------------------------------------------------------------------
 */

void
DmConnExpire(
    DmServer *srv,
    int64_t now)
{
    int which;

    for (which = 0; which < DM_TIMER_LISTS; which++) {
	DmConn *conn;

	while ((conn = srv->timers[which].head) != NULL
		&& conn->deadline <= now) {
	    TimerUnlink(conn);
	    if (which == DM_TIMER_HEAD && conn->bodyKind != DM_BODY_NONE) {
		/*
		 * The body of a request already answered stalled: as for a
		 * malformed one, nothing more is said (a 408 now could be
		 * taken as the answer to another request).
		 */

		DmLogEvent(srv, conn->peer, "request body not complete within"
			" %d ms; connection closed", srv->config.timeouts[which]);
		conn->bodyKind = DM_BODY_NONE;
		ConnLinger(conn);
		continue;
	    }
	    if (which == DM_TIMER_HEAD && conn->in != NULL) {
		DmRequest req;		/* Its first line, if it arrived. */

		FirstLine(conn->in, conn->inLen, &req);
		ReplyError(conn, 408, 0, &req, NULL, NULL, 0);
		continue;
	    }
	    if (which == DM_TIMER_SEND) {
		DmLogEvent(srv, conn->peer, "took no reply bytes for %d ms;"
			" connection closed", srv->config.timeouts[which]);
	    }
	    ConnDestroy(conn);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnServerClosing --
 *
 *	The server was closed: replies in flight finish and then close their
 *	connections; every other connection closes now.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes connections; may free the server.
 *
 *----------------------------------------------------------------------
 */

void
DmConnServerClosing(
    DmServer *srv)
{
    DmConn *conn = srv->conns, *next;

    while (conn != NULL) {
	next = conn->next;
	if (conn->state == CONN_SEND) {
	    conn->keepAlive = 0;
	} else {
	    ConnDestroy(conn);
	}
	conn = next;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnRetime --
 *
 *	A timeout changed: moves every deadline of that list by the same
 *	amount, which keeps the list in order.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes deadlines.
 *
 *----------------------------------------------------------------------
 */

void
DmConnRetime(
    DmServer *srv,
    int which,
    int64_t delta)
{
    DmConn *conn;

    for (conn = srv->timers[which].head; conn != NULL; conn = conn->tnext) {
	conn->deadline += delta;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnNextDeadline --
 *
 *	The earliest deadline of any connection of the server.
 *
 * Results:
 *	Milliseconds on the DmNowMs clock, or 0 if no timer runs.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int64_t
DmConnNextDeadline(
    DmServer *srv)
{
    int64_t next = 0;
    int which;

    for (which = 0; which < DM_TIMER_LISTS; which++) {
	DmConn *conn = srv->timers[which].head;

	if (conn != NULL && (next == 0 || conn->deadline < next)) {
	    next = conn->deadline;
	}
    }
    return next;
}
