/*
 * fuzzRequest.c --
 *
 *	libFuzzer harness for the request-head parser (DmParseRequest in
 *	generic/dmHttp.c).  The first input byte chooses a split point, the
 *	rest is the request.  The request is parsed whole, then as the
 *	prefix before the split and whole again, the way the server sees a
 *	head arrive in two reads; the results must agree, a successful
 *	parse must describe the buffer it was given, and an unfinished one
 *	must keep its checkAt promise.  Each parse reads its
 *	own malloc'd copy of exactly the bytes it is given, so
 *	AddressSanitizer catches a read past the end.  A broken check calls
 *	abort(), which libFuzzer reports as a crash, with the input.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmHttp.h"
#include "fuzz.h"

/*
 * The server's default limits, and small ones that inputs of a few
 * hundred bytes (libFuzzer's usual lengths) can reach.
 */

static const DmLimits limitSets[] = {
    {8192, 16384, 100},
    {40, 120, 4}
};

#define NUM_LIMIT_SETS	(sizeof(limitSets) / sizeof(limitSets[0]))

/*
 * A parse result with its spans as offsets from the start of the parsed
 * block, so that parses of different copies of the input compare.
 * Absent spans have offset and length 0; present ones offset + 1.
 */

#define NUM_SPANS 8

typedef struct Parsed {
    long result;
    DmRequest req;
    size_t spanOff[NUM_SPANS];
    size_t spanLen[NUM_SPANS];
} Parsed;

