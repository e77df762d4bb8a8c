/*
 * dmHttp.h --
 *
 *	The HTTP/1.1 request-head parser and chunked-body decoder.  Pure C:
 *	no Tcl calls, no allocation, so they can be unit-tested and fuzzed
 *	alone.  Both work on bytes the caller owns; the parser may be called
 *	again on a longer buffer until it stops asking for more.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_HTTP_H
#define DM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "dmScope.h"

/*
 * A span of the caller's buffer; len 0 with ptr NULL means "absent".
 */

typedef struct DmSpan {
    const char *ptr;
    size_t len;
} DmSpan;

/*
 * The methods of RFC 9110 and PATCH (RFC 5789), matched with case: a
 * method the server does not know is DM_METHOD_OTHER.
 */

enum {
    DM_METHOD_OTHER = 0,
    DM_METHOD_GET,
    DM_METHOD_HEAD,
    DM_METHOD_POST,
    DM_METHOD_PUT,
    DM_METHOD_DELETE,
    DM_METHOD_CONNECT,
    DM_METHOD_OPTIONS,
    DM_METHOD_TRACE,
    DM_METHOD_PATCH
};

/*
 * How the request body is framed.
 */

enum {
    DM_BODY_NONE = 0,		/* No body. */
    DM_BODY_LENGTH,		/* Content-Length bytes follow the head. */
    DM_BODY_CHUNKED		/* Transfer-Encoding: chunked. */
};

/*
 * Limits the parser enforces.  A head is the request line, the header
 * fields and the empty line that ends them.
 */

typedef struct DmLimits {
    size_t maxRequestLine;	/* Longest request line (without CRLF): 414. */
    size_t maxHeadSize;		/* Longest header block after the request
				 * line, including line ends: 431. */
    int maxHeaders;		/* Most header fields: 431. */
} DmLimits;

/*
 * A header field as sent: its name and its value with the white space
 * around it removed.
 */

typedef struct DmField {
    DmSpan name;
    DmSpan value;
} DmField;

/*
 * What the parser found.  Every DmSpan points into the parsed buffer.  A
 * field sent with an empty value is present: ptr set, len 0.  Of repeated
 * Range and If-* fields the first one counts; Host must not repeat, and a
 * repeated Content-Length must repeat the same number.  host is the Host
 * value, or the authority of an absolute-form target, which RFC 9112
 * 3.2.2 makes the one that counts.  Content-Length: 0 gives
 * DM_BODY_LENGTH with contentLength 0.  Every field, in order, is in
 * fields[0..numHeaders) when the caller gave room for them.
 */

/*
 * A list field the server reads (If-Match, If-None-Match,
 * Accept-Encoding): RFC 9110 5.3 makes repeated lines of a list one
 * list, so each line is kept, up to DM_MAX_LIST_LINES; count is -1 when
 * there were more (DmPreconditions and DmChooseEncoding say what that
 * means for each field).
 */

#define DM_MAX_LIST_LINES 4

typedef struct DmList {
    int count;			/* Lines, 0 when the field was not sent. */
    DmSpan line[DM_MAX_LIST_LINES];
} DmList;

typedef struct DmRequest {
    int method;			/* DM_METHOD_*. */
    DmSpan methodName;		/* The method token as sent. */
    DmSpan target;		/* The request-target as sent. */
    DmSpan requestLine;		/* The request line without its line end. */
    int versionMinor;		/* 0 or 1: the major version is always 1. */
    int keepAlive;		/* 1 if the connection may stay open after
				 * the response: HTTP/1.1 without "Connection:
				 * close", or HTTP/1.0 with "Connection:
				 * keep-alive". */
    int bodyKind;		/* DM_BODY_*. */
    uint64_t contentLength;	/* With DM_BODY_LENGTH. */
    int numHeaders;		/* Header fields seen. */
    DmField *fields;		/* The caller's array, or NULL. */
    DmSpan host;		/* Header values the server uses, OWS */
    DmSpan range;		/* trimmed; absent when not sent. */
    DmSpan ifModifiedSince;
    DmSpan ifUnmodifiedSince;
    DmList ifNoneMatch;
    DmList ifMatch;
    DmSpan ifRange;
    DmList acceptEncoding;
    DmList forwarded;		/* Forwarded (RFC 7239). */
    DmList xForwardedFor;
    size_t checkAt;		/* With DM_PARSE_MORE: until a line ends,
				 * the result cannot change before the
				 * buffer holds this many bytes (a limit
				 * is passed then). */
} DmRequest;

/*
 * DmParseRequest results: DM_PARSE_MORE asks for more bytes; a positive
 * result is the length of the head (the body, if any, starts there); a
 * negative result is the HTTP status code to answer with, negated, after
 * which the connection must be closed.
 */

#define DM_PARSE_MORE 0

MODULE_SCOPE long	DmParseRequest(const char *buf, size_t len,
			    const DmLimits *limits, DmRequest *req,
			    DmField *fields);
MODULE_SCOPE const DmField *DmFindField(const DmRequest *req,
			    const char *lowerName);
MODULE_SCOPE int	DmWantsContinue(const DmRequest *req);

/*
 * DmHeadMayEnd tells whether buf[from..len) completes an empty line, so
 * that a head parsed unfinished at length `from' is worth parsing again.
 */

MODULE_SCOPE int	DmEqualFold(const char *s, size_t n, const char *lower);
MODULE_SCOPE int	DmIsToken(const char *s, size_t len);
MODULE_SCOPE int	DmHeadMayEnd(const char *buf, size_t from, size_t len);

/*
 * Chunked-body decoder state.  Zero it (DmChunkedInit) before the first
 * call; DmChunkedDecode consumes what it can and says how far it got.
 * Chunk data is copied out, or skipped.  A chunk size has at most 16 hex
 * digits; a size line or a trailer line at most 4096 bytes besides its
 * line end, which must be CRLF; the trailer section at most 100 fields.
 */

typedef struct DmChunked {
    int state;			/* Internal. */
    uint64_t remaining;		/* Data bytes left in the current chunk. */
    size_t lineLen;		/* Bytes in the current size/trailer line. */
    int digits;			/* Hex digits in the current size. */
    int trailers;		/* Trailer fields seen. */
} DmChunked;

enum {
    DM_CHUNKED_MORE = 0,	/* All input consumed; the body goes on. */
    DM_CHUNKED_DONE = 1,	/* The body ended; *consumedPtr says where. */
    DM_CHUNKED_ERROR = -1	/* Malformed: answer 400 and close. */
};

MODULE_SCOPE void	DmChunkedInit(DmChunked *ch);
MODULE_SCOPE int	DmChunkedDecode(DmChunked *ch, const char *buf,
			    size_t len, size_t *consumedPtr, char *out,
			    size_t *outLenPtr);

#endif /* DM_HTTP_H */
