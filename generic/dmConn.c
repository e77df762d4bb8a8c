/*
 * dmConn.c --
 *
 *	The life of one connection: accept, read request heads and hand each
 *	request to its handler (the static files, or Tcl code through
 *	dmTclReq.c), send the replies (small ones in one write with their
 *	head, files by sendfile), keep-alive and pipelining, timeouts, and a
 *	lingering close after an error so the peer reads our answer instead
 *	of a reset.
 *
 *	An idle connection holds no buffer: input and reply bytes are
 *	assembled in the server's scratch buffer and only what a socket could
 *	not take, or the start of a request still arriving, is copied aside.
 *	Before any call into Tcl, whatever input is left is copied aside too
 *	(DmConnStash), since Tcl code may run the event loop and another
 *	connection then uses the scratch buffer; log lines are written to
 *	their channels after the event (DmLogFlushDue).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPT_BATCH	64	/* Connections accepted per event. */
#define SENDFILE_CHUNK	(1 << 30)
#define CHANNEL_CHUNK	65536	/* Bytes read from a body channel at once. */

static void	ChanReadable(void *clientData, int mask);
static int	ChanFill(DmConn *conn);
static void	ConnEvent(void *clientData, int events);
static int	ConnHandshake(DmConn *conn);
static int	ConnInput(DmConn *conn, int doRead);
static void	ConnLinger(DmConn *conn);
static int	ConnSend(DmConn *conn);
static int	ReplyDone(DmConn *conn);

