/*
 * dmLog.c --
 *
 *	The logs.  The access log has one Common Log Format line per request,
 *	written to the Tcl channel named by -accesslog; its lines are
 *	gathered in a buffer of the server's and handed to the channel in
 *	large writes, at most a tenth of a second after they were made: a
 *	Tcl_Write per line would cost about as much as the rest of serving a
 *	small file.  The error log (-errorlog) tells what went wrong, and is
 *	gathered the same way.
 *
 *	A write to a channel can run Tcl code (a reflected channel), so it
 *	is never done in the middle of a request: only from the timer, from
 *	a Tcl command, or at a safe point after an event was handled.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_LINE_MAX	DM_LOG_LINE_MAX
#define LOG_DELAY_MS	100	/* Longest a line waits to be written. */

static void	LogTimerProc(void *clientData);
static void	SinkClosed(void *clientData);

/*
 *----------------------------------------------------------------------
 *
 * SinkRoom, SinkGrow --
 *
 *	Make room for a line at the end of a sink's buffer.  The buffer
 *	grows rather than being written out here: a write runs Tcl code (a
 *	reflected channel), which must not happen in the middle of a
 *	request.  It is written at the next safe point (DmLogFlushDue)
 *	or by the timer, so it stays near DM_LOG_BUFFER.
 *
 * Results:
 *	Where the line goes, or NULL if memory ran out (the line is lost).
 *
 * Side effects:
 *	May (re)allocate the buffer.
 *
 *----------------------------------------------------------------------
 */

static char *
SinkGrow(
    DmLogSink *sink,
    size_t need)
{
    {
	size_t cap = sink->cap ? 2 * sink->cap : DM_LOG_BUFFER;
	char *grown;

	while (cap - sink->len < need) {
	    cap *= 2;
	}
	grown = realloc(sink->buf, cap);
	if (grown == NULL) {
	    return NULL;
	}
	sink->buf = grown;
	sink->cap = cap;
    }
    return sink->buf + sink->len;
}

static inline char *
SinkRoom(
    DmLogSink *sink,
    size_t need)
{
    return (sink->cap - sink->len >= need) ? sink->buf + sink->len
	    : SinkGrow(sink, need);
}

/*
 *----------------------------------------------------------------------
 *
 * ArmTimer --
 *
 *	Makes sure the gathered lines are written within LOG_DELAY_MS.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May create a Tcl timer.
 *
 *----------------------------------------------------------------------
 */

