/*
 * fuzzCond.c --
 *
 *	libFuzzer harness for conditional and range requests (generic/
 *	dmCond.c), the HTTP-date reader (DmParseHttpDate in
 *	generic/dmDate.c) and Accept-Encoding (generic/dmNego.c).  The first
 *	byte picks one:
 *	    0: a Range field, for a file size and a -maxranges taken from
 *	       the next 9 bytes; the ranges given back must be sorted,
 *	       apart, inside the file and no more bytes than it has.
 *	    1: an HTTP-date; one that reads must read the same again once
 *	       written as an IMF-fixdate.
 *	    2: the rest split at newlines into If-Match, If-None-Match,
 *	       If-Modified-Since, If-Unmodified-Since and If-Range values,
 *	       evaluated against a fixed validator: only 0, 304 or 412.
 *	    3: Accept-Encoding lines (split at newlines), for the codings
 *	       the next byte makes available: the choice is one of them or
 *	       identity, and never one the lines give the weight 0 ("q=0"
 *	       directly after its name, first mention).
 *	Each field lives in a block of exactly its size, so AddressSanitizer
 *	catches a read past it.  A broken check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmCond.h"
#include "dmDate.h"
#include "dmNego.h"
#include "fuzz.h"

#define NOW	INT64_C(1796000000)	/* 2026-11-30. */

/*
 *----------------------------------------------------------------------
 *
 * Ranges --
 *
 *	Checks DmParseRange's promises on one field.
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
Ranges(
    const uint8_t *data,
    size_t len)
{
    DmByteRange ranges[100];
    uint64_t size = 0, total = 0;
    int maxRanges, n = -1, r, i;
    char *field;

    if (len < 9) {
	return;
    }
    for (i = 0; i < 8; i++) {
	size = (size << 8) | data[i];
    }
    size >>= (data[0] & 63);		/* Small sizes too. */
    maxRanges = 1 + data[8] % 100;
    field = FuzzCopy(data + 9, len - 9);
    r = DmParseRange(field, len - 9, size, maxRanges, ranges, &n);
    CHECK(r == DM_RANGE_WHOLE || r == DM_RANGE_PARTIAL
	    || r == DM_RANGE_UNSATISFIABLE);
    if (r == DM_RANGE_PARTIAL) {
	CHECK(n >= 1 && n <= maxRanges);
	for (i = 0; i < n; i++) {
	    CHECK(ranges[i].first <= ranges[i].last);
	    CHECK(ranges[i].last < size);
	    CHECK(i == 0 || ranges[i].first > ranges[i - 1].last + 1);
	    total += ranges[i].last - ranges[i].first + 1;
	}
	CHECK(total <= size);
    } else {
	CHECK(n == 0);
    }
    free(field);
}

