/*
 * dmReply.c --
 *
 *	Assembles response heads and the short HTML bodies of error
 *	responses.  Heads are built by copying into the caller's buffer; the
 *	Date field is formatted once a second.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <string.h>
#include <stdio.h>
#include <time.h>

/*
 *----------------------------------------------------------------------
 *
 * DmReasonPhrase --
 *
 *	The reason phrase for a status code.
 *
 * Results:
 *	A static string.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const char *
DmReasonPhrase(
    int status)
{
    switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmReplyClock --
 *
 *	Brings the server's Date field and log date to the current second;
 *	they are formatted once a second, not once a request.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May rewrite srv->dateHeader and srv->logDate.
 *
 *----------------------------------------------------------------------
 */

void
DmReplyClock(
    DmServer *srv)
{
    int64_t now = (int64_t) time(NULL);
    char *p;

    if (now == srv->dateSecond) {
	return;
    }
    srv->dateSecond = now;
    p = DM_APPEND_LITERAL(srv->dateHeader, "Date: ");
    DmFormatHttpDate(now, p);
    memcpy(p + DM_HTTP_DATE_LEN, "\r\n", 3);
    DmFormatLogDate(now, srv->logDate);
}

/*
 *----------------------------------------------------------------------
 *
 * DmReplyHead --
 *
 *	Writes a response head: status line, Date, Server, Content-Type,
 *	Content-Length, Last-Modified, one optional extra field, Connection
 *	when it has something to say, and the empty line.
 *
 * Results:
 *	Its length, or 0 if it does not fit in size bytes.
 *
 * Side effects:
 *	Writes to buf; may refresh the server's cached Date field.
 *
 *----------------------------------------------------------------------
 */

size_t
DmReplyHead(
    DmServer *srv,
    const DmReply *reply,
    char *buf,
    size_t size)
{
    char *p = buf;
    const char *reason = DmReasonPhrase(reply->status);

    if (DM_REPLY_HEAD_MAX + srv->serverHeaderLen + reply->extraValueLen
	    + reply->contentTypeLen > size) {
	return 0;
    }
    DmReplyClock(srv);

    p = DM_APPEND_LITERAL(p, "HTTP/1.1 ");
    p = DmAppendUnsigned(p, (uint64_t) reply->status);
    *p++ = ' ';
    p = DmAppend(p, reason, strlen(reason));
    p = DM_APPEND_LITERAL(p, "\r\n");
    p = DmAppend(p, srv->dateHeader, DM_HTTP_DATE_LEN + 8);
    p = DmAppend(p, srv->serverHeader, srv->serverHeaderLen);
    p = DmAppend(p, reply->contentType, reply->contentTypeLen);
    p = DM_APPEND_LITERAL(p, "Content-Length: ");
    p = DmAppendUnsigned(p, reply->contentLength);
    p = DM_APPEND_LITERAL(p, "\r\n");
    if (reply->lastModifiedText != NULL) {
	p = DM_APPEND_LITERAL(p, "Last-Modified: ");
	p = DmAppend(p, reply->lastModifiedText, DM_HTTP_DATE_LEN);
	p = DM_APPEND_LITERAL(p, "\r\n");
    } else if (reply->lastModified >= 0) {
	p = DM_APPEND_LITERAL(p, "Last-Modified: ");
	DmFormatHttpDate(reply->lastModified, p);
	p += DM_HTTP_DATE_LEN;
	p = DM_APPEND_LITERAL(p, "\r\n");
    }
    if (reply->extraName != NULL) {
	p = DmAppend(p, reply->extraName, strlen(reply->extraName));
	p = DM_APPEND_LITERAL(p, ": ");
	p = DmAppend(p, reply->extraValue, reply->extraValueLen);
	p = DM_APPEND_LITERAL(p, "\r\n");
    }
    if (reply->connection == DM_CONN_HDR_CLOSE) {
	p = DM_APPEND_LITERAL(p, "Connection: close\r\n");
    } else if (reply->connection == DM_CONN_HDR_KEEPALIVE) {
	p = DM_APPEND_LITERAL(p, "Connection: keep-alive\r\n");
    }
    p = DM_APPEND_LITERAL(p, "\r\n");
    return (size_t) (p - buf);
}

/*
 *----------------------------------------------------------------------
 *
 * DmReplyErrorBody --
 *
 *	The short HTML page sent with an error status.
 *
 * Results:
 *	Its length (truncated to size - 1 if need be).
 *
 * Side effects:
 *	Writes a NUL-terminated page to buf.
 *
 *----------------------------------------------------------------------
 */

size_t
DmReplyErrorBody(
    int status,
    char *buf,
    size_t size)
{
    const char *reason = DmReasonPhrase(status);
    int n = snprintf(buf, size, "<!DOCTYPE html>\n<html><head><title>%d %s"
	    "</title></head>\n<body><h1>%d %s</h1></body></html>\n",
	    status, reason, status, reason);

    return (n < 0) ? 0 : ((size_t) n >= size ? size - 1 : (size_t) n);
}
