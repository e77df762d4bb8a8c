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
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default:
	/*
	 * A status a handler made up: the phrase of its class.
	 */

	return (status < 300) ? "Success" : (status < 400) ? "Redirection"
		: (status < 500) ? "Client Error" : "Server Error";
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
 *	May rewrite srv->dateHeader, srv->logDate, srv->isoDate and
 *	srv->expiresHeader.
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
    DmFormatIsoDate(now, srv->isoDate);
    if (srv->config.maxAge >= 0) {
	p = DM_APPEND_LITERAL(srv->expiresHeader, "Expires: ");
	DmFormatHttpDate(now + srv->config.maxAge, p);
	memcpy(p + DM_HTTP_DATE_LEN, "\r\n", 3);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmReplyHeadSize --
 *
 *	The most bytes DmReplyHead can write for a reply: the fields of
 *	bounded size (DM_REPLY_HEAD_MAX), and the variable ones this reply
 *	has (the server's fields for files only come with an entity-tag,
 *	an extra value only with its name).
 *
 * Results:
 *	A size in bytes.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

size_t
DmReplyHeadSize(
    const DmServer *srv,
    const DmReply *reply)
{
    return DM_REPLY_HEAD_MAX + srv->serverHeaderLen + reply->contentTypeLen
	    + (reply->extraName != NULL ? reply->extraValueLen : 0)
	    + (reply->etag != NULL ? srv->fileFieldsLen : 0);
}

/*
 *----------------------------------------------------------------------
 *
 * DmReplyHead --
 *
 *	Writes a response head: status line, Date, Server, Content-Type and
 *	Content-Length (not for 304), Last-Modified, ETag and Accept-Ranges,
 *	one optional extra field, Connection when it has something to say,
 *	and the empty line.
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

    if (DmReplyHeadSize(srv, reply) > size) {
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
    if (reply->status != 304) {		/* 304: the fields of the
					 * representation, not of a body. */
	p = DmAppend(p, reply->contentType, reply->contentTypeLen);
	p = DM_APPEND_LITERAL(p, "Content-Length: ");
	p = DmAppendUnsigned(p, reply->contentLength);
	p = DM_APPEND_LITERAL(p, "\r\n");
    }
    if (reply->lastModified > srv->dateSecond) {
	/*
	 * RFC 9110 8.8.2.1: a time in the future is sent as now.
	 */

	p = DM_APPEND_LITERAL(p, "Last-Modified: ");
	p = DmAppend(p, srv->dateHeader + 6, DM_HTTP_DATE_LEN);
	p = DM_APPEND_LITERAL(p, "\r\n");
    } else if (reply->lastModifiedText != NULL) {
	p = DM_APPEND_LITERAL(p, "Last-Modified: ");
	p = DmAppend(p, reply->lastModifiedText, DM_HTTP_DATE_LEN);
	p = DM_APPEND_LITERAL(p, "\r\n");
    } else if (reply->lastModified >= 0) {
	p = DM_APPEND_LITERAL(p, "Last-Modified: ");
	DmFormatHttpDate(reply->lastModified, p);
	p += DM_HTTP_DATE_LEN;
	p = DM_APPEND_LITERAL(p, "\r\n");
    }
    if (reply->encoding != DM_ENC_IDENTITY && reply->status != 304) {
	const char *name = DmEncodingName(reply->encoding);

	p = DM_APPEND_LITERAL(p, "Content-Encoding: ");
	p = DmAppend(p, name, strlen(name));
	p = DM_APPEND_LITERAL(p, "\r\n");
    }
    if (reply->vary) {
	p = DM_APPEND_LITERAL(p, "Vary: Accept-Encoding\r\n");
    }
    if (reply->etag != NULL) {
	p = DM_APPEND_LITERAL(p, "ETag: ");
	p = DmAppend(p, reply->etag, reply->etagLen);
	p = DM_APPEND_LITERAL(p, "\r\nAccept-Ranges: bytes\r\n");
	if (srv->config.maxAge >= 0) {
	    p = DmAppend(p, srv->expiresHeader, DM_HTTP_DATE_LEN + 11);
	}
	if (srv->fileFieldsLen > 0) {
	    p = DmAppend(p, srv->fileFields, srv->fileFieldsLen);
	}
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

/*
 *----------------------------------------------------------------------
 *
 * DmReplyBuildHead --
 *
 *	Writes a response head for a reply made in Tcl (a handler's, or one
 *	after-filters changed): status line, Date, Server (unless the fields
 *	have their own), the given fields, the framing (Content-Length, or
 *	chunked transfer coding, or neither when the body ends with the
 *	connection or there is none), Connection when it has something to
 *	say, and the empty line.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Appends to *dsPtr (initialised by the caller).
 *
 *----------------------------------------------------------------------
 */

void
DmReplyBuildHead(
    DmServer *srv,
    int status,
    const char *fields,		/* "Name: value\r\n" lines. */
    size_t fieldsLen,
    int addServer,
    int framing,		/* DM_FRAME_*. */
    uint64_t length,		/* With DM_FRAME_LENGTH. */
    int connection,		/* DM_CONN_HDR_*. */
    Tcl_DString *dsPtr)
{
    char line[64], *p;
    const char *reason = DmReasonPhrase(status);

    DmReplyClock(srv);
    p = DM_APPEND_LITERAL(line, "HTTP/1.1 ");
    p = DmAppendUnsigned(p, (uint64_t) status);
    *p++ = ' ';
    Tcl_DStringAppend(dsPtr, line, (Tcl_Size) (p - line));
    Tcl_DStringAppend(dsPtr, reason, -1);
    Tcl_DStringAppend(dsPtr, "\r\n", 2);
    Tcl_DStringAppend(dsPtr, srv->dateHeader, DM_HTTP_DATE_LEN + 8);
    if (addServer) {
	Tcl_DStringAppend(dsPtr, srv->serverHeader,
		(Tcl_Size) srv->serverHeaderLen);
    }
    Tcl_DStringAppend(dsPtr, fields, (Tcl_Size) fieldsLen);
    if (framing == DM_FRAME_LENGTH) {
	p = DM_APPEND_LITERAL(line, "Content-Length: ");
	p = DmAppendUnsigned(p, length);
	p = DM_APPEND_LITERAL(p, "\r\n");
	Tcl_DStringAppend(dsPtr, line, (Tcl_Size) (p - line));
    } else if (framing == DM_FRAME_CHUNKED) {
	Tcl_DStringAppend(dsPtr, "Transfer-Encoding: chunked\r\n", -1);
    }
    if (connection == DM_CONN_HDR_CLOSE) {
	Tcl_DStringAppend(dsPtr, "Connection: close\r\n", -1);
    } else if (connection == DM_CONN_HDR_KEEPALIVE) {
	Tcl_DStringAppend(dsPtr, "Connection: keep-alive\r\n", -1);
    }
    Tcl_DStringAppend(dsPtr, "\r\n", 2);
}