/*
 *----------------------------------------------------------------------
 *
 * Date --
 *
 *	A date that reads must survive being written and read again.
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
Date(
    const uint8_t *data,
    size_t len)
{
    char *s = FuzzCopy(data, len), out[DM_HTTP_DATE_LEN + 1];
    int64_t t, again;

    if (DmParseHttpDate(s, len, NOW, &t) == 0) {
	CHECK(t >= INT64_C(-62167219200) && t <= INT64_C(253402300799));
	DmFormatHttpDate(t, out);
	CHECK(DmParseHttpDate(out, DM_HTTP_DATE_LEN, NOW, &again) == 0);
	CHECK(again == t);
    }
    free(s);
}

/*
 *----------------------------------------------------------------------
 *
 * Preconditions --
 *
 *	Evaluates the five conditional fields against a validator.
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
Preconditions(
    const uint8_t *data,
    size_t len)
{
    static const char etag[] = "\"18ecc375ceec2760-a-a74096\"";
    DmSpan *spans[5];
    char *copies[5] = {NULL, NULL, NULL, NULL, NULL};
    DmValidator v;
    DmRequest req;
    size_t start = 0;
    int i, r;

    memset(&req, 0, sizeof(req));
    spans[0] = &req.ifMatch.line[0];
    spans[1] = &req.ifNoneMatch.line[0];
    spans[2] = &req.ifModifiedSince;
    spans[3] = &req.ifUnmodifiedSince;
    spans[4] = &req.ifRange;
    for (i = 0; i < 5 && start <= len; i++) {
	const uint8_t *nl = memchr(data + start, '\n', len - start);
	size_t end = nl ? (size_t) (nl - data) : len;

	copies[i] = FuzzCopy(data + start, end - start);
	spans[i]->ptr = copies[i];
	spans[i]->len = end - start;
	start = end + 1;
    }
    req.ifMatch.count = (req.ifMatch.line[0].ptr != NULL);
    req.ifNoneMatch.count = (req.ifNoneMatch.line[0].ptr != NULL);
    v.etag = etag;
    v.etagLen = sizeof(etag) - 1;
    v.mtime = NOW - 100;
    for (i = 0; i < 2; i++) {
	DmValidator none = {NULL, 0, DM_NO_MTIME};

	r = DmPreconditions(&req, i, &v, NOW);
	CHECK(r == 0 || r == 412 || (r == 304 && i == 1));

	/*
	 * Without validators no date counts: the result is that of the
	 * tag lists alone, where only "*" can match.
	 */

	r = DmPreconditions(&req, i, &none, NOW);
	CHECK(r == 0 || r == 412 || (r == 304 && i == 1));
	CHECK(r != 412 || req.ifMatch.count != 0 || req.ifNoneMatch.count != 0);
	CHECK(r != 304 || req.ifNoneMatch.count != 0);
    }
    r = DmIfRangeHolds(req.ifRange, &v, NOW);
    CHECK(r == 0 || r == 1);
    for (i = 0; i < 5; i++) {
	free(copies[i]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Names --
 *
 *	Whether an element of an Accept-Encoding field (spaces trimmed at
 *	its start) names a coding: alias, or the coding itself, in any case,
 *	followed by its end, a space, a tab or a ';'.
 *
 * Results:
 *	The length of the name matched, or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static size_t
Names(
    const char *s,
    size_t len,
    const char *name,
    const char *alias)
{
    const char *try[2];
    size_t k, i, n;

    try[0] = name;
    try[1] = alias;
    for (k = 0; k < 2 && try[k] != NULL; k++) {
	n = strlen(try[k]);
	if (len < n || (len > n && s[n] != ';' && s[n] != ' '
		&& s[n] != '\t')) {
	    continue;
	}
	for (i = 0; i < n && (s[i] | 0x20) == try[k][i]; i++) {
	}
	if (i == n) {
	    return n;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Refused --
 *
 *	Whether the field's first element naming a coding is exactly
 *	"NAME;q=0" (a refusal no reading of the rules can overturn).
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
Refused(
    const char *field,
    size_t len,
    const char *name,
    const char *alias)
{
    size_t i = 0;

    while (i < len) {
	size_t start = i, end, n;

	while (i < len && field[i] != ',' && field[i] != '\n') {
	    i++;
	}
	end = i++;
	while (start < end && (field[start] == ' ' || field[start] == '\t')) {
	    start++;
	}
	n = Names(field + start, end - start, name, alias);
	if (n > 0) {
	    return end - start == n + 4
		    && memcmp(field + start + n, ";q=0", 4) == 0;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Encoding --
 *
 *	Checks DmChooseEncoding's promises on one field.
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
Encoding(
    const uint8_t *data,
    size_t size)
{
    unsigned available;
    char *field;
    DmList lines;
    int e;
    size_t i, from = 0;

    if (size == 0) {
	return;
    }
    available = data[0] & (DM_ENC_BIT(DM_ENC_GZIP) | DM_ENC_BIT(DM_ENC_BR));
    field = FuzzAlloc(size - 1);
    memcpy(field, data + 1, size - 1);
    lines.count = 0;
    for (i = 0; i <= size - 1; i++) {
	if (i == size - 1 || field[i] == '\n') {
	    if (lines.count == DM_MAX_LIST_LINES) {
		lines.count = -1;
		break;
	    }
	    lines.line[lines.count].ptr = field + from;
	    lines.line[lines.count++].len = i - from;
	    from = i + 1;
	}
    }
    e = DmChooseEncoding(&lines, available);
    CHECK(e == DM_ENC_IDENTITY || (available & DM_ENC_BIT(e)));
    CHECK(e != DM_ENC_GZIP || !Refused(field, size - 1, "gzip", "x-gzip"));
    CHECK(e != DM_ENC_BR || !Refused(field, size - 1, "br", NULL));
    free(field);
}

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    static FuzzCase *const cases[] = {
	Ranges, Date, Preconditions, Encoding
    };

    return FuzzDispatch(data, size, cases, sizeof(cases) / sizeof(cases[0]));
}