static void
ArmTimer(
    DmServer *srv)
{
    if (srv->logTimer == NULL) {
	srv->logTimer = Tcl_CreateTimerHandler(LOG_DELAY_MS, LogTimerProc,
		srv);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogRequest --
 *
 *	Adds a line for one request.  The request line is escaped (control
 *	bytes, bytes above 0x7e, '"' and '\\' as \xHH), so a hostile request
 *	cannot forge log lines, and cut if very long.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the access log's buffer; may arm the timer that writes it.
 *
 *----------------------------------------------------------------------
 */

void
DmLogRequest(
    DmServer *srv,
    const char *peer,
    const DmRequest *req,	/* NULL, or a request line that may be
				 * empty, when none was parsed. */
    int status,
    uint64_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    DmLogSink *sink = &srv->accessSink;
    const char *r = "-";
    size_t rLen = 1;
    char *p, *limit;

    if (sink->chan == NULL || (p = SinkRoom(sink, LOG_LINE_MAX)) == NULL) {
	return;
    }
    if (req != NULL && req->requestLine.len > 0) {
	r = req->requestLine.ptr;
	rLen = req->requestLine.len;
    }
    DmReplyClock(srv);
    limit = p + LOG_LINE_MAX - 128;
    p = DmAppend(p, peer, strlen(peer));
    p = DM_APPEND_LITERAL(p, " - - [");
    p = DmAppend(p, srv->logDate, DM_LOG_DATE_LEN);
    p = DM_APPEND_LITERAL(p, "] \"");
    for (; rLen > 0 && p < limit; r++, rLen--) {
	unsigned char c = (unsigned char) *r;

	if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
	    *p++ = '\\';
	    *p++ = 'x';
	    *p++ = hex[c >> 4];
	    *p++ = hex[c & 15];
	} else {
	    *p++ = (char) c;
	}
    }
    if (rLen > 0) {
	p = DM_APPEND_LITERAL(p, "...");
    }
    p = DM_APPEND_LITERAL(p, "\" ");
    p = DmAppendUnsigned(p, (uint64_t) status);
    *p++ = ' ';
    p = DmAppendUnsigned(p, bytes);
    *p++ = '\n';
    sink->len = (size_t) (p - sink->buf);
    ArmTimer(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogReply --
 *
 *	A reply is done, or cut short: it is counted for stats, and logged
 *	with the body bytes that actually went out.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmLogRequest.
 *
 *----------------------------------------------------------------------
 */

void
DmLogReply(
    DmConn *conn)
{
    const DmRequest *req = conn->logReq;
    DmServer *srv = conn->srv;

    if (conn->replyStatus >= 100 && conn->replyStatus < 600) {
	srv->responses[conn->replyStatus]++;
    }
    srv->bytesSent += conn->replySent;
    if (req == NULL && conn->logSaved != NULL) {
	req = &conn->logSaved->req;
    }
    DmLogRequest(conn->srv, conn->peer, req, conn->replyStatus,
	    (conn->replySent > conn->replyHead)
	    ? conn->replySent - conn->replyHead : 0);
}

/*
 *----------------------------------------------------------------------
 *
 * SinkWrite --
 *
 *	Hands a sink's lines to its channel.  The buffer is taken out of
 *	the sink first: the write may run Tcl code that logs more lines,
 *	changes the log, or closes the server, and each of those then finds
 *	a sink in order; lines it adds are written next time, so the channel
 *	never sees a write inside a write.  The caller is inside DmEnter, so
 *	the sink's memory outlives the server being released meanwhile.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to a Tcl channel.
 *
 *----------------------------------------------------------------------
 */

static void
SinkWrite(
    DmLogSink *sink)
{
    char *buf = sink->buf;
    size_t len = sink->len, cap = sink->cap;

    if (sink->writing) {
	return;
    }
    if (len == 0 || sink->chan == NULL) {
	sink->len = 0;
	return;
    }
    sink->buf = NULL;
    sink->len = sink->cap = 0;
    sink->writing = 1;
    Tcl_Write(sink->chan, buf, (Tcl_Size) len);
    sink->writing = 0;
    if (sink->buf == NULL && cap <= DM_LOG_BUFFER) {
	sink->buf = buf;		/* Kept for the next lines. */
	sink->cap = cap;
    } else {
	free(buf);			/* Lines came meanwhile, or a burst
					 * grew it: not kept. */
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogFlush --
 *
 *	Writes the gathered lines to the log channels (DmLogFlushDue, in
 *	dmInt.h, calls it when the access log's buffer is close to full or
 *	an error was logged: errors are rare and worth seeing at once).
 *	Callers are at a safe point: no connection of theirs holds anything
 *	in the scratch buffer.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to Tcl channels, which may run Tcl code; cancels the timer.
 *
 *----------------------------------------------------------------------
 */

void
DmLogFlush(
    DmServer *srv)
{
    DmEnter();
    if (srv->logTimer != NULL) {
	Tcl_DeleteTimerHandler(srv->logTimer);
	srv->logTimer = NULL;
    }
    SinkWrite(&srv->accessSink);
    SinkWrite(&srv->errorSink);
    DmLeave();
}



/*
 *----------------------------------------------------------------------
 *
 * LogTimerProc --
 *
 *	Writes out lines that waited long enough.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmLogFlush.
 *
 *----------------------------------------------------------------------
 */

static void
LogTimerProc(
    void *clientData)
{
    DmServer *srv = clientData;

    srv->logTimer = NULL;
    DmLogFlush(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogSetChannel --
 *
 *	Points a sink at a channel (or none).  Lines not yet written stay
 *	for the new channel: callers flush first when they should not.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Moves the close handler that tells the sink its channel is gone.
 *
 *----------------------------------------------------------------------
 */

void
DmLogSetChannel(
    DmLogSink *sink,
    Tcl_Channel chan)
{
    if (sink->chan == chan) {
	return;
    }
    if (sink->chan != NULL) {
	Tcl_DeleteCloseHandler(sink->chan, SinkClosed, sink);
    }
    sink->chan = chan;
    if (chan != NULL) {
	Tcl_CreateCloseHandler(chan, SinkClosed, sink);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SinkClosed --
 *
 *	A log channel is being closed from Tcl: the lines gathered for it
 *	go out first, then the log stops (until configured again).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to the channel; forgets it.
 *
 *----------------------------------------------------------------------
 */

static void
SinkClosed(
    void *clientData)
{
    DmLogSink *sink = clientData;

    DmEnter();
    SinkWrite(sink);
    sink->chan = NULL;
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogEvent --
 *
 *	Adds a line about something that went wrong for the -errorlog
 *	channel: "[date] peer: message".  It is written when the event that
 *	caused it has been handled, never in the middle of a request.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the error log's buffer; may arm the timer that writes it.
 *
 *----------------------------------------------------------------------
 */

void
DmLogEvent(
    DmServer *srv,
    const char *peer,		/* The client concerned, or "-". */
    const char *format,		/* printf-style message and arguments. */
    ...)
{
    DmLogSink *sink = &srv->errorSink;
    char *line;
    va_list ap;
    int n, max = 1024;

    if (sink->chan == NULL || (line = SinkRoom(sink, (size_t) max)) == NULL) {
	return;
    }
    DmReplyClock(srv);
    n = snprintf(line, (size_t) max, "[%s] %s: ", srv->logDate, peer);
    va_start(ap, format);
    n += vsnprintf(line + n, (size_t) (max - n - 1), format, ap);
    va_end(ap);
    if (n > max - 2) {
	n = max - 2;
    }
    line[n++] = '\n';
    sink->len += (size_t) n;
    ArmTimer(srv);
}
