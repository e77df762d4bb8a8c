/*
 * dmHttp.c --
 *
 *	The HTTP/1.1 request-head parser and chunked-body decoder (RFC 9112).
 *	Both are strict on purpose: whatever could be read two ways by two
 *	parsers (the stuff of request smuggling) is rejected, not guessed.
 *	They never read outside the bytes they are given and never allocate.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmHttp.h"
#include "dmAscii.h"
#include "dmPath.h"

#include <string.h>

/*
 * Limits that are not configurable: they only bound what a well-behaved
 * client never comes near.
 */

#define MAX_LEADING_EMPTY	8	/* Empty lines tolerated before the
					 * request line (RFC 9112 2.2). */
#define MAX_CL_DIGITS		18	/* Content-Length digits: 10^18 - 1 fits
					 * in any 64-bit type, signed or not. */
#define MAX_CHUNK_DIGITS	16	/* Hex digits in a chunk size: the most
					 * that fits in a uint64_t. */
#define MAX_CHUNK_LINE		4096	/* Bytes in a chunk-size line or a
					 * trailer line, without its line end. */
#define MAX_TRAILERS		100	/* Trailer fields after the last chunk. */

/*
 * Character classes, from RFC 9110 5.6.2 (token), 9112 3.2 (target),
 * 9110 5.5 (field value, with obs-text) and 3986 3.2.2 (Host).  A table
 * because every byte of a head goes through it.
 */

#define CC_TCHAR	1	/* tchar: method and field-name bytes. */
#define CC_TARGET	2	/* VCHAR, and bytes above 0x7F (raw UTF-8,
				 * as some clients send it; checked):
				 * request-target bytes. */
#define CC_VALUE	4	/* SP, HTAB, VCHAR, obs-text: field values. */
#define CC_HOST		8	/* reg-name bytes but '%' (unreserved and
				 * sub-delims). */

/*
 * Each entry ORs the bits above: 15 for letters, digits and "!$&'*+-._~",
 * 4 for SP and HTAB, 6 for obs-text, 0 for the other controls.
 */

static const unsigned char charClass[256] = {
    /* 0_ */  0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
    /* 1_ */  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 2_ */  4,15, 6, 7,15, 7,15,15,14,14,15,15,14,15,15, 6,
    /* 3_ */ 15,15,15,15,15,15,15,15,15,15, 6,14, 6,14, 6, 6,
    /* 4_ */  6,15,15,15,15,15,15,15,15,15,15,15,15,15,15,15,
    /* 5_ */ 15,15,15,15,15,15,15,15,15,15,15, 6, 6, 6, 7,15,
    /* 6_ */  7,15,15,15,15,15,15,15,15,15,15,15,15,15,15,15,
    /* 7_ */ 15,15,15,15,15,15,15,15,15,15,15, 6, 7, 6,15, 0,
    /* 8_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* 9_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* A_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* B_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* C_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* D_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* E_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    /* F_ */  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
};

#define HAS_CLASS(c, cls)	(charClass[(unsigned char) (c)] & (cls))
#define IS_OWS(c)		((c) == ' ' || (c) == '\t')
#define IS_DIGIT(c)		((c) >= '0' && (c) <= '9')

/*
 * Connection options seen in the head, combined over all Connection
 * fields.
 */

#define CONN_CLOSE	1
#define CONN_KEEPALIVE	2

/*
 * States of the chunked-body decoder (DmChunked.state).  The zero state
 * is the start of a chunk-size line, so a zeroed DmChunked is ready.
 */

enum {
    CH_SIZE = 0,		/* In the hex digits of a chunk size. */
    CH_SIZE_WS,			/* In whitespace after the size: ';' must
				 * follow. */
    CH_EXT,			/* In a chunk extension, skipped. */
    CH_SIZE_CR,			/* After the size line's CR: LF must follow. */
    CH_DATA,			/* In chunk data. */
    CH_DATA_END,		/* After chunk data: CR must follow. */
    CH_DATA_CR,			/* After chunk data and CR: LF must follow. */
    CH_TRAILER,			/* At the start of a trailer line or of the
				 * empty line that ends the body. */
    CH_TNAME,			/* In a trailer field name. */
    CH_TVALUE,			/* In a trailer field value. */
    CH_TRAILER_CR,		/* After a trailer line's CR. */
    CH_END_CR,			/* After the CR of the final empty line. */
    CH_DONE,			/* The body has ended. */
    CH_ERROR			/* The body was malformed. */
};