/*
 *----------------------------------------------------------------------
 *
 * DmConnTimerUnlink, DmConnTimerSet --
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

void
DmConnTimerUnlink(
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

void
DmConnTimerSet(
    DmConn *conn,
    int which)
{
    DmServer *srv = conn->srv;
    DmTimerList *list = &srv->timers[which];

    DmConnTimerUnlink(conn);
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

    for (i = 0; i < ACCEPT_BATCH && !srv->closing; i++) {
	char peer[DM_ADDR_LEN];
	int peerPort = 0;
	int fd = DmNetAccept(srv->listen.fd, peer, &peerPort);
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
	conn->peerPort = peerPort;
	memcpy(conn->sockPeer, peer, sizeof(peer));
	conn->sockPeerPort = peerPort;
	conn->proxyPending = srv->config.proxyProtocol;
	conn->next = srv->conns;
	if (srv->conns) {
	    srv->conns->prev = conn;
	}
	srv->conns = conn;
	srv->numConns++;
	srv->accepted++;
	if (srv->tls != NULL) {
	    /*
	     * Over TLS a 503 would cost a handshake: past the limit the
	     * connection is just closed.
	     */

	    conn->tls = (srv->numConns > srv->config.maxConnections) ? NULL
		    : DmTlsNew(srv->tls, fd);
	    if (conn->tls == NULL) {
		DmConnDestroy(conn);
		continue;
	    }
	    conn->tlsShake = 2;
	} else if (srv->numConns > srv->config.maxConnections) {
	    DmConnError(conn, 503, NULL, NULL, NULL, 0);
	    continue;
	}
	DmConnTimerSet(conn, DM_TIMER_HEAD);

	/*
	 * The request (or the TLS client hello) often arrives with the
	 * connection: reading now saves a trip through the event set, and a
	 * connection answered and closed at once never enters it.
	 */

	if (conn->tlsShake) {
	    ConnHandshake(conn);
	} else {
	    ConnInput(conn, 1);
	}
    }
    DmLogFlushDue(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * Forget, DmConnDestroy --
 *
 *	Close a connection and free what it holds.  A reply cut short is
 *	logged with the bytes that did go out; a request still with Tcl
 *	code learns that its connection is gone.  The last connection of a
 *	closed server takes the server with it.
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
Forget(
    DmConn *conn)
{
    DmServer *srv = conn->srv;

    if (conn->replyStatus != 0) {
	DmLogReply(conn);
    }
    if (conn->ex != NULL) {
	DmExchangeOrphan(conn->ex);
	conn->ex = NULL;
    }
    DmWatchStop(&conn->watch);
    if (conn->fileFd >= 0) {
	DmFileClose(conn->fileFd);
    }
    if (conn->bodyChan != NULL) {
	if (conn->chanWaiting) {
	    Tcl_DeleteChannelHandler(conn->bodyChan, ChanReadable, conn);
	}
	DmCloseChannelLater(conn->bodyChan);
	conn->bodyChan = NULL;
    }
    free(conn->filePath);
    free(conn->in);
    free(conn->out);
    DmFreeSavedRequest(conn->logSaved);
    DmConnTimerUnlink(conn);
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

void
DmConnDestroy(
    DmConn *conn)
{
    int fd = conn->watch.fd;

    if (fd < 0) {
	return;				/* Destroyed already. */
    }
    Forget(conn);
    if (conn->tls != NULL) {
	DmTlsFree(conn->tls);
	conn->tls = NULL;
    }
    DmNetClose(fd);
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnDetach --
 *
 *	Gives up a connection without closing it, for a takeover: the
 *	server forgets it, and the caller gets its socket and the input
 *	read but not yet used.
 *
 * Results:
 *	The socket's descriptor; *inPtr (malloc'ed, or NULL) and *inLenPtr
 *	the input; *tlsPtr the connection's TLS, or NULL.
 *
 * Side effects:
 *	As DmConnDestroy, but the socket stays open.
 *
 *----------------------------------------------------------------------
 */

int
DmConnDetach(
    DmConn *conn,
    char **inPtr,
    size_t *inLenPtr,
    DmTls **tlsPtr)
{
    int fd = conn->watch.fd;

    *inPtr = conn->in;
    *inLenPtr = conn->inLen;
    *tlsPtr = conn->tls;
    conn->tls = NULL;
    conn->in = NULL;
    conn->replyStatus = 0;		/* Not a reply of the server's. */
    Forget(conn);
    return fd;
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

    if (conn->busy) {
	return;			/* Its events wait for the call to end. */
    }
    if (conn->tlsShake) {
	ConnHandshake(conn);
    } else if (conn->state == DM_CONN_HELD) {
	DmConnDestroy(conn);	/* The client left (DM_HANGUP). */
    } else if (conn->state != DM_CONN_SEND) {
	ConnInput(conn, 1);
    } else if ((events & DM_WRITABLE) && ConnSend(conn) == 0) {
	DmConnResume(conn);	/* Pipelined requests wait in `in'. */
    }
    DmLogFlushDue(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * SkipBody --
 *
 *	Consumes request-body bytes that no handler wants (the static files
 *	do not), so that the next request on the connection parses.
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
 *	line (if it ended), so the log can say what was asked, and the
 *	method the parser found (DmParseRequest sets it once the request
 *	line is read), so that a HEAD gets no body.  A stand-in has no
 *	method name, which is how DmConnError knows it for one.
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
    int method,			/* DM_METHOD_*. */
    DmRequest *req)
{
    const char *end = buf + len, *lf;

    memset(req, 0, sizeof(*req));
    req->method = method;
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
 * ProxyHeader --
 *
 *	Reads the PROXY protocol header a connection starts with under
 *	-proxyprotocol: the client it names becomes the connection's peer.
 *	A connection without a valid one is closed with nothing sent: what
 *	came is not HTTP from a client, nor the proxy the server expects.
 *
 * Results:
 *	The header's length; 0 if it is not complete yet; -1 if the
 *	connection was closed.
 *
 * Side effects:
 *	Sets the connection's peer; may close the connection.
 *
 *----------------------------------------------------------------------
 */

static long
ProxyHeader(
    DmConn *conn,
    const char *buf,
    size_t len)
{
    DmProxyInfo info;
    long r = DmParseProxy(buf, len, &info);

    if (r < 0) {
	DmLogEvent(conn->srv, conn->peer, "no valid PROXY protocol header;"
		" connection closed");
	DmConnDestroy(conn);
	return -1;
    }
    if (r > 0) {
	conn->proxyPending = 0;
	if (info.client.family != 0) {
	    DmFormatAddress(&info.client, conn->sockPeer);
	    conn->sockPeerPort = info.port;
	    memcpy(conn->peer, conn->sockPeer, sizeof(conn->peer));
	    conn->peerPort = info.port;
	}
    }
    return r;
}

/*
 *----------------------------------------------------------------------
 *
 * ClientAddress --
 *
 *	With -trustedproxies: the client of this request is the one a
 *	trusted peer names in Forwarded or X-Forwarded-For (its port is not
 *	known: 0), else the peer itself.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets conn->peer and conn->peerPort for this request.
 *
 *----------------------------------------------------------------------
 */

static void
ClientAddress(
    DmConn *conn,
    const DmRequest *req)
{
    DmServer *srv = conn->srv;
    DmAddress peer, client;

    memcpy(conn->peer, conn->sockPeer, sizeof(conn->peer));
    conn->peerPort = conn->sockPeerPort;
    if (DmParseAddress(conn->sockPeer, strlen(conn->sockPeer), &peer)
	    && DmCidrMatch(srv->trusted, srv->numTrusted, &peer)
	    && DmForwardedClient(&req->forwarded, &req->xForwardedFor,
		srv->trusted, srv->numTrusted, &client)) {
	DmFormatAddress(&client, conn->peer);
	conn->peerPort = 0;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnSkipBody --
 *
 *	Readies the connection to skip the body of a request that is
 *	answered without it.  A client that waits for "100 Continue" and
 *	has sent none of the body may send it or not once it has the
 *	answer (RFC 9110 10.1.1): the connection then closes after the
 *	reply, so that no byte of it is ever read as a request, and none is
 *	waited for.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets the connection's body state; may clear req->keepAlive and
 *	make the connection linger.
 *
 *----------------------------------------------------------------------
 */

void
DmConnSkipBody(
    DmConn *conn,
    DmRequest *req,
    int haveBytes)		/* Some of the body came with the head. */
{
    conn->bodyKind = req->bodyKind;
    conn->bodyLeft = req->contentLength;
    if (req->bodyKind == DM_BODY_LENGTH && req->contentLength == 0) {
	conn->bodyKind = DM_BODY_NONE;
    } else if (!haveBytes && req->bodyKind != DM_BODY_NONE
	    && DmWantsContinue(req)) {
	conn->bodyKind = DM_BODY_NONE;
	conn->linger = 1;		/* The body may come all the same. */
	req->keepAlive = 0;
    } else if (req->bodyKind == DM_BODY_CHUNKED) {
	DmChunkedInit(&conn->chunked);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * HandleRequest --
 *
 *	Hands one parsed request to its handler: the static files, or, when
 *	routes or filters apply, Tcl code (dmTclReq.c).  The request's
 *	body, if any, is skipped for the static files; a Tcl handler reads
 *	it first.  head[0..len) is the input from the request's head on.
 *
 * Results:
 *	The bytes of head[] consumed; DM_STASHED if what followed the head
 *	was copied aside to conn->in because Tcl code ran (the rest of the
 *	buffer must not be used); -1 if the connection was destroyed.
 *
 * Side effects:
 *	Anything a request causes.
 *
 *----------------------------------------------------------------------
 */

static long
HandleRequest(
    DmConn *conn,
    DmRequest *req,
    const char *head,
    size_t headLen,
    size_t len)
{
    DmServer *srv = conn->srv;
    char path[DM_PATH_MAX];
    size_t pathLen;
    int status, r;

    srv->requests++;
    conn->replyStart = srv->logTimed ? DmNowUs() : 0;
    if (srv->numTrusted > 0) {
	ClientAddress(conn, req);
    }
    status = DmNormalizePath(req->target.ptr, req->target.len, path,
	    sizeof(path) - DM_INDEX_ROOM, &pathLen);
    if (status != 0) {
	conn->bodyKind = DM_BODY_NONE;	/* Closed after: not read. */
	r = DmConnError(conn, status, req, NULL, NULL, 0);
	return (r < 0) ? -1 : (long) len;
    }
    if (srv->pipeline != NULL) {
	long used = DmExchangeStart(conn, req, path, pathLen, head, headLen,
		len);

	if (used != DM_NOT_ROUTED) {
	    return used;
	}
    }
    DmConnSkipBody(conn, req, len > headLen);
    if (DmStaticHandle(conn, req, path, pathLen) < 0) {
	return -1;
    }
    return (long) headLen;
}

/*
 *----------------------------------------------------------------------
 *
 * ProcessInput --
 *
 *	Answers the complete requests at the start of buf[0..len), in
 *	order, until one reply has to wait for the socket or a head is
 *	unfinished, and skips or collects the bodies that follow them.
 *
 * Results:
 *	The number of bytes consumed (the rest is to be kept for later);
 *	DM_STASHED if the rest was kept already because Tcl code ran; -1 if
 *	the connection was destroyed.
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

	if (conn->state != DM_CONN_READ) {
	    break;			/* The rest waits for the reply. */
	}
	if (conn->ex != NULL) {
	    /*
	     * A request body for a Tcl handler: collected, then the
	     * handler runs.
	     */

	    r = DmExchangeBody(conn, buf + pos, len - pos);
	    if (r < 0 || r == DM_STASHED) {
		return r;
	    }
	    pos += (size_t) r;
	    continue;
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
	if (conn->proxyPending) {
	    r = ProxyHeader(conn, buf + pos, len - pos);
	    if (r <= 0) {
		return r;		/* More to come, or closed. */
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
	    FirstLine(buf + pos, len - pos, req.method, &req);
	    if (DmConnError(conn, (int) -r, &req, NULL, NULL, 0) < 0) {
		return -1;
	    }
	    return (long) len;		/* The rest is never parsed. */
	}
	r = HandleRequest(conn, &req, buf + pos, (size_t) r, len - pos);
	if (r < 0 || r == DM_STASHED) {
	    return r;
	}
	pos += (size_t) r;
    }
    return (long) pos;
}

/*
 *----------------------------------------------------------------------
 *
 * PeekInput --
 *
 *	Looks at what the socket has, without taking it.
 *
 * Results:
 *	The bytes seen; 0 if none came yet (the connection then waits to
 *	be readable); -1 if the peer left or the read failed (the
 *	connection was destroyed).
 *
 * Side effects:
 *	May change the watch or destroy the connection.
 *
 *----------------------------------------------------------------------
 */

static long
PeekInput(
    DmConn *conn,
    char *buf,
    size_t len)
{
    long n = DmNetRead(conn->watch.fd, buf, len, 1);

    if (n == 0 || (n < 0 && !DmErrnoIsAgain())) {
	DmConnDestroy(conn);
	return -1;
    }
    if (n < 0) {
	DmWatchSet(&conn->watch, DM_READABLE);
	return 0;
    }
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnHandshake --
 *
 *	Goes on with a TLS connection's handshake, after its PROXY header
 *	if one is due (read without taking what follows it, which is the
 *	handshake's).  A first byte that starts a request method instead of
 *	a TLS record is plain HTTP, answered 400 in plain.  The handshake is
 *	timed as a request head is (-headtimeout).  Once it is done, the
 *	request is read.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Reads and writes the socket; changes the watch.
 *
 *----------------------------------------------------------------------
 */

static int
ConnHandshake(
    DmConn *conn)
{
    int r;

    while (conn->proxyPending) {
	char head[DM_PROXY_V2_MAX + 16];
	size_t have = conn->inLen;
	long n;

	/*
	 * The part of the header read before is in conn->in; the socket's
	 * bytes are looked at, and taken only as far as they are header.
	 */

	if (have > 0) {
	    memcpy(head, conn->in, have);
	}
	n = PeekInput(conn, head + have, sizeof(head) - have);
	if (n <= 0) {
	    return (int) n;
	}
	r = (int) ProxyHeader(conn, head, have + (size_t) n);
	if (r < 0) {
	    return -1;
	}
	if (r == 0 && have + (size_t) n == sizeof(head)) {
	    DmConnDestroy(conn);	/* Cannot be a header (the parser
					 * refuses longer ones). */
	    return -1;
	}

	/*
	 * All of an incomplete header's bytes are header: taken, so that a
	 * level-triggered wait does not see them again.
	 */

	n = DmNetRecv(conn->watch.fd, head + have,
		r == 0 ? (size_t) n : (size_t) r - have);
	free(conn->in);
	conn->in = NULL;
	conn->inLen = conn->inCap = 0;
	if (r == 0 && DmConnStash(conn, head, have + (size_t) (n > 0 ? n : 0))
		< 0) {
	    return -1;
	}
    }
    if (conn->tlsShake == 2) {
	char first;
	long n = PeekInput(conn, &first, 1);

	if (n <= 0) {
	    return (int) n;
	}
	if (first >= 'A' && first <= 'Z') {
	    /*
	     * A request method, where a TLS record (byte 22) should be:
	     * plain HTTP, told so in plain HTTP, as nginx does.
	     */

	    DmLogEvent(conn->srv, conn->peer, "plain HTTP sent to the TLS"
		    " port; 400 sent");
	    DmTlsFree(conn->tls);
	    conn->tls = NULL;
	    conn->tlsShake = 0;
	    return DmConnError(conn, 400, NULL, NULL, NULL, 0);
	}
	conn->tlsShake = 1;
    }
    r = DmTlsHandshake(conn->tls);
    if (r == DM_TLS_FAILED) {
	DmConnDestroy(conn);
	return -1;
    }
    if (r != DM_TLS_DONE) {
	DmWatchSet(&conn->watch, r == DM_TLS_WRITE ? DM_WRITABLE
		: DM_READABLE);
	return 0;
    }
    conn->tlsShake = 0;
    return ConnInput(conn, 1);
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
 *	changed meanwhile apply to what comes next.  After Tcl code ran for
 *	a request, what followed it is taken up again from conn->in.
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
    char *buf, *own;
    size_t len, room, rest;
    long used;

  again:
    buf = srv->scratch;
    own = NULL;
    len = 0;
    room = DM_READ_ROOM;
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
		DmConnDestroy(conn);
		return -1;
	    }
	    buf = own = grown;
	    room = 2 * len;
	}
	n = (conn->tls != NULL && conn->state != DM_CONN_LINGER)
		? DmTlsRecv(conn->tls, buf + len, room - len)
		: DmNetRecv(conn->watch.fd, buf + len, room - len);
	if (n == 0 || (n < 0 && !DmErrnoIsAgain())) {
	    free(own);
	    DmConnDestroy(conn);	/* The peer left (or reset). */
	    return -1;
	}
	if (n > 0) {
	    len += (size_t) n;
	    conn->inputSeq = ++srv->inputSeq;
	}
	doRead = 0;
    }
    if (conn->state == DM_CONN_LINGER) {
	free(own);
	return 0;			/* Drained and dropped. */
    }

    used = ProcessInput(conn, buf, len);
    if (used == DM_STASHED) {
	/*
	 * Tcl code ran; what followed its request is in conn->in (the
	 * buffer may have been overwritten since).  Go on with it if the
	 * connection is ready for more.
	 */

	free(own);
	if (conn->state == DM_CONN_READ && conn->in != NULL
		&& conn->watch.fd >= 0) {
	    goto again;
	}
	return (conn->watch.fd < 0) ? -1 : DmConnIdle(conn);
    }
    if (used < 0) {
	free(own);
	return -1;
    }
    rest = len - (size_t) used;
    if (rest > 0 && conn->state != DM_CONN_LINGER) {
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
	    DmConnDestroy(conn);
	    return -1;
	}
	conn->inLen = rest;
    }
    free(own);
    if (conn->state == DM_CONN_READ && conn->ex == NULL && !conn->busy) {
	/*
	 * DmConnIdle's common case, inline: waiting for more input.
	 */

	if (conn->bodyKind != DM_BODY_NONE || conn->in != NULL) {
	    if (conn->timer != DM_TIMER_HEAD) {
		DmConnTimerSet(conn, DM_TIMER_HEAD);
	    }
	} else if (conn->answered && conn->timer != DM_TIMER_IDLE) {
	    DmConnTimerSet(conn, DM_TIMER_IDLE);
	}
	DmWatchSet(&conn->watch, DM_READABLE);
	return 0;
    }
    return DmConnIdle(conn);
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnStash --
 *
 *	Copies input that is still to be processed into the connection's
 *	own buffer, before Tcl code runs: the caller's buffer (the scratch
 *	buffer, or conn->in detached by ConnInput) is not to be used after
 *	that code, and input kept already goes after it.
 *
 * Results:
 *	0, or -1 if memory ran out (the connection is then destroyed).
 *
 * Side effects:
 *	Sets conn->in.
 *
 *----------------------------------------------------------------------
 */

int
DmConnStash(
    DmConn *conn,
    const char *buf,
    size_t len)
{
    char *in;

    if (len == 0) {
	return 0;
    }
    in = malloc(conn->inLen + len);
    if (in == NULL) {
	DmConnDestroy(conn);
	return -1;
    }
    memcpy(in, buf, len);
    if (conn->in != NULL) {
	memcpy(in + len, conn->in, conn->inLen);
	free(conn->in);
    }
    conn->in = in;
    conn->inLen += len;
    conn->inCap = conn->inLen;
    conn->inParsed = 0;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnBusy, DmConnIdle --
 *
 *	Bracket a call into Tcl code made for a connection.  While busy, the
 *	connection takes no events (a handler that runs the event loop must
 *	not see its own connection's input processed meanwhile, and a level-
 *	triggered event left pending would keep "update" from returning)
 *	and nothing may destroy it.  DmConnIdle (also used on its own after
 *	input was processed) sets the timer and the events the connection's
 *	state now calls for.
 *
 * Results:
 *	DmConnIdle: 0.
 *
 * Side effects:
 *	Changes the watch and timer.
 *
 *----------------------------------------------------------------------
 */

void
DmConnBusy(
    DmConn *conn)
{
    conn->busy++;
    DmWatchSet(&conn->watch, 0);
    DmConnTimerUnlink(conn);
}

int
DmConnIdle(
    DmConn *conn)
{
    if (conn->busy > 0 && --conn->busy > 0) {
	return 0;
    }
    switch (conn->state) {
    case DM_CONN_READ:
	if (conn->ex != NULL || conn->bodyKind != DM_BODY_NONE
		|| conn->in != NULL) {
	    /*
	     * A head (or a body) has started: it must all arrive within
	     * -headtimeout, however it trickles.
	     */

	    if (conn->timer != DM_TIMER_HEAD) {
		DmConnTimerSet(conn, DM_TIMER_HEAD);
	    }
	} else if (conn->answered && conn->timer != DM_TIMER_IDLE) {
	    DmConnTimerSet(conn, DM_TIMER_IDLE);
	} else if (!conn->answered && conn->timer == DM_TIMER_NONE) {
	    DmConnTimerSet(conn, DM_TIMER_HEAD);
	}
	DmWatchSet(&conn->watch, DM_READABLE);
	break;
    case DM_CONN_SEND:
	if (conn->timer != DM_TIMER_SEND) {
	    DmConnTimerSet(conn, DM_TIMER_SEND);
	}
	DmWatchSet(&conn->watch, DM_WRITABLE);
	break;
    case DM_CONN_LINGER:
	DmWatchSet(&conn->watch, DM_READABLE);
	break;
    case DM_CONN_HELD:
	if (conn->timer != DM_TIMER_HANDLER) {
	    DmConnTimerSet(conn, DM_TIMER_HANDLER);
	}
	/*
	 * Input waits for the answer; only a client that leaves is seen
	 * (its answer is then refused to "respond").
	 */

	DmWatchSet(&conn->watch, DM_HANGUP);
	break;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnResume --
 *
 *	After a reply that waited (for the socket, or for Tcl code) is
 *	done: processes the pipelined input kept meanwhile, if the
 *	connection is ready for it.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	See ConnInput.
 *
 *----------------------------------------------------------------------
 */

int
DmConnResume(
    DmConn *conn)
{
    if (conn->watch.fd < 0) {
	return -1;
    }
    if (conn->busy || conn->state != DM_CONN_READ || conn->in == NULL) {
	return 0;
    }
    return ConnInput(conn, 0);
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
    return conn->fileFd >= 0 || conn->bodyChan != NULL || !conn->keepAlive;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnWrite --
 *
 *	Writes reply bytes to the connection: through its TLS, or straight
 *	to the socket (with `more', see MoreFollows).
 *
 * Results:
 *	As DmNetSend.
 *
 * Side effects:
 *	Writes to the socket.
 *
 *----------------------------------------------------------------------
 */

long
DmConnWrite(
    DmConn *conn,
    const DmBuf *bufs,
    int count,
    int more)
{
    if (conn->tls != NULL) {
	return DmTlsSend(conn->tls, bufs, count);
    }
    return DmNetSend(conn->watch.fd, bufs, count, more);
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnQueue --
 *
 *	Sends a reply: head and body (both in the caller's buffers) in one
 *	write, then the file, if any, or the channel (DmConnTakeChannel),
 *	by ConnSend.  What the socket does not take now is copied to the
 *	connection.  A reply that after-filters apply to goes through them
 *	first (dmTclReq.c).  The reply is logged when
 *	it is done (or cut), with the bytes that went out; if it has to
 *	wait, its request (req, if any) is copied for that.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Writes to the socket; the connection owns fileFd from now on.
 *
 *----------------------------------------------------------------------
 */

int
DmConnQueue(
    DmConn *conn,
    const DmRequest *req,
    int status,
    const char *head,
    size_t headLen,
    const char *body,
    size_t bodyLen,
    int fileFd,
    uint64_t fileOff,
    uint64_t fileLen)
{
    DmBuf bufs[2];
    long n;
    size_t total = headLen + bodyLen;

    if (conn->ex != NULL && DmExchangeFilters(conn)) {
	return DmExchangeFilter(conn, req, status, head, headLen, body,
		bodyLen, fileFd, fileOff, fileLen);
    }
    conn->replyStatus = status;
    conn->replyHead = headLen;
    conn->replySent = 0;
    conn->logReq = req;
    bufs[0].ptr = head;
    bufs[0].len = headLen;
    bufs[1].ptr = body;
    bufs[1].len = bodyLen;
    conn->fileFd = fileFd;
    conn->fileOff = fileOff;
    conn->fileEnd = fileOff + fileLen;
    n = DmConnWrite(conn, bufs, 2, MoreFollows(conn));
    if (n < 0) {
	if (!DmErrnoIsAgain()) {
	    DmConnDestroy(conn);
	    return -1;
	}
	n = 0;
    }
    conn->replySent = (uint64_t) n;
    if ((size_t) n < total) {
	size_t rest = total - (size_t) n;

	conn->out = malloc(rest);
	if (conn->out == NULL) {
	    DmConnDestroy(conn);
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
    } else if (fileFd < 0 && conn->bodyChan == NULL) {
	return ReplyDone(conn) < 0 ? -1 : 0;	/* All of it went. */
    }
    if (ConnSend(conn) < 0) {
	return -1;
    }
    if (conn->replyStatus != 0) {
	DmConnSaveLog(conn);		/* It waits: req will be gone. */
    }
    conn->logReq = NULL;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnSaveLog --
 *
 *	Copies the request of the reply in flight, for its log line, when
 *	the input buffer that holds it is about to go away.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets conn->logSaved (logged without its request if memory is out).
 *
 *----------------------------------------------------------------------
 */

void
DmConnSaveLog(
    DmConn *conn)
{
    if (conn->logReq != NULL && conn->logSaved == NULL) {
	conn->logSaved = DmSaveRequest(conn->logReq);
    }
    conn->logReq = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyDone --
 *
 *	The whole reply left: it is logged, then the connection waits for
 *	the next request, or closes.  A close after an error lingers (see
 *	ConnLinger).
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
    int closing;

    DmLogReply(conn);
    if (conn->logSaved != NULL) {
	DmFreeSavedRequest(conn->logSaved);
	conn->logSaved = NULL;
    }
    conn->replyStatus = 0;
    conn->answered = 1;
    closing = !conn->keepAlive && !conn->linger && conn->in == NULL
	    && conn->bodyKind == DM_BODY_NONE;
    if (conn->ex != NULL) {
	/*
	 * The exchange must not point at a connection about to go: Tcl
	 * code up the stack checks it.
	 */

	if (closing) {
	    DmExchangeOrphan(conn->ex);
	} else {
	    DmExchangeDone(conn->ex);
	}
	conn->ex = NULL;
    }
    if (conn->keepAlive) {
	conn->state = DM_CONN_READ;
	if (!conn->busy) {
	    DmWatchSet(&conn->watch, DM_READABLE);
	    DmConnTimerSet(conn, DM_TIMER_IDLE);
	}
	return 0;
    }
    if (closing) {
	DmConnDestroy(conn);		/* Nothing unread: a plain close. */
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
 *	out.  Closing with unread input would make the kernel send a reset
 *	that can destroy our reply before the peer reads it.
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
    conn->state = DM_CONN_LINGER;
    if (conn->tls != NULL) {
	DmTlsShutdown(conn->tls);
    }
    DmNetShutdownWrite(conn->watch.fd);
    if (!conn->busy) {
	DmWatchSet(&conn->watch, DM_READABLE);
	DmConnTimerSet(conn, DM_TIMER_LINGER);
    }
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
    int progress = 0, r;

    for (;;) {
	while (conn->out != NULL) {
	    DmBuf b;
	    long n;

	    b.ptr = conn->out + conn->outPos;
	    b.len = conn->outLen - conn->outPos;
	    n = DmConnWrite(conn, &b, 1, MoreFollows(conn));
	    if (n < 0) {
		if (DmErrnoIsAgain()) {
		    goto wait;
		}
		DmConnDestroy(conn);
		return -1;
	    }
	    progress = 1;
	    conn->outPos += (size_t) n;
	    conn->replySent += (uint64_t) n;
	    if (conn->outPos == conn->outLen) {
		free(conn->out);
		conn->out = NULL;
	    }
	}
	while (conn->fileFd >= 0 && conn->fileOff < conn->fileEnd) {
	    uint64_t left = conn->fileEnd - conn->fileOff;
	    size_t want = left < SENDFILE_CHUNK ? (size_t) left
		    : SENDFILE_CHUNK;
	    int zeroCopy = 0;
	    long n = (conn->tls != NULL)
		    ? DmTlsSendFile(conn->tls, conn->fileFd, &conn->fileOff,
			    want, &zeroCopy)
		    : DmNetSendFile(conn->watch.fd, conn->fileFd,
			    &conn->fileOff, want, conn->srv->config.sendFile
			    ? DM_SENDFILE_LATER : DM_SENDFILE_COPY, &zeroCopy);

	    if (n < 0 && DmErrnoIsAgain()) {
		goto wait;
	    }
	    if (n == 0) {
		DmLogEvent(conn->srv, conn->peer, "%s shrank while being"
			" sent: %llu of %llu bytes sent; connection closed",
			conn->filePath ? conn->filePath : "a file",
			(unsigned long long) conn->fileOff,
			(unsigned long long) conn->fileEnd);
	    }
	    if (n <= 0) {
		DmConnDestroy(conn);	/* Error, or the file shrank. */
		return -1;
	    }
	    progress = 1;
	    conn->replySent += (uint64_t) n;
	    if (zeroCopy) {
		conn->srv->zeroCopyBytes += (uint64_t) n;
	    }
	}
	if (conn->fileFd >= 0) {
	    DmFileClose(conn->fileFd);
	    conn->fileFd = -1;
	    free(conn->filePath);
	    conn->filePath = NULL;
	}
	if (conn->bodyChan == NULL) {
	    break;
	}
	r = ChanFill(conn);
	if (r < 0) {
	    return -1;
	}
	if (r == 0) {
	    /*
	     * The channel has nothing yet: wait for it, not for the socket
	     * (and no send timeout: the program's channel is slow, not the
	     * client).
	     */

	    conn->state = DM_CONN_SEND;
	    if (!conn->busy) {
		DmWatchSet(&conn->watch, 0);
		DmConnTimerUnlink(conn);
	    }
	    return 1;
	}
    }
    return ReplyDone(conn) < 0 ? -1 : 0;

  wait:
    if (conn->state != DM_CONN_SEND) {
	conn->state = DM_CONN_SEND;
	if (!conn->busy) {
	    DmWatchSet(&conn->watch, DM_WRITABLE);
	    DmConnTimerSet(conn, DM_TIMER_SEND);
	}
    } else if (!conn->busy && (progress || conn->timer != DM_TIMER_SEND)) {
	DmWatchSet(&conn->watch, DM_WRITABLE);
	DmConnTimerSet(conn, DM_TIMER_SEND);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnTakeChannel, DmCloseChannelLater --
 *
 *	A channel becomes a reply body: the server owns it from now on (its
 *	name is gone from the interpreter), and reads it binary and without
 *	blocking; size is its length, or -1 to send it up to its end, then
 *	chunked if chunked is set.  The channel is closed when the reply is
 *	done, or the connection ends: from the outermost call into the
 *	package, since closing may run Tcl code (a reflected channel).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

void
DmConnTakeChannel(
    DmConn *conn,
    Tcl_Interp *interp,
    Tcl_Channel chan,
    int64_t size,
    int chunked)
{
    Tcl_RegisterChannel(NULL, chan);
    Tcl_UnregisterChannel(interp, chan);
    Tcl_SetChannelOption(NULL, chan, "-translation", "binary");
    Tcl_SetChannelOption(NULL, chan, "-blocking", "0");
    if (conn == NULL) {
	DmCloseChannelLater(chan);	/* Not sent: HEAD, 204, 304. */
	return;
    }
    conn->bodyChan = chan;
    conn->chanLeft = size;
    conn->chanChunked = chunked;
}

static void
CloseChannel(
    void *ptr)
{
    Tcl_UnregisterChannel(NULL, (Tcl_Channel) ptr);
}

void
DmCloseChannelLater(
    Tcl_Channel chan)
{
    DmEnter();
    DmRetire(CloseChannel, chan);
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * ChanFill --
 *
 *	Reads the next piece of a channel reply body into the output,
 *	framed as a chunk if the reply is chunked; at the channel's end,
 *	the last chunk.  The connection is busy while the channel is read,
 *	which may run Tcl code.
 *
 * Results:
 *	1 if output was queued (or the body is complete), 0 if the channel
 *	has nothing yet (a handler waits for it), -1 if the connection was
 *	destroyed (a read error, or a sized body that ended short).
 *
 * Side effects:
 *	Reads the channel; closes it at its end.
 *
 *----------------------------------------------------------------------
 */

static int
ChanFill(
    DmConn *conn)
{
    Tcl_Channel chan = conn->bodyChan;
    Tcl_Size want = CHANNEL_CHUNK, n;
    char *buf;
    int eof;

    if (conn->chanLeft >= 0 && conn->chanLeft < want) {
	want = (Tcl_Size) conn->chanLeft;
    }
    buf = malloc((size_t) want + 24);
    if (buf == NULL) {
	DmConnDestroy(conn);
	return -1;
    }
    n = 0;
    if (want > 0) {
	DmConnBusy(conn);
	n = Tcl_Read(chan, buf + 16, want);
	conn->busy--;
	if (conn->watch.fd < 0) {
	    free(buf);
	    return -1;
	}
    }
    eof = (want == 0 || (n <= 0 && Tcl_Eof(chan)));
    if (n < 0 && !eof && !Tcl_InputBlocked(chan)) {
	DmLogEvent(conn->srv, conn->peer, "error reading the reply's"
		" channel: %s; connection closed",
		Tcl_ErrnoMsg(Tcl_GetErrno()));
	free(buf);
	DmConnDestroy(conn);
	return -1;
    }
    if (n > 0) {
	char *p = buf + 16;

	if (conn->chanLeft > 0) {
	    conn->chanLeft -= n;
	}
	if (conn->chanChunked) {
	    int k = snprintf(buf, 16, "%lx\r\n", (unsigned long) n);

	    p = buf + 16 - k;
	    memmove(p, buf, (size_t) k);
	    memcpy(buf + 16 + n, "\r\n", 2);
	    n += k + 2;
	}
	conn->out = malloc((size_t) n);
	if (conn->out == NULL) {
	    free(buf);
	    DmConnDestroy(conn);
	    return -1;
	}
	memcpy(conn->out, p, (size_t) n);
	conn->outLen = (size_t) n;
	conn->outPos = 0;
	free(buf);
	return 1;
    }
    free(buf);
    if (!eof) {
	if (!conn->chanWaiting) {
	    conn->chanWaiting = 1;
	    Tcl_CreateChannelHandler(chan, TCL_READABLE, ChanReadable, conn);
	}
	return 0;
    }
    if (conn->chanLeft > 0) {
	DmLogEvent(conn->srv, conn->peer, "the reply's channel ended %lld"
		" bytes short; connection closed", (long long) conn->chanLeft);
	DmConnDestroy(conn);
	return -1;
    }
    if (conn->chanWaiting) {
	Tcl_DeleteChannelHandler(chan, ChanReadable, conn);
	conn->chanWaiting = 0;
    }
    conn->bodyChan = NULL;
    DmCloseChannelLater(chan);
    if (conn->chanChunked) {
	conn->out = malloc(5);
	if (conn->out == NULL) {
	    DmConnDestroy(conn);
	    return -1;
	}
	memcpy(conn->out, "0\r\n\r\n", 5);
	conn->outLen = 5;
	conn->outPos = 0;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ChanReadable --
 *
 *	A reply's channel has data again: sending goes on.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See ConnSend.
 *
 *----------------------------------------------------------------------
 */

static void
ChanReadable(
    void *clientData,
    TCL_UNUSED(int) /*mask*/)
{
    DmConn *conn = clientData;
    DmServer *srv = conn->srv;

    DmEnter();
    Tcl_DeleteChannelHandler(conn->bodyChan, ChanReadable, conn);
    conn->chanWaiting = 0;
    if (!conn->busy && ConnSend(conn) == 0) {
	DmConnResume(conn);
    }
    DmLogFlushDue(srv);
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnError --
 *
 *	Answers with an error status (or a redirect) and its short HTML
 *	page, or the page -errorpages names for it; a HEAD gets the head
 *	alone.  Statuses that leave the request framing in doubt close the
 *	connection.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply.
 *
 *----------------------------------------------------------------------
 */

int
DmConnError(
    DmConn *conn,
    int status,
    const DmRequest *req,	/* NULL, or a stand-in (FirstLine) when the
				 * head was not parsed. */
    const char *extraName,
    const char *extraValue,
    size_t extraValueLen)
{
    DmServer *srv = conn->srv;
    char *head = srv->scratch + DM_READ_ROOM, *body = head + DM_HEAD_ROOM;
    char *ownHead = NULL;
    size_t headLen, bodyLen = 0, need;
    uint64_t pageLen = 0;
    int mustClose, r, pageFd = -1;
    int headOnly = (req != NULL && req->method == DM_METHOD_HEAD);
    DmReply reply;

    /*
     * Closed after: a head that was not parsed (no request, or a stand-in
     * with only its first line), and the statuses after which framing or
     * the server's state is in doubt.  A 501 for an unknown method
     * leaves the connection open: its framing was understood.
     */

    mustClose = (req == NULL || req->methodName.ptr == NULL
	    || status == 400 || status == 408 || status == 413
	    || status == 414 || status == 431 || status == 500
	    || status == 503 || status == 505);

    memset(&reply, 0, sizeof(reply));
    reply.lastModified = -1;
    reply.contentType = DM_HTML_TYPE;
    reply.contentTypeLen = sizeof(DM_HTML_TYPE) - 1;
    if (status >= 400 && srv->errorPages[status - 400] != NULL) {
	DmFileInfo info;

	/*
	 * The page -errorpages names: a small one read whole, a larger
	 * one sent by sendfile after the head.
	 */

	pageFd = DmStaticErrorPage(srv, req, status, &info,
		&reply.contentType, &reply.contentTypeLen);
	if (pageFd >= 0) {
	    pageLen = info.size;
	    if (info.size <= DM_SMALL_FILE) {
		long n = DmFileRead(pageFd, body, (size_t) info.size, 0);

		DmFileClose(pageFd);
		pageFd = -1;
		pageLen = 0;
		bodyLen = (n < 0) ? 0 : (size_t) n;
	    } else {
		bodyLen = 0;
	    }
	}
    }
    if (pageFd < 0 && bodyLen == 0 && pageLen == 0) {
	bodyLen = DmReplyErrorBody(status, body, DM_SMALL_FILE);
	reply.contentType = DM_HTML_TYPE;
	reply.contentTypeLen = sizeof(DM_HTML_TYPE) - 1;
    }
    if (headOnly && pageFd >= 0) {
	DmFileClose(pageFd);
	pageFd = -1;
    }
    reply.status = status;
    reply.contentLength = bodyLen + pageLen;
    reply.connection = DmConnHeader(conn, req ? req->keepAlive : 0,
	    req ? req->versionMinor : 1, mustClose);
    reply.extraName = extraName;
    reply.extraValue = extraValue;
    reply.extraValueLen = extraValueLen;

    /*
     * A Location can be longer than the scratch buffer's head part.
     */

    need = DmReplyHeadSize(srv, &reply);
    if (need > DM_HEAD_ROOM) {
	head = ownHead = malloc(need);
	if (head == NULL) {
	    if (pageFd >= 0) {
		DmFileClose(pageFd);
	    }
	    DmConnDestroy(conn);
	    return -1;
	}
    } else {
	need = DM_HEAD_ROOM;
    }
    headLen = DmReplyHead(srv, &reply, head, need);
    if (mustClose) {
	conn->bodyKind = DM_BODY_NONE;	/* Nothing more will be parsed. */
	conn->linger = 1;
    }
    r = DmConnQueue(conn, req, status, head, headLen, body,
	    headOnly ? 0 : bodyLen, pageFd, 0, pageLen);
    free(ownHead);
    return r;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnExpire --
 *
 *	Ends the connections whose timer ran out: a request head that did
 *	not arrive in time gets 408 (a connection that sent nothing is just
 *	closed; a body after its answered request, closed with nothing
 *	more said), a request held by a handler past -handlertimeout gets
 *	503, the rest are closed.
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
	    DmConnTimerUnlink(conn);
	    if (which == DM_TIMER_HANDLER) {
		DmExchangeTimeout(conn->ex);
		continue;
	    }
	    if (which == DM_TIMER_HEAD && conn->tlsShake) {
		DmConnDestroy(conn);	/* Nothing can be said before the
					 * handshake (conn->in may hold part
					 * of a PROXY header). */
		continue;
	    }
	    if (which == DM_TIMER_HEAD && conn->ex != NULL) {
		DmExchangeStalled(conn);	/* The body for a handler. */
		continue;
	    }
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

		FirstLine(conn->in, conn->inLen, DM_METHOD_OTHER, &req);
		DmLogEvent(srv, conn->peer, "request not complete within %d"
			" ms; 408 sent", srv->config.timeouts[which]);
		DmConnError(conn, 408, &req, NULL, NULL, 0);
		continue;
	    }
	    if (which == DM_TIMER_SEND) {
		DmLogEvent(srv, conn->peer, "took no reply bytes for %d ms;"
			" connection closed", srv->config.timeouts[which]);
	    }
	    DmConnDestroy(conn);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * IsIdle, DmConnServerClosing --
 *
 *	IsIdle: whether a connection waits for a request that has not begun
 *	to arrive.  DmConnServerClosing: the server was closed: replies in
 *	flight finish and then close their connections, as do requests whose
 *	Tcl code is running; requests held for an answer get 503 (or, while
 *	draining, wait for it); every other connection closes now.  While
 *	draining, a request that has begun to arrive is answered first, and
 *	so is one that is already waiting in an idle connection's socket: a
 *	client (a proxy reusing a kept-alive connection) that sent it as the
 *	server closed would otherwise see the connection close without an
 *	answer.  A TLS handshake under way goes on, for its one request.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes connections; may free the server.
 *
 *----------------------------------------------------------------------
 */

static int
IsIdle(
    DmConn *conn)
{
    return conn->state == DM_CONN_READ && !conn->busy && conn->ex == NULL
	    && conn->bodyKind == DM_BODY_NONE && conn->in == NULL;
}

void
DmConnServerClosing(
    DmServer *srv)
{
    DmConn *conn = srv->conns, *next, *idle = NULL;

    while (conn != NULL) {
	next = conn->next;
	if (conn->state == DM_CONN_SEND || conn->busy
		|| (conn->state == DM_CONN_HELD && srv->draining)) {
	    conn->keepAlive = 0;
	} else if (conn->state == DM_CONN_HELD) {
	    DmConnTimerUnlink(conn);
	    DmExchangeTimeout(conn->ex);
	} else if (srv->draining && conn->state == DM_CONN_READ) {
	    conn->keepAlive = 0;
	    if (IsIdle(conn) && !conn->tlsShake) {
		conn->drainNext = idle;
		idle = conn;
	    }
	} else {
	    DmConnDestroy(conn);
	}
	conn = next;
    }

    /*
     * Idle connections read what they have, after the walk.  Tcl code
     * run for one may close others (retired, not freed: their fd of -1
     * is still there to see) or enter the event loop, where another may
     * get a request: only one still idle is read, and closed if nothing
     * came.
     */

    for (conn = idle; conn != NULL; conn = next) {
	uint64_t seq = conn->inputSeq;

	next = conn->drainNext;
	if (conn->watch.fd >= 0 && IsIdle(conn) && ConnInput(conn, 1) == 0
		&& conn->inputSeq == seq && IsIdle(conn)) {
	    DmConnDestroy(conn);	/* Nothing came. */
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmConnServerCut --
 *
 *	The deadline of "close -drain" passed: held requests get 503, and
 *	every connection still open is closed, finished or not.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes connections; frees the server with the last one.
 *
 *----------------------------------------------------------------------
 */

void
DmConnServerCut(
    DmServer *srv)
{
    DmConn *conn, *next;

    for (conn = srv->conns; conn != NULL; conn = next) {
	next = conn->next;
	if (conn->state == DM_CONN_HELD && !conn->busy) {
	    DmConnTimerUnlink(conn);
	    DmExchangeTimeout(conn->ex);
	}
    }
    for (conn = srv->conns; conn != NULL; conn = next) {
	next = conn->next;
	DmConnDestroy(conn);
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

/*
 *----------------------------------------------------------------------
 *
 * DmSaveRequest, DmFreeSavedRequest --
 *
 *	Copy a parsed request (the part of its head its spans point into,
 *	and its fields) so that it outlives the input buffer, or free such
 *	a copy.
 *
 * Results:
 *	The copy, or NULL if memory ran out.
 *
 * Side effects:
 *	Allocates or frees memory.
 *
 *----------------------------------------------------------------------
 */

/* Where a span of the original lands in the copy. */
#define REBASE(span, from, to) \
	do { if ((span).ptr != NULL) { \
	    (span).ptr = (to) + ((span).ptr - (from)); } } while (0)

DmSavedRequest *
DmSaveRequest(
    const DmRequest *req)
{
    const char *start = req->requestLine.ptr, *end;
    DmSavedRequest *saved;
    DmField *fields;
    size_t len, numFields = (req->fields != NULL) ? (size_t) req->numHeaders
	    : 0, i;

    if (start == NULL) {
	start = end = "";
    } else {
	end = start + req->requestLine.len;
    }
    for (i = 0; i < numFields; i++) {
	const DmSpan *v = &req->fields[i].value;

	if (v->ptr + v->len > end) {
	    end = v->ptr + v->len;
	}
    }
    len = (size_t) (end - start);
    saved = malloc(sizeof(DmSavedRequest) + numFields * sizeof(DmField)
	    + len + 1);
    if (saved == NULL) {
	return NULL;
    }
    fields = (DmField *) (saved + 1);
    saved->head = (char *) (fields + numFields);
    saved->headLen = len;
    memcpy(saved->head, start, len);
    saved->head[len] = '\0';
    saved->req = *req;
    saved->req.fields = (numFields > 0) ? fields : NULL;
    for (i = 0; i < numFields; i++) {
	fields[i] = req->fields[i];
	REBASE(fields[i].name, start, saved->head);
	REBASE(fields[i].value, start, saved->head);
    }
    REBASE(saved->req.methodName, start, saved->head);
    REBASE(saved->req.target, start, saved->head);
    REBASE(saved->req.requestLine, start, saved->head);
    REBASE(saved->req.host, start, saved->head);
    REBASE(saved->req.range, start, saved->head);
    REBASE(saved->req.ifModifiedSince, start, saved->head);
    REBASE(saved->req.ifUnmodifiedSince, start, saved->head);
    REBASE(saved->req.ifRange, start, saved->head);
    for (i = 0; i < DM_MAX_LIST_LINES; i++) {
	REBASE(saved->req.ifMatch.line[i], start, saved->head);
	REBASE(saved->req.ifNoneMatch.line[i], start, saved->head);
	REBASE(saved->req.acceptEncoding.line[i], start, saved->head);
	REBASE(saved->req.forwarded.line[i], start, saved->head);
	REBASE(saved->req.xForwardedFor.line[i], start, saved->head);
    }
    return saved;
}

void
DmFreeSavedRequest(
    DmSavedRequest *saved)
{
    free(saved);
}
