/*
 * fuzzForm.c --
 *
 *	libFuzzer harness for the form decoders of generic/dmForm.c.  The
 *	first input byte picks one: even, the rest is a query string or
 *	urlencoded body for DmFormNext and DmFormDecode; odd, the rest is a
 *	Content-Type value, a newline, and a multipart/form-data body for
 *	DmMultipartInit, DmMultipartNext and DmUnquote.  Each input lives in
 *	a block of exactly its size, so AddressSanitizer catches a read past
 *	it; every span given back must lie inside the input, and every
 *	decoded value within its bound.  A broken check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmForm.h"
#include "fuzz.h"

/*
 * Whether a span lies inside [base, base + n).
 */

static int
Inside(
    DmSpan s,
    const char *base,
    size_t n)
{
    return s.ptr >= base && s.ptr + s.len <= base + n;
}

/*
 *----------------------------------------------------------------------
 *
 * Pairs --
 *
 *	Takes a query string apart and decodes every key and value.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static void
Pairs(
    const uint8_t *data,
    size_t len)
{
    char *in = FuzzCopy(data, len), *out = FuzzAlloc(len);
    const char *p = in, *end = in + len, *last = in;
    DmSpan key, value;
    size_t pairs = 0;

    while (DmFormNext(&p, end, &key, &value)) {
	CHECK(p > last && p <= end);	/* Progress, and inside. */
	last = p;
	CHECK(Inside(key, in, len) && Inside(value, in, len));
	CHECK(memchr(key.ptr, '&', key.len) == NULL);
	CHECK(memchr(value.ptr, '&', value.len) == NULL);
	CHECK(DmFormDecode(key.ptr, key.len, out) <= key.len);
	CHECK(DmFormDecode(value.ptr, value.len, out) <= value.len);
	CHECK(++pairs <= len);
    }
    free(in);
    free(out);
}

/*
 *----------------------------------------------------------------------
 *
 * Parts --
 *
 *	Takes a multipart body apart: every part's spans inside the body,
 *	its data followed by a delimiter, names unquoted within bounds.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static void
Parts(
    const uint8_t *data,
    size_t len)
{
    const uint8_t *nl = memchr(data, '\n', len);
    size_t typeLen = nl ? (size_t) (nl - data) : len;
    size_t bodyLen = nl ? len - typeLen - 1 : 0;
    char *type = FuzzCopy(data, typeLen);
    char *body = FuzzCopy(nl ? nl + 1 : data + len, bodyLen);
    char *out = FuzzAlloc(bodyLen);
    DmMultipart mp;
    DmPart part;
    int r, parts = 0;

    if (DmMultipartInit(&mp, type, typeLen, body, bodyLen) == 0) {
	CHECK(mp.boundary.len >= 1 && mp.boundary.len <= 70);
	CHECK(Inside(mp.boundary, type, typeLen));
	CHECK(mp.pos <= bodyLen);
	while ((r = DmMultipartNext(&mp, &part)) > 0) {
	    CHECK(++parts <= DM_MULTIPART_MAX_PARTS);
	    CHECK(mp.pos <= bodyLen);
	    CHECK(Inside(part.name, body, bodyLen));
	    CHECK(Inside(part.data, body, bodyLen));
	    CHECK(part.filename.ptr == NULL
		    || Inside(part.filename, body, bodyLen));
	    CHECK(part.type.ptr == NULL || Inside(part.type, body, bodyLen));

	    /*
	     * The data ends where a delimiter starts: CRLF "--" boundary.
	     */

	    CHECK(part.data.ptr + part.data.len + 4 + mp.boundary.len
		    <= body + bodyLen);
	    CHECK(memcmp(part.data.ptr + part.data.len, "\r\n--", 4) == 0);
	    CHECK(memcmp(part.data.ptr + part.data.len + 4, mp.boundary.ptr,
		    mp.boundary.len) == 0);
	    CHECK(DmUnquote(part.name.ptr, part.name.len, out)
		    <= part.name.len);
	    if (part.filename.ptr != NULL) {
		CHECK(DmUnquote(part.filename.ptr, part.filename.len, out)
			<= part.filename.len);
	    }
	}
	CHECK(r == 0 || r == -1);
	if (r == 0) {
	    CHECK(DmMultipartNext(&mp, &part) == 0);	/* Stays ended. */
	}
    }
    free(type);
    free(body);
    free(out);
}

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    static FuzzCase *const cases[] = {
	Pairs, Parts
    };

    return FuzzDispatch(data, size, cases, sizeof(cases) / sizeof(cases[0]));
}