/*
 * The state after a chunk-size line: a size of 0 is the last chunk, which
 * trailer fields follow.
 */

#define AFTER_SIZE_LINE(ch) \
	(((ch)->remaining == 0) ? CH_TRAILER : CH_DATA)

/*
 *----------------------------------------------------------------------
 *
 * DmEqualFold --
 *
 *	Compares bytes with a lower-case ASCII word, ignoring ASCII case
 *	only: header names and list tokens are case-insensitive, and the
 *	C library's tolower() would depend on the locale.
 *
 * Results:
 *	1 if s[0..n) matches lower exactly (same length), else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmEqualFold(
    const char *s,
    size_t n,
    const char *lower)
{
    size_t i;

    for (i = 0; i < n; i++) {
	unsigned char c = (unsigned char) s[i];

	if (lower[i] == '\0') {
	    return 0;
	}
	if (c >= 'A' && c <= 'Z') {
	    c += 'a' - 'A';
	}
	if (c != (unsigned char) lower[i]) {
	    return 0;
	}
    }
    return lower[n] == '\0';
}

/*
 *----------------------------------------------------------------------
 *
 * NextElement --
 *
 *	Steps through a comma-separated field value (RFC 9110 5.6.1).
 *	*nextPtr starts at the value's first byte and is set to NULL once
 *	the last element has been returned.
 *
 * Results:
 *	1 with *elPtr set to the next element, OWS trimmed (possibly
 *	empty), or 0 when there are no more elements.
 *
 * Side effects:
 *	Advances *nextPtr.
 *
 *----------------------------------------------------------------------
 */