/*
 *----------------------------------------------------------------------
 *
 * CheckSuccess --
 *
 *	Checks what DmParseRequest promises about a successful parse of
 *	buf[0..len) with the given limits.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the span offsets of *pPtr; aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static void
CheckSuccess(
    const char *buf,
    size_t len,
    const DmLimits *limits,
    Parsed *pPtr)
{
    const DmRequest *req = &pPtr->req;
    const DmSpan *spans[NUM_SPANS] = {
	&req->methodName, &req->target, &req->requestLine, &req->host,
	&req->range, &req->ifModifiedSince, &req->ifNoneMatch.line[0],
	&req->ifRange
    };
    size_t head = (size_t) pPtr->result;
    int i;

    CHECK(head <= len);
    CHECK(buf[head - 1] == '\n');
    for (i = 0; i < NUM_SPANS; i++) {
	const DmSpan *s = spans[i];

	if (s->ptr == NULL) {
	    CHECK(s->len == 0);
	    pPtr->spanOff[i] = pPtr->spanLen[i] = 0;
	    continue;
	}
	CHECK(s->ptr >= buf && s->ptr <= buf + head);
	CHECK(s->len <= (size_t) (buf + head - s->ptr));
	pPtr->spanOff[i] = (size_t) (s->ptr - buf) + 1;
	pPtr->spanLen[i] = s->len;
    }
    CHECK(req->methodName.len > 0 && req->target.len > 0);
    CHECK(req->requestLine.len <= limits->maxRequestLine);
    CHECK(req->method >= DM_METHOD_OTHER && req->method <= DM_METHOD_PATCH);
    CHECK((req->method == DM_METHOD_GET) == (req->methodName.len == 3
	    && memcmp(req->methodName.ptr, "GET", 3) == 0));
    CHECK((req->method == DM_METHOD_HEAD) == (req->methodName.len == 4
	    && memcmp(req->methodName.ptr, "HEAD", 4) == 0));
    CHECK((req->method == DM_METHOD_POST) == (req->methodName.len == 4
	    && memcmp(req->methodName.ptr, "POST", 4) == 0));
    CHECK(req->versionMinor == 0 || req->versionMinor == 1);
    CHECK(req->versionMinor == 0 || req->host.ptr != NULL);
    CHECK(req->keepAlive == 0 || req->keepAlive == 1);
    CHECK(req->bodyKind == DM_BODY_NONE || req->bodyKind == DM_BODY_LENGTH
	    || req->bodyKind == DM_BODY_CHUNKED);
    CHECK(req->bodyKind != DM_BODY_CHUNKED || req->versionMinor == 1);
    CHECK(req->bodyKind == DM_BODY_LENGTH || req->contentLength == 0);
    CHECK(req->contentLength < UINT64_C(1000000000000000000));
    CHECK(req->numHeaders >= 0 && req->numHeaders <= limits->maxHeaders);

    /*
     * Every field is kept: a token name, then ':', then the value with
     * no white space at either end, all inside the head, in order.
     */

    for (i = 0; i < req->numHeaders; i++) {
	const DmField *f = &req->fields[i];
	size_t k;

	CHECK(f->name.ptr >= buf && f->name.len > 0
		&& f->name.ptr + f->name.len < buf + head
		&& f->name.ptr[f->name.len] == ':');
	CHECK(f->value.ptr > f->name.ptr + f->name.len
		&& f->value.ptr + f->value.len <= buf + head);
	CHECK(i == 0 || f->name.ptr > req->fields[i - 1].value.ptr
		+ req->fields[i - 1].value.len);
	if (f->value.len > 0) {
	    CHECK(f->value.ptr[0] != ' ' && f->value.ptr[0] != '\t'
		    && f->value.ptr[f->value.len - 1] != ' '
		    && f->value.ptr[f->value.len - 1] != '\t');
	}
	for (k = 0; k < f->value.len; k++) {
	    CHECK(f->value.ptr[k] != '\r' && f->value.ptr[k] != '\n'
		    && f->value.ptr[k] != '\0');
	}
    }
    /*
     * HTTP/1.1 sent Host; the host served is its value, or the non-empty
     * authority of an absolute-form target, without user information.
     */

    CHECK(req->versionMinor == 0 || DmFindField(req, "host") != NULL);
    if (req->host.ptr != NULL) {
	const DmField *h = DmFindField(req, "host");

	if (req->host.ptr >= req->target.ptr
		&& req->host.ptr < req->target.ptr + req->target.len) {
	    CHECK(req->target.ptr[0] != '/' && req->host.len > 0
		    && req->host.ptr + req->host.len
		    <= req->target.ptr + req->target.len
		    && memchr(req->host.ptr, '@', req->host.len) == NULL);
	} else {
	    CHECK(h != NULL && h->value.ptr == req->host.ptr);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Parse --
 *
 *	Parses data[0..len) from a fresh block of exactly len bytes and
 *	checks the result.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *pPtr; aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static void
Parse(
    const uint8_t *data,
    size_t len,
    const DmLimits *limits,
    Parsed *pPtr)
{
    char *buf = FuzzCopy(data, len);
    DmField *fields = (DmField *) FuzzAlloc(limits->maxHeaders
	    * sizeof(DmField));

    pPtr->result = DmParseRequest(buf, len, limits, &pPtr->req, fields);
    if (pPtr->result > 0) {
	CheckSuccess(buf, len, limits, pPtr);
    } else {
	long r = pPtr->result;

	CHECK(r == DM_PARSE_MORE || r == -400 || r == -414 || r == -431
		|| r == -501 || r == -505);
    }
    pPtr->req.fields = NULL;		/* Freed below. */
    free(fields);
    free(buf);
}

/*
 *----------------------------------------------------------------------
 *
 * SameRequest --
 *
 *	Compares two successful parses field by field (the structures may
 *	differ in padding and in where their buffers were).
 *
 * Results:
 *	1 if they describe the same head, else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
SameRequest(
    const Parsed *a,
    const Parsed *b)
{
    return a->result == b->result
	    && a->req.method == b->req.method
	    && a->req.versionMinor == b->req.versionMinor
	    && a->req.keepAlive == b->req.keepAlive
	    && a->req.bodyKind == b->req.bodyKind
	    && a->req.contentLength == b->req.contentLength
	    && a->req.numHeaders == b->req.numHeaders
	    && memcmp(a->spanOff, b->spanOff, sizeof(a->spanOff)) == 0
	    && memcmp(a->spanLen, b->spanLen, sizeof(a->spanLen)) == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	Runs the parser over one input with each set of limits: whole,
 *	split, and whole again.
 *
 * Results:
 *	0 (libFuzzer's "input processed").
 *
 * Side effects:
 *	Aborts the process if the parser broke a promise.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    const uint8_t *request;
    size_t len, split, k;

    if (size == 0) {
	return 0;
    }
    request = data + 1;
    len = size - 1;

    /*
     * The 256 selector values spread over 0..len, so every split point
     * of a request shorter than 256 bytes can be chosen.
     */

    split = (size_t) data[0] * (len + 1) / 256;

    for (k = 0; k < NUM_LIMIT_SETS; k++) {
	const DmLimits *limits = &limitSets[k];
	Parsed whole, part, again;

	Parse(request, len, limits, &whole);
	Parse(request, split, limits, &part);
	Parse(request, len, limits, &again);

	/*
	 * A prefix asks for more, fails as the whole does, or holds the
	 * whole head, which it then describes exactly as the whole does.
	 */

	if (part.result > 0) {
	    CHECK((size_t) part.result <= split);
	    CHECK(SameRequest(&part, &whole));
	} else if (part.result < 0) {
	    CHECK(part.result == whole.result);
	}
	if (whole.result > 0 && (size_t) whole.result <= split) {
	    CHECK(part.result == whole.result);
	}

	/*
	 * What the server relies on to skip parsing a head that grows:
	 * until a line ends or checkAt is reached, more bytes cannot
	 * change an unfinished head's result.
	 */

	if (part.result == DM_PARSE_MORE && len < part.req.checkAt
		&& memchr(request + split, '\n', len - split) == NULL) {
	    CHECK(whole.result == DM_PARSE_MORE);
	}

	/*
	 * The parser keeps no state between calls.
	 */

	CHECK(again.result == whole.result);
	if (whole.result > 0) {
	    CHECK(SameRequest(&again, &whole));
	}
    }
    return 0;
}
