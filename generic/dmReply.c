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
 * Append, AppendUnsigned --
 *
 *	Copy bytes or a decimal number to *pp, advancing it.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes at *pp.
 *
 *----------------------------------------------------------------------
 */

static inline void
Append(
    char **pp,
    const char *s,
    size_t len)
{
    memcpy(*pp, s, len);
    *pp += len;
}

#define APPEND_LITERAL(pp, lit) Append((pp), (lit), sizeof(lit) - 1)

static void
AppendUnsigned(
    char **pp,
    uint64_t n)
{
    char digits[24];
    int i = sizeof(digits);

    do {
	digits[--i] = (char) ('0' + n % 10);
	n /= 10;
    } while (n);
    Append(pp, digits + i, sizeof(digits) - i);
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
    int64_t now = (int64_t) time(NULL);
    char date[DM_HTTP_DATE_LEN + 1];

    if (DM_REPLY_HEAD_MAX + srv->serverHeaderLen + reply->extraValueLen
	    + reply->contentTypeLen > size) {
	return 0;
    }
    if (now != srv->dateSecond) {
	DmFormatHttpDate(now, date);
	snprintf(srv->dateHeader, sizeof(srv->dateHeader), "Date: %s\r\n",
		date);
	srv->dateSecond = now;
    }

    APPEND_LITERAL(&p, "HTTP/1.1 ");
    AppendUnsigned(&p, (uint64_t) reply->status);
    *p++ = ' ';
    Append(&p, reason, strlen(reason));
    APPEND_LITERAL(&p, "\r\n");
    Append(&p, srv->dateHeader, DM_HTTP_DATE_LEN + 8);
    Append(&p, srv->serverHeader, srv->serverHeaderLen);
    Append(&p, reply->contentType, reply->contentTypeLen);
    APPEND_LITERAL(&p, "Content-Length: ");
    AppendUnsigned(&p, reply->contentLength);
    APPEND_LITERAL(&p, "\r\n");
    if (reply->lastModified >= 0) {
	APPEND_LITERAL(&p, "Last-Modified: ");
	DmFormatHttpDate(reply->lastModified, p);
	p += DM_HTTP_DATE_LEN;
	APPEND_LITERAL(&p, "\r\n");
    }
    if (reply->extraName != NULL) {
	Append(&p, reply->extraName, strlen(reply->extraName));
	APPEND_LITERAL(&p, ": ");
	Append(&p, reply->extraValue, reply->extraValueLen);
	APPEND_LITERAL(&p, "\r\n");
    }
    if (reply->connection == DM_CONN_HDR_CLOSE) {
	APPEND_LITERAL(&p, "Connection: close\r\n");
    } else if (reply->connection == DM_CONN_HDR_KEEPALIVE) {
	APPEND_LITERAL(&p, "Connection: keep-alive\r\n");
    }
    APPEND_LITERAL(&p, "\r\n");
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
