/*
 * dmLog.c --
 *
 *	The logs.  The access log has one Common Log Format line per request,
 *	written to the Tcl channel named by -accesslog; its lines are
 *	gathered in a buffer of the server's and handed to the channel in
 *	large writes, at most a tenth of a second after they were made: a
 *	Tcl_Write per line would cost about as much as the rest of serving a
 *	small file.  The error log (-errorlog) tells what went wrong.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_BUFFER	65536	/* Bytes gathered before a write. */
#define LOG_LINE_MAX	2048	/* Longest line; request lines are cut. */
#define LOG_DELAY_MS	100	/* Longest a line waits to be written. */

static void	LogTimerProc(void *clientData);

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
 *	Fills the log buffer; may write it to the channel, or arm the timer
 *	that will.
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
    const char *r = "-";
    size_t rLen = 1;
    char *p, *limit;

    if (srv->config.accessLog == NULL) {
	return;
    }
    if (srv->logBuf == NULL && (srv->logBuf = malloc(LOG_BUFFER)) == NULL) {
	return;
    }
    if (srv->logLen > LOG_BUFFER - LOG_LINE_MAX) {
	DmLogFlush(srv);
    }
    if (req != NULL && req->requestLine.len > 0) {
	r = req->requestLine.ptr;
	rLen = req->requestLine.len;
    }
    DmReplyClock(srv);
    p = srv->logBuf + srv->logLen;
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
    srv->logLen = (size_t) (p - srv->logBuf);
    if (srv->logTimer == NULL) {
	srv->logTimer = Tcl_CreateTimerHandler(LOG_DELAY_MS, LogTimerProc,
		srv);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogFlush --
 *
 *	Writes the gathered lines to the -accesslog channel.  The channel is
 *	looked up by name, so closing it from Tcl simply stops the log.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to a Tcl channel; empties the buffer; cancels the timer.
 *
 *----------------------------------------------------------------------
 */

void
DmLogFlush(
    DmServer *srv)
{
    if (srv->logTimer != NULL) {
	Tcl_DeleteTimerHandler(srv->logTimer);
	srv->logTimer = NULL;
    }
    if (srv->logLen > 0 && srv->config.accessLog != NULL) {
	Tcl_Channel chan = Tcl_GetChannel(srv->interp,
		Tcl_GetString(srv->config.accessLog), NULL);

	if (chan != NULL) {
	    Tcl_Write(chan, srv->logBuf, (Tcl_Size) srv->logLen);
	}
    }
    srv->logLen = 0;
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
 * DmLogEvent --
 *
 *	Writes one line about something that went wrong to the -errorlog
 *	channel, at once: "[date] peer: message".  These are rare (a file
 *	that shrank while being sent, a client cut for not reading, running
 *	out of descriptors), so no batching.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to a Tcl channel.
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
    Tcl_Channel chan;
    char line[1024];
    va_list ap;
    int n;

    if (srv->config.errorLog == NULL || (chan = Tcl_GetChannel(srv->interp,
	    Tcl_GetString(srv->config.errorLog), NULL)) == NULL) {
	return;
    }
    DmReplyClock(srv);
    n = snprintf(line, sizeof(line), "[%s] %s: ", srv->logDate, peer);
    va_start(ap, format);
    n += vsnprintf(line + n, sizeof(line) - (size_t) n - 1, format, ap);
    va_end(ap);
    if (n > (int) sizeof(line) - 2) {
	n = (int) sizeof(line) - 2;
    }
    line[n++] = '\n';
    Tcl_Write(chan, line, n);
}