static int
NextElement(
    const char **nextPtr,
    const char *end,
    DmSpan *elPtr)
{
    const char *p = *nextPtr, *q;

    if (p == NULL) {
	return 0;
    }
    for (q = p; q < end && *q != ','; q++) {
	/* Find the element's end. */
    }
    *nextPtr = (q < end) ? q + 1 : NULL;
    while (p < q && IS_OWS(*p)) {
	p++;
    }
    while (q > p && IS_OWS(q[-1])) {
	q--;
    }
    elPtr->ptr = p;
    elPtr->len = (size_t) (q - p);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * MethodOf --
 *
 *	Which known method a token is, by length first (compares of
 *	constant size compile to a few instructions).
 *
 * Results:
 *	A DM_METHOD_* value; DM_METHOD_OTHER for an unknown one.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
MethodOf(
    const char *p,
    size_t n)
{
#define IS(name) (memcmp(p, (name), sizeof(name) - 1) == 0)
    switch (n) {
    case 3:
	return IS("GET") ? DM_METHOD_GET : IS("PUT") ? DM_METHOD_PUT
		: DM_METHOD_OTHER;
    case 4:
	return IS("HEAD") ? DM_METHOD_HEAD : IS("POST") ? DM_METHOD_POST
		: DM_METHOD_OTHER;
    case 5:
	return IS("PATCH") ? DM_METHOD_PATCH : IS("TRACE") ? DM_METHOD_TRACE
		: DM_METHOD_OTHER;
    case 6:
	return IS("DELETE") ? DM_METHOD_DELETE : DM_METHOD_OTHER;
    case 7:
	return IS("OPTIONS") ? DM_METHOD_OPTIONS : IS("CONNECT")
		? DM_METHOD_CONNECT : DM_METHOD_OTHER;
    default:
	return DM_METHOD_OTHER;
    }
#undef IS
}

/*
 *----------------------------------------------------------------------
 *
 * ParseRequestLine --
 *
 *	Parses "METHOD SP TARGET SP HTTP/D.D" (RFC 9112 3), the line end
 *	already removed.  Exactly one space is allowed between the parts:
 *	lenient splitting is how a request line gets read differently by a
 *	proxy and a server.
 *
 * Results:
 *	0, or the HTTP status to answer: 400 for a malformed line, 505 for
 *	a well-formed version whose major number is not 1.
 *
 * Side effects:
 *	Sets the method, methodName, target, requestLine and versionMinor
 *	fields of *req.
 *
 *----------------------------------------------------------------------
 */

static int
ParseRequestLine(
    const char *p,
    const char *end,
    DmRequest *req)
{
    const char *q = p, *target;
    size_t n;
    unsigned high = 0;		/* The target's bytes ORed together. */

    req->requestLine.ptr = p;
    req->requestLine.len = (size_t) (end - p);

    while (q < end && HAS_CLASS(*q, CC_TCHAR)) {
	q++;
    }
    if (q == p || q == end || *q != ' ') {
	return 400;
    }
    n = (size_t) (q - p);
    req->methodName.ptr = p;
    req->methodName.len = n;
    req->method = MethodOf(p, n);

    target = ++q;
    while (q < end && HAS_CLASS(*q, CC_TARGET)) {
	high |= (unsigned char) *q++;
    }
    if (q == target || q == end || *q != ' ') {
	return 400;
    }
    if ((high & 0x80) && !DmValidUtf8((const unsigned char *) target,
	    (size_t) (q - target))) {
	return 400;			/* Raw bytes, but not UTF-8. */
    }
    req->target.ptr = target;
    req->target.len = (size_t) (q - target);

    /*
     * Only the exact shape is accepted, so "HTTP/1.10" or a long number
     * can never wrap round into a version we serve.
     */

    q++;
    if (end - q != 8 || memcmp(q, "HTTP/", 5) != 0 || !IS_DIGIT(q[5])
	    || q[6] != '.' || !IS_DIGIT(q[7])) {
	return 400;
    }
    if (q[5] != '1') {
	return 505;
    }
    req->versionMinor = (q[7] == '0') ? 0 : 1;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseContentLength --
 *
 *	Parses a Content-Length value: 1*DIGIT and nothing else, no sign,
 *	no list (RFC 9110 8.6).  Repeated fields must agree.
 *
 * Results:
 *	0, or 400 for a malformed, conflicting or too long value, or one
 *	that comes with Transfer-Encoding.
 *
 * Side effects:
 *	Sets bodyKind and contentLength in *req.
 *
 *----------------------------------------------------------------------
 */

static int
ParseContentLength(
    const char *p,
    size_t n,
    DmRequest *req)
{
    uint64_t value = 0;
    size_t i;

    if (n == 0 || n > MAX_CL_DIGITS) {
	return 400;
    }
    for (i = 0; i < n; i++) {
	if (!IS_DIGIT(p[i])) {
	    return 400;
	}
	value = value * 10 + (uint64_t) (p[i] - '0');
    }
    if (req->bodyKind == DM_BODY_CHUNKED
	    || (req->bodyKind == DM_BODY_LENGTH
	    && req->contentLength != value)) {
	return 400;
    }
    req->bodyKind = DM_BODY_LENGTH;
    req->contentLength = value;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseTransferEncoding --
 *
 *	Parses a Transfer-Encoding value.  Only a lone "chunked" is served;
 *	a coding the server cannot undo gets 501, and a list in which
 *	chunked is missing from the end (or appears twice) leaves the body
 *	length unknown, which RFC 9112 6.3 answers with 400.
 *
 * Results:
 *	0, 400 or 501.  400 also for a second Transfer-Encoding field, for
 *	one next to Content-Length, and for any in an HTTP/1.0 request,
 *	which cannot use it (RFC 9112 6.1).
 *
 * Side effects:
 *	Sets bodyKind in *req.
 *
 *----------------------------------------------------------------------
 */

static int
ParseTransferEncoding(
    const char *p,
    const char *end,
    DmRequest *req)
{
    DmSpan el;
    int count = 0, chunkedBefore = 0, lastChunked = 0;

    if (req->versionMinor == 0 || req->bodyKind != DM_BODY_NONE) {
	return 400;
    }
    while (NextElement(&p, end, &el)) {
	if (el.len == 0) {
	    return 400;
	}
	chunkedBefore |= lastChunked;
	lastChunked = DmEqualFold(el.ptr, el.len, "chunked");
	count++;
    }
    if (!lastChunked) {
	return (count == 1) ? 501 : 400;
    }
    if (chunkedBefore) {
	return 400;
    }
    if (count > 1) {
	return 501;
    }
    req->bodyKind = DM_BODY_CHUNKED;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseConnection --
 *
 *	Notes the "close" and "keep-alive" options of a Connection value.
 *	Other options (Upgrade and the like) concern features the server
 *	does not have, so they are ignored.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets CONN_* bits in *connPtr.
 *
 *----------------------------------------------------------------------
 */

static void
ParseConnection(
    const char *p,
    const char *end,
    int *connPtr)
{
    DmSpan el;

    while (NextElement(&p, end, &el)) {
	if (DmEqualFold(el.ptr, el.len, "close")) {
	    *connPtr |= CONN_CLOSE;
	} else if (DmEqualFold(el.ptr, el.len, "keep-alive")) {
	    *connPtr |= CONN_KEEPALIVE;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * KeepLine --
 *
 *	Keeps one line of a list field.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Adds the value to *listPtr, or sets its count to -1 past
 *	DM_MAX_LIST_LINES.
 *
 *----------------------------------------------------------------------
 */

static void
KeepLine(
    DmList *listPtr,
    const char *p,
    size_t n)
{
    if (listPtr->count == DM_MAX_LIST_LINES) {
	listPtr->count = -1;
    } else if (listPtr->count >= 0) {
	listPtr->line[listPtr->count].ptr = p;
	listPtr->line[listPtr->count++].len = n;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * KeepFirst --
 *
 *	Records a header value unless the same field was seen before.  The
 *	first occurrence wins: these fields are not lists the server
 *	combines, and ignoring later copies can only make a response less
 *	conditional, never wrong.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May set *spanPtr.
 *
 *----------------------------------------------------------------------
 */

static void
KeepFirst(
    DmSpan *spanPtr,
    const char *p,
    size_t n)
{
    if (spanPtr->ptr == NULL) {
	spanPtr->ptr = p;
	spanPtr->len = n;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ValidHost --
 *
 *	Whether a Host value, or the authority of an absolute-form target,
 *	is uri-host [":" port] (RFC 9112 3.2, RFC 3986 3.2.2): an IP literal
 *	in brackets or a reg-name (perhaps empty, its %-escapes whole), then
 *	perhaps a colon and digits.  No user information: RFC 9110 4.2.4
 *	makes it an error in an http URI.
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
ValidHost(
    const char *p,
    size_t len)
{
    const char *end = p + len;

    if (p < end && *p == '[') {
	const char *start = ++p;

	/*
	 * An IP literal's bytes (an IPv6 address, or IPvFuture's "v", hex
	 * digits, '.' and more), loosely: it is matched, not resolved.
	 */

	while (p < end && (HAS_CLASS(*p, CC_HOST) || *p == ':')) {
	    p++;
	}
	if (p == start || p == end || *p != ']') {
	    return 0;
	}
	p++;
    } else {
	for (;;) {
	    while (p < end && HAS_CLASS(*p, CC_HOST)) {
		p++;
	    }
	    if (p == end || *p != '%') {
		break;
	    }
	    if (end - p < 3 || DmHexValue(p[1]) < 0 || DmHexValue(p[2]) < 0) {
		return 0;
	    }
	    p += 3;
	}
    }
    if (p < end && *p == ':') {
	p++;
	while (p < end && IS_DIGIT(*p)) {
	    p++;
	}
    }
    return p == end;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseField --
 *
 *	Parses one header field line (RFC 9112 5), the line end already
 *	removed, and records what the server needs from it.
 *
 * Results:
 *	0, or the HTTP status to answer (400, 501).
 *
 * Side effects:
 *	Fills fields of *req and *fieldPtr; sets CONN_* bits in *connPtr.
 *
 *----------------------------------------------------------------------
 */

static int
ParseField(
    const char *p,
    const char *end,
    DmRequest *req,
    int *connPtr,
    DmField *fieldPtr)		/* Where the field is recorded, or NULL. */
{
    const char *q = p, *v, *ve;
    size_t nameLen, n;

    /*
     * A leading SP or HTAB is obs-fold (or whitespace before the first
     * field): RFC 9112 5.2 lets a server reject it, and unfolding would
     * need a copy.  Whitespace before the colon stops the name scan and
     * is rejected as RFC 9112 5.1 requires.
     */

    while (q < end && HAS_CLASS(*q, CC_TCHAR)) {
	q++;
    }
    if (q == p || q == end || *q != ':') {
	return 400;
    }
    nameLen = (size_t) (q - p);

    v = q + 1;
    ve = end;
    while (v < ve && IS_OWS(*v)) {
	v++;
    }
    while (ve > v && IS_OWS(ve[-1])) {
	ve--;
    }
    n = (size_t) (ve - v);
    if (nameLen == 4 && DmEqualFold(p, nameLen, "host")) {
	/*
	 * RFC 9112 3.2: a second Host, or a value that is not uri-host
	 * [":" port], gets 400.  Host bytes are value bytes: one scan.
	 */

	if (req->host.ptr != NULL || !ValidHost(v, n)) {
	    return 400;
	}
	req->host.ptr = v;
	req->host.len = n;
    } else {
	for (q = v; q < ve; q++) {
	    if (!HAS_CLASS(*q, CC_VALUE)) {
		return 400;
	    }
	}
    }
    if (fieldPtr != NULL) {
	fieldPtr->name.ptr = p;
	fieldPtr->name.len = nameLen;
	fieldPtr->value.ptr = v;
	fieldPtr->value.len = n;
    }

    switch (nameLen) {
    case 5:
	if (DmEqualFold(p, nameLen, "range")) {
	    KeepFirst(&req->range, v, n);
	}
	break;
    case 8:
	if (DmEqualFold(p, nameLen, "if-range")) {
	    KeepFirst(&req->ifRange, v, n);
	} else if (DmEqualFold(p, nameLen, "if-match")) {
	    KeepLine(&req->ifMatch, v, n);
	}
	break;
    case 10:
	if (DmEqualFold(p, nameLen, "connection")) {
	    ParseConnection(v, ve, connPtr);
	}
	break;
    case 13:
	if (DmEqualFold(p, nameLen, "if-none-match")) {
	    KeepLine(&req->ifNoneMatch, v, n);
	}
	break;
    case 14:
	if (DmEqualFold(p, nameLen, "content-length")) {
	    return ParseContentLength(v, n, req);
	}
	break;
    case 9:
	if (DmEqualFold(p, nameLen, "forwarded")) {
	    KeepLine(&req->forwarded, v, n);
	}
	break;
    case 15:
	if (DmEqualFold(p, nameLen, "accept-encoding")) {
	    KeepLine(&req->acceptEncoding, v, n);
	} else if (DmEqualFold(p, nameLen, "x-forwarded-for")) {
	    KeepLine(&req->xForwardedFor, v, n);
	}
	break;
    case 17:
	if (DmEqualFold(p, nameLen, "transfer-encoding")) {
	    return ParseTransferEncoding(v, ve, req);
	} else if (DmEqualFold(p, nameLen, "if-modified-since")) {
	    KeepFirst(&req->ifModifiedSince, v, n);
	}
	break;
    case 19:
	if (DmEqualFold(p, nameLen, "if-unmodified-since")) {
	    KeepFirst(&req->ifUnmodifiedSince, v, n);
	}
	break;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseRequest --
 *
 *	Parses the request head at the start of buf[0..len).  The caller
 *	may call again with a longer buffer (same start) after
 *	DM_PARSE_MORE; each call starts over, which is cheap for heads of a
 *	few hundred bytes and keeps no state between calls.
 *
 *	Lines end in CRLF or a bare LF (RFC 9112 2.2); a CR anywhere else
 *	fails the checks of the part it is in.  Complete lines are checked
 *	in order and limits are checked before content, so a longer buffer
 *	never turns an error into another error, and a prefix of a head
 *	gives either DM_PARSE_MORE or the same result as the whole head.
 *
 * Results:
 *	DM_PARSE_MORE if the head is incomplete; the head's length
 *	(through the empty line that ends it) if it is complete and valid;
 *	else a negated HTTP status: -400 malformed, -414 request line too
 *	long, -431 header block too long or too many fields, -501
 *	unsupported transfer coding, -505 HTTP major version not 1.
 *
 * Side effects:
 *	Fills *req, whose contents are meaningful only when the result is
 *	positive, but for the method: set once the request line is read.
 *
 *----------------------------------------------------------------------
 */

long
DmParseRequest(
    const char *buf,
    size_t len,
    const DmLimits *limits,
    DmRequest *req,
    DmField *fields)		/* Room for limits->maxHeaders fields, or
				 * NULL if they are not wanted. */
{
    static const DmRequest empty;
    const char *p = buf, *end = buf + len, *nl, *lineEnd, *fieldsStart;
    int emptyLines = 0, conn = 0, status;

    *req = empty;
    req->fields = fields;

    /*
     * Skip the empty lines some clients send after a body (RFC 9112 2.2),
     * but not without end.
     */

    for (;;) {
	if (p == end) {
	    return DM_PARSE_MORE;
	}
	if (*p == '\n') {
	    p++;
	} else if (*p == '\r') {
	    if (p + 1 == end) {
		return DM_PARSE_MORE;
	    }
	    if (p[1] != '\n') {
		break;
	    }
	    p += 2;
	} else {
	    break;
	}
	if (++emptyLines > MAX_LEADING_EMPTY) {
	    return -400;
	}
    }

    nl = memchr(p, '\n', (size_t) (end - p));
    if (nl == NULL) {
	size_t have = (size_t) (end - p);

	/*
	 * A final CR may be the first half of the line end.
	 */

	if (end[-1] == '\r') {
	    have--;
	}
	req->checkAt = (size_t) (p - buf) + limits->maxRequestLine + 1;
	return (have > limits->maxRequestLine) ? -414 : DM_PARSE_MORE;
    }
    lineEnd = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
    if ((size_t) (lineEnd - p) > limits->maxRequestLine) {
	return -414;
    }
    status = ParseRequestLine(p, lineEnd, req);
    if (status != 0) {
	return -status;
    }

    fieldsStart = p = nl + 1;
    for (;;) {
	nl = (p < end) ? memchr(p, '\n', (size_t) (end - p)) : NULL;
	if (nl == NULL) {
	    req->checkAt = (size_t) (fieldsStart - buf) + limits->maxHeadSize
		    + 1;
	    return ((size_t) (end - fieldsStart) > limits->maxHeadSize)
		    ? -431 : DM_PARSE_MORE;
	}
	if ((size_t) (nl + 1 - fieldsStart) > limits->maxHeadSize) {
	    return -431;
	}
	lineEnd = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
	if (lineEnd == p) {
	    break;
	}
	if (++req->numHeaders > limits->maxHeaders) {
	    return -431;
	}
	status = ParseField(p, lineEnd, req, &conn,
		fields ? &fields[req->numHeaders - 1] : NULL);
	if (status != 0) {
	    return -status;
	}
	p = nl + 1;
    }

    if (req->versionMinor >= 1 && req->host.ptr == NULL) {
	return -400;
    }
    if (req->target.ptr[0] != '/') {
	size_t authStart, authLen;

	/*
	 * RFC 9112 3.2.2: the host of an absolute-form target is the one
	 * served, whatever Host says; it must not be empty (RFC 9110 4.2.1
	 * for http, taken for every scheme).  Other forms are left to the
	 * path's normaliser.
	 */

	if (DmSplitTarget(req->target.ptr, req->target.len, &authStart,
		&authLen) > 0) {
	    if (authLen == 0 || !ValidHost(req->target.ptr + authStart,
		    authLen)) {
		return -400;
	    }
	    req->host.ptr = req->target.ptr + authStart;
	    req->host.len = authLen;
	}
    }
    if (conn & CONN_CLOSE) {
	req->keepAlive = 0;
    } else {
	req->keepAlive = (req->versionMinor >= 1 || (conn & CONN_KEEPALIVE));
    }
    return (long) (nl + 1 - buf);
}

/*
 *----------------------------------------------------------------------
 *
 * DmChunkedInit --
 *
 *	Readies a decoder for a new chunked body.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Resets *ch.
 *
 *----------------------------------------------------------------------
 */

void
DmChunkedInit(
    DmChunked *ch)
{
    static const DmChunked empty;

    *ch = empty;
}

/*
 *----------------------------------------------------------------------
 *
 * DmChunkedDecode --
 *
 *	Runs the chunked-body grammar of RFC 9112 7.1 over the next bytes
 *	of a body, and copies the chunk data to out (in order, without the
 *	framing) or discards it.  The state machine takes one byte
 *	at a time except inside chunk data, so any split of the input gives
 *	the same outcome.  Chunk extensions are skipped and trailer fields
 *	checked for shape only; size and trailer lines are capped at
 *	MAX_CHUNK_LINE bytes and trailers at MAX_TRAILERS, so a client
 *	cannot keep the decoder busy without sending data.  Every line of
 *	the framing must end in CRLF: a bare LF, which a lenient proxy in
 *	front may read differently, is a malformed body (request
 *	smuggling).
 *
 * Results:
 *	DM_CHUNKED_MORE with *consumedPtr = len: the body goes on.
 *	DM_CHUNKED_DONE with *consumedPtr = the bytes of buf up to and
 *	including the line end of the final empty line; what follows is
 *	the next request.  Called again after that, it returns
 *	DM_CHUNKED_DONE with *consumedPtr = 0.
 *	DM_CHUNKED_ERROR for a malformed body, and on every later call.
 *	*outLenPtr (if not NULL) says how many data bytes were written.
 *
 * Side effects:
 *	Advances the state in *ch; writes to out.
 *
 *----------------------------------------------------------------------
 */

int
DmChunkedDecode(
    DmChunked *ch,
    const char *buf,
    size_t len,
    size_t *consumedPtr,
    char *out,			/* Where chunk data goes (room for len
				 * bytes; may be buf itself), or NULL to
				 * discard it. */
    size_t *outLenPtr)		/* Data bytes written to out. */
{
    const char *p = buf, *end = buf + len;
    size_t outLen = 0;
    int c, d;

    while (p < end && ch->state != CH_DONE && ch->state != CH_ERROR) {
	if (ch->state == CH_DATA) {
	    size_t n = (size_t) (end - p);

	    if (n > ch->remaining) {
		n = (size_t) ch->remaining;
	    }
	    if (out != NULL) {
		memmove(out + outLen, p, n);
		outLen += n;
	    }
	    p += n;
	    ch->remaining -= n;
	    if (ch->remaining == 0) {
		ch->state = CH_DATA_END;
	    }
	    continue;
	}

	/*
	 * Every byte of a size or trailer line except its line end counts
	 * toward the line cap; every LF starts a new line.
	 */

	c = (unsigned char) *p++;
	if (c == '\n') {
	    ch->lineLen = 0;
	} else if (c != '\r' && ++ch->lineLen > MAX_CHUNK_LINE) {
	    ch->state = CH_ERROR;
	    break;
	}

	switch (ch->state) {
	case CH_SIZE:
	    d = DmHexValue(c);
	    if (d >= 0) {
		if (++ch->digits > MAX_CHUNK_DIGITS) {
		    ch->state = CH_ERROR;
		} else {
		    ch->remaining = (ch->remaining << 4) | (uint64_t) d;
		}
	    } else if (ch->digits == 0) {
		ch->state = CH_ERROR;
	    } else if (c == ';') {
		ch->state = CH_EXT;
	    } else if (IS_OWS(c)) {
		ch->state = CH_SIZE_WS;
	    } else if (c == '\r') {
		ch->state = CH_SIZE_CR;
	    } else {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_SIZE_WS:
	    if (c == ';') {
		ch->state = CH_EXT;
	    } else if (!IS_OWS(c)) {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_EXT:
	    if (c == '\r') {
		ch->state = CH_SIZE_CR;
	    } else if (!HAS_CLASS(c, CC_VALUE)) {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_SIZE_CR:
	    ch->state = (c == '\n') ? AFTER_SIZE_LINE(ch) : CH_ERROR;
	    break;
	case CH_DATA_END:
	    ch->state = (c == '\r') ? CH_DATA_CR : CH_ERROR;
	    break;
	case CH_DATA_CR:
	    ch->digits = 0;
	    ch->state = (c == '\n') ? CH_SIZE : CH_ERROR;
	    break;
	case CH_TRAILER:
	    if (c == '\r') {
		ch->state = CH_END_CR;
	    } else if (HAS_CLASS(c, CC_TCHAR)
		    && ++ch->trailers <= MAX_TRAILERS) {
		ch->state = CH_TNAME;
	    } else {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_TNAME:
	    if (c == ':') {
		ch->state = CH_TVALUE;
	    } else if (!HAS_CLASS(c, CC_TCHAR)) {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_TVALUE:
	    if (c == '\r') {
		ch->state = CH_TRAILER_CR;
	    } else if (!HAS_CLASS(c, CC_VALUE)) {
		ch->state = CH_ERROR;
	    }
	    break;
	case CH_TRAILER_CR:
	    ch->state = (c == '\n') ? CH_TRAILER : CH_ERROR;
	    break;
	case CH_END_CR:
	    ch->state = (c == '\n') ? CH_DONE : CH_ERROR;
	    break;
	}
    }

    if (outLenPtr != NULL) {
	*outLenPtr = outLen;
    }
    switch (ch->state) {
    case CH_ERROR:
	return DM_CHUNKED_ERROR;
    case CH_DONE:
	*consumedPtr = (size_t) (p - buf);
	return DM_CHUNKED_DONE;
    default:
	*consumedPtr = len;
	return DM_CHUNKED_MORE;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmHeadMayEnd --
 *
 *	Whether bytes that arrived after the first `from' ones of a head
 *	complete an empty line (LF LF or LF CR LF), which may end it.  Only
 *	the new bytes and the two before them are looked at, so a caller
 *	can wait for the end of a head that trickles in without parsing it
 *	again after every read.
 *
 * Results:
 *	1 if such an empty line ends in buf[from..len), else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmHeadMayEnd(
    const char *buf,
    size_t from,
    size_t len)
{
    const char *p = buf + (from >= 2 ? from - 2 : 0), *end = buf + len;

    while (p < end && (p = memchr(p, '\n', (size_t) (end - p))) != NULL) {
	if (p + 1 < end && (p[1] == '\n'
		|| (p[1] == '\r' && p + 2 < end && p[2] == '\n'))) {
	    return 1;
	}
	p++;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFindField --
 *
 *	The first header field of a parsed request with the given name.
 *
 * Results:
 *	The field, or NULL if there is none (or fields were not kept).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const DmField *
DmFindField(
    const DmRequest *req,
    const char *lowerName)	/* The name in lower case. */
{
    int i;

    if (req->fields == NULL) {
	return NULL;
    }
    for (i = 0; i < req->numHeaders; i++) {
	if (DmEqualFold(req->fields[i].name.ptr, req->fields[i].name.len,
		lowerName)) {
	    return &req->fields[i];
	}
    }
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmWantsContinue --
 *
 *	Whether a request waits for "100 Continue" before it sends its
 *	body (RFC 9110 10.1.1).
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmWantsContinue(
    const DmRequest *req)
{
    const DmField *f = DmFindField(req, "expect");

    return f != NULL && req->versionMinor >= 1
	    && DmEqualFold(f->value.ptr, f->value.len, "100-continue");
}

/*
 *----------------------------------------------------------------------
 *
 * DmIsToken --
 *
 *	Whether bytes form a token (RFC 9110 5.6.2): a method or a field
 *	name.
 *
 * Results:
 *	1 if s[0..len) is a token (len > 0), else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmIsToken(
    const char *s,
    size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
	if (!HAS_CLASS(s[i], CC_TCHAR)) {
	    return 0;
	}
    }
    return len > 0;
}
