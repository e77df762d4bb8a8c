/*
 * condUnit.c --
 *
 *	Unit tests of conditional and range requests (generic/dmCond.c) and
 *	of the HTTP-date reader (DmParseHttpDate in generic/dmDate.c): the
 *	three date forms and bad ones, entity-tag lists, the order of the
 *	preconditions, If-Range, Range fields with their limits, and the
 *	choice of a content coding by Accept-Encoding (generic/dmNego.c).
 *	Build and run:
 *
 *	    cc -Igeneric tests/unit/condUnit.c generic/dmCond.c \
 *		generic/dmDate.c generic/dmHttp.c generic/dmNego.c -o condUnit
 *	    ./condUnit
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmCond.h"
#include "dmDate.h"
#include "dmNego.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NOW	INT64_C(1796000000)	/* Tue, 01 Dec 2026 ... */
#define MTIME	INT64_C(784111777)	/* Sun, 06 Nov 1994 08:49:37 GMT */

static int passed, failed;

/*
 *----------------------------------------------------------------------
 *
 * Check --
 *
 *	Counts one check, printing it if it failed.
 *
 *----------------------------------------------------------------------
 */

static void
Check(
    int ok,
    const char *what,
    const char *input)
{
    if (ok) {
	passed++;
    } else {
	failed++;
	printf("FAILED: %s: \"%s\"\n", what, input);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Span --
 *
 *	A span over a C string (NULL: absent).
 *
 *----------------------------------------------------------------------
 */

static DmSpan
Span(
    const char *s)
{
    DmSpan span;

    span.ptr = s;
    span.len = s ? strlen(s) : 0;
    return span;
}

/*
 *----------------------------------------------------------------------
 *
 * Dates --
 *
 *	The three forms of RFC 9110 5.6.7, and what is not a date.
 *
 *----------------------------------------------------------------------
 */

static void
Dates(void)
{
    static const struct {
	const char *text;
	int ok;
	int64_t seconds;
    } cases[] = {
	{"Sun, 06 Nov 1994 08:49:37 GMT", 1, MTIME},
	{"Sunday, 06-Nov-94 08:49:37 GMT", 1, MTIME},
	{"Sun Nov  6 08:49:37 1994", 1, MTIME},
	{"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
	{"Tue, 29 Feb 2000 23:59:59 GMT", 1, 951868799},
	{"Fri, 31 Dec 9999 23:59:59 GMT", 1, INT64_C(253402300799)},
	{"Wed, 31 Dec 1969 23:59:60 GMT", 1, -1},	/* Leap second. */
	{"Thursday, 01-Jan-70 00:00:00 GMT", 1, INT64_C(3155760000)},
				/* 2070: within 50 years of 2026. */
	{"Monday, 01-Jan-76 00:00:00 GMT", 1, INT64_C(3345062400)},
				/* 2076: within 50 years of 2026. */
	{"Friday, 01-Jan-77 00:00:00 GMT", 1, 220924800},
				/* 1977: 2077 would be more than 50. */
	{"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37 GMT ", 0, 0},
	{"Sun, 6 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 06 nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 31 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 29 Feb 1900 08:49:37 GMT", 0, 0},
	{"Sun, 06 Nov 1994 24:00:00 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08:60:00 GMT", 0, 0},
	{"Sun, 06 Nov 19a4 08:49:37 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08-49-37 GMT", 0, 0},
	{"Sun Nov 06 08:49:37 1994 ", 0, 0},
	{"1994-11-06T08:49:37Z", 0, 0},
	{"", 0, 0},
	{"-1", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	int64_t t = -999;
	int r = DmParseHttpDate(cases[i].text, strlen(cases[i].text), NOW, &t);

	Check(cases[i].ok ? (r == 0 && t == cases[i].seconds) : r < 0,
		"date", cases[i].text);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ETags --
 *
 *	Lists, "*", weak and strong comparison, malformed elements.
 *
 *----------------------------------------------------------------------
 */

static void
ETags(void)
{
    static const char tag[] = "\"abc-1\"";
    static const struct {
	const char *list;
	int strong, weak;
    } cases[] = {
	{"\"abc-1\"", 1, 1},
	{"W/\"abc-1\"", 0, 1},
	{"\"x\", \"abc-1\"", 1, 1},
	{" ,, \"x\" ,\t\"abc-1\" ,", 1, 1},
	{"*", 1, 1},
	{"\"abc\"", 0, 0},
	{"\"abc-1", 0, 0},
	{"abc-1", 0, 0},
	{"\"x\"junk, \"abc-1\"", 0, 0},
	{"w/\"abc-1\"", 0, 0},
	{"", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	Check(DmETagListMatch(Span(cases[i].list), tag, sizeof(tag) - 1, 0)
		== cases[i].strong, "etag strong", cases[i].list);
	Check(DmETagListMatch(Span(cases[i].list), tag, sizeof(tag) - 1, 1)
		== cases[i].weak, "etag weak", cases[i].list);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Preconditions --
 *
 *	RFC 9110 13.2.2's order, for GET (getOrHead 1) and PUT-like
 *	methods (0).
 *
 *----------------------------------------------------------------------
 */

static void
Preconditions(void)
{
    static const char tag[] = "\"abc-1\"";
    static const struct {
	const char *ifMatch, *ifUnmodifiedSince, *ifNoneMatch,
		*ifModifiedSince;
	int get, other;
	int none;		/* 1: no tag, DM_NO_MTIME (a listing). */
    } cases[] = {
	{NULL, NULL, NULL, NULL, 0, 0, 0},
	{"\"abc-1\"", NULL, NULL, NULL, 0, 0, 0},
	{"\"nope\"", NULL, NULL, NULL, 412, 412, 0},
	{"W/\"abc-1\"", NULL, NULL, NULL, 412, 412, 0},	/* Strong only. */
	{"*", NULL, NULL, NULL, 0, 0, 0},
	{NULL, "Sun, 06 Nov 1994 08:49:37 GMT", NULL, NULL, 0, 0, 0},
	{NULL, "Sun, 06 Nov 1994 08:49:36 GMT", NULL, NULL, 412, 412, 0},
	{NULL, "not a date", NULL, NULL, 0, 0, 0},
	/* If-Match wins over If-Unmodified-Since. */
	{"\"abc-1\"", "Sun, 06 Nov 1994 08:49:36 GMT", NULL, NULL, 0, 0, 0},
	{NULL, NULL, "\"abc-1\"", NULL, 304, 412, 0},
	{NULL, NULL, "W/\"abc-1\"", NULL, 304, 412, 0},	/* Weak will do. */
	{NULL, NULL, "*", NULL, 304, 412, 0},
	{NULL, NULL, "\"nope\"", NULL, 0, 0, 0},
	{NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 304, 0, 0},
	{NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:36 GMT", 0, 0, 0},
	{NULL, NULL, NULL, "Sat, 01 Jan 2050 00:00:00 GMT", 0, 0, 0},
				/* In the future: ignored. */
	{NULL, NULL, NULL, "yesterday", 0, 0, 0},
	/* If-None-Match wins over If-Modified-Since. */
	{NULL, NULL, "\"nope\"", "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0, 0},
	{"\"nope\"", NULL, "\"abc-1\"", NULL, 412, 412, 0},
	/* No validators: only "*" matches, dates are ignored. */
	{"\"abc-1\"", NULL, NULL, NULL, 412, 412, 1},
	{"*", NULL, NULL, NULL, 0, 0, 1},
	{NULL, "Sun, 06 Nov 1994 08:49:36 GMT", NULL, NULL, 0, 0, 1},
	{NULL, NULL, "*", NULL, 304, 412, 1},
	{NULL, NULL, "\"abc-1\"", NULL, 0, 0, 1},
	{NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 0, 0, 1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	DmRequest req;
	DmValidator v;
	char what[32];

	memset(&req, 0, sizeof(req));
	req.ifMatch.line[0] = Span(cases[i].ifMatch);
	req.ifMatch.count = (cases[i].ifMatch != NULL);
	req.ifUnmodifiedSince = Span(cases[i].ifUnmodifiedSince);
	req.ifNoneMatch.line[0] = Span(cases[i].ifNoneMatch);
	req.ifNoneMatch.count = (cases[i].ifNoneMatch != NULL);
	req.ifModifiedSince = Span(cases[i].ifModifiedSince);
	v.etag = cases[i].none ? NULL : tag;
	v.etagLen = cases[i].none ? 0 : sizeof(tag) - 1;
	v.mtime = cases[i].none ? DM_NO_MTIME : MTIME;
	snprintf(what, sizeof(what), "preconditions case %d", (int) i);
	Check(DmPreconditions(&req, 1, &v, NOW) == cases[i].get, what, "GET");
	Check(DmPreconditions(&req, 0, &v, NOW) == cases[i].other, what,
		"other");
    }
}

/*
 *----------------------------------------------------------------------
 *
 * IfRange --
 *
 *	Strong entity-tags, exact dates, and a date too recent to trust.
 *
 *----------------------------------------------------------------------
 */

static void
IfRange(void)
{
    static const char tag[] = "\"abc-1\"";
    DmValidator v;

    v.etag = tag;
    v.etagLen = sizeof(tag) - 1;
    v.mtime = MTIME;
    Check(DmIfRangeHolds(Span(NULL), &v, NOW) == 1, "if-range", "absent");
    Check(DmIfRangeHolds(Span("\"abc-1\""), &v, NOW) == 1, "if-range",
	    "\"abc-1\"");
    Check(DmIfRangeHolds(Span("W/\"abc-1\""), &v, NOW) == 0, "if-range",
	    "W/\"abc-1\"");
    Check(DmIfRangeHolds(Span("\"old\""), &v, NOW) == 0, "if-range",
	    "\"old\"");
    Check(DmIfRangeHolds(Span("Sun, 06 Nov 1994 08:49:37 GMT"), &v, NOW)
	    == 1, "if-range", "exact date");
    Check(DmIfRangeHolds(Span("Sun, 06 Nov 1994 08:49:38 GMT"), &v, NOW)
	    == 0, "if-range", "later date");
    Check(DmIfRangeHolds(Span("Sun, 06 Nov 1994 08:49:37 GMT"), &v, MTIME)
	    == 0, "if-range", "modified this second");
    Check(DmIfRangeHolds(Span("junk"), &v, NOW) == 0, "if-range", "junk");
}

/*
 *----------------------------------------------------------------------
 *
 * Ranges --
 *
 *	Range fields for a 10-byte file (and a few other sizes): the
 *	result and the ranges given back, as "first-last,..." text.
 *
 *----------------------------------------------------------------------
 */

static void
Ranges(void)
{
    static const struct {
	const char *field;
	uint64_t size;
	int maxRanges;
	int result;
	const char *ranges;
    } cases[] = {
	{"bytes=0-4", 10, 16, DM_RANGE_PARTIAL, "0-4"},
	{"bytes=-5", 10, 16, DM_RANGE_PARTIAL, "5-9"},
	{"bytes=-50", 10, 16, DM_RANGE_PARTIAL, "0-9"},
	{"bytes=5-", 10, 16, DM_RANGE_PARTIAL, "5-9"},
	{"bytes=5-100", 10, 16, DM_RANGE_PARTIAL, "5-9"},
	{"bytes=10-", 10, 16, DM_RANGE_UNSATISFIABLE, ""},
	{"bytes=10-20", 10, 16, DM_RANGE_UNSATISFIABLE, ""},
	{"bytes=-0", 10, 16, DM_RANGE_UNSATISFIABLE, ""},
	{"bytes=0-0,-1", 10, 16, DM_RANGE_PARTIAL, "0-0,9-9"},
	{"bytes=0-2,3-5", 10, 16, DM_RANGE_PARTIAL, "0-5"},
	{"bytes=4-6,0-1,5-8", 10, 16, DM_RANGE_PARTIAL, "0-1,4-8"},
	{"BYTES = 0-1", 10, 16, DM_RANGE_WHOLE, ""},
	{"Bytes=0-1", 10, 16, DM_RANGE_PARTIAL, "0-1"},
	{"bytes=0-1,20-30", 10, 16, DM_RANGE_PARTIAL, "0-1"},
	{"bytes= 0-1 , ,2-3", 10, 16, DM_RANGE_PARTIAL, "0-3"},
	{"bytes=5-4", 10, 16, DM_RANGE_WHOLE, ""},
	{"bytes=a-b", 10, 16, DM_RANGE_WHOLE, ""},
	{"bytes=", 10, 16, DM_RANGE_WHOLE, ""},
	{"bytes=0-1x", 10, 16, DM_RANGE_WHOLE, ""},
	{"items=0-1", 10, 16, DM_RANGE_WHOLE, ""},
	{"bytes=0-0,1-1,2-2", 10, 2, DM_RANGE_WHOLE, ""},
	{"bytes=0-9,0-9", 10, 16, DM_RANGE_WHOLE, ""},	/* 20 of 10 bytes. */
	{"bytes=0-", 0, 16, DM_RANGE_UNSATISFIABLE, ""},
	{"bytes=-1", 0, 16, DM_RANGE_WHOLE, ""},	/* RFC 9110 14.1.1. */
	{"bytes=-0", 0, 16, DM_RANGE_UNSATISFIABLE, ""},
	{"bytes=99999999999999999999999-", 10, 16, DM_RANGE_UNSATISFIABLE,
	    ""},
	{"bytes=0-99999999999999999999999", 10, 16, DM_RANGE_PARTIAL, "0-9"},
	{"bytes=4294967296-", 5000000000ULL, 16, DM_RANGE_PARTIAL,
	    "4294967296-4999999999"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	DmByteRange ranges[16];
	char text[256] = "";
	int n = -1, k, r;

	r = DmParseRange(cases[i].field, strlen(cases[i].field),
		cases[i].size, cases[i].maxRanges, ranges, &n);
	for (k = 0; r == DM_RANGE_PARTIAL && k < n; k++) {
	    snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "%s%" PRIu64 "-%" PRIu64, k ? "," : "", ranges[k].first,
		    ranges[k].last);
	}
	Check(r == cases[i].result && strcmp(text, cases[i].ranges) == 0,
		"range", cases[i].field);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ETagFormat --
 *
 *	The tag's form, and that every part of the version changes it.
 *
 *----------------------------------------------------------------------
 */

static void
ETagFormat(void)
{
    char a[DM_ETAG_MAX + 1], b[DM_ETAG_MAX + 1];
    size_t n;

    n = DmFormatETag(INT64_C(0x18ecc375ceec2760), 10, 0xa74096, 0x803, a);
    a[n] = '\0';
    Check(strcmp(a, "\"18ecc375ceec2760-a-a74096-803\"") == 0, "etag form",
	    a);
    n = DmFormatETag(-1, UINT64_MAX, UINT64_MAX, UINT64_MAX, a);
    Check(DmETagVariant(a, n, DM_ENC_GZIP, a) == DM_ETAG_MAX,
	    "etag longest", "");
    n = DmFormatETag(1, 1, 1, 1, a);
    a[n] = '\0';
    n = DmFormatETag(2, 1, 1, 1, b);
    b[n] = '\0';
    Check(strcmp(a, b) != 0, "etag changes", b);
    n = DmFormatETag(1, 1, 1, 2, b);
    b[n] = '\0';
    Check(strcmp(a, b) != 0, "etag names the device", b);
}

/*
 *----------------------------------------------------------------------
 *
 * Encodings --
 *
 *	Accept-Encoding: weights, identity and "*", ties, malformed
 *	elements, what is available; and the tags of the codings.
 *
 *----------------------------------------------------------------------
 */

static void
Encodings(void)
{
    static const struct {
	const char *field;
	unsigned available;
	int want;
    } cases[] = {
#define BOTH (DM_ENC_BIT(DM_ENC_GZIP) | DM_ENC_BIT(DM_ENC_BR))
#define GZ DM_ENC_BIT(DM_ENC_GZIP)
	{"gzip, deflate, br", BOTH, DM_ENC_BR},
	{"gzip, deflate, br", GZ, DM_ENC_GZIP},
	{"gzip, deflate", BOTH, DM_ENC_GZIP},
	{"GZIP", BOTH, DM_ENC_GZIP},
	{"x-gzip", BOTH, DM_ENC_GZIP},
	{"br;q=0.5, gzip", BOTH, DM_ENC_GZIP},
	{"br;q=1.0, gzip;q=0.999", BOTH, DM_ENC_BR},
	{"br ; q=0.5 , gzip ; Q=0.4", BOTH, DM_ENC_BR},
	{"gzip;q=0", BOTH, DM_ENC_IDENTITY},
	{"", BOTH, DM_ENC_IDENTITY},
	{"identity", BOTH, DM_ENC_IDENTITY},
	{"*", BOTH, DM_ENC_BR},
	{"*", GZ, DM_ENC_GZIP},
	{"*;q=0.5, identity", BOTH, DM_ENC_IDENTITY},
	{"*;q=0, gzip", BOTH, DM_ENC_GZIP},
	{"br;q=0, *", BOTH, DM_ENC_GZIP},
	{"identity;q=0", BOTH, DM_ENC_IDENTITY},	/* Nothing else: sent
							 * as it is. */
	{"gzip;q=0.5, identity;q=0.6", BOTH, DM_ENC_IDENTITY},
	{"gzip;q=0.5, identity;q=0.5", BOTH, DM_ENC_GZIP},
	{"gzip;q=2", BOTH, DM_ENC_IDENTITY},	/* Not a qvalue. */
	{"gzip;q=0.1234", BOTH, DM_ENC_IDENTITY},
	{"gzip;q=1.001", BOTH, DM_ENC_IDENTITY},
	{"gzip;q=", BOTH, DM_ENC_IDENTITY},
	{"gzip;level=9", BOTH, DM_ENC_IDENTITY},
	{"gzip junk, br", BOTH, DM_ENC_BR},
	{"gzip;q=0, gzip", BOTH, DM_ENC_IDENTITY},	/* First counts. */
	{"brotli, gzipx, gz", BOTH, DM_ENC_IDENTITY},
	{",,, ,gzip,,", BOTH, DM_ENC_GZIP},
	{"br", 0, DM_ENC_IDENTITY},
#undef BOTH
#undef GZ
    };
    const unsigned all = DM_ENC_BIT(DM_ENC_GZIP) | DM_ENC_BIT(DM_ENC_BR);
    char tag[DM_ETAG_MAX + 1];
    DmList field;
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	field.count = 1;
	field.line[0] = Span(cases[i].field);
	Check(DmChooseEncoding(&field, cases[i].available) == cases[i].want,
		"accept-encoding", cases[i].field);
    }
    field.count = 0;
    Check(DmChooseEncoding(&field, all) == DM_ENC_IDENTITY,
	    "no accept-encoding", "");

    /*
     * Lines of one list (RFC 9110 5.3): a refusal in a later line holds.
     */

    field.count = 2;
    field.line[0] = Span("*");
    field.line[1] = Span("br;q=0");
    Check(DmChooseEncoding(&field, all) == DM_ENC_GZIP, "two lines",
	    "*; br;q=0");
    field.line[0] = Span("br;q=0");
    field.line[1] = Span("gzip");
    Check(DmChooseEncoding(&field, all) == DM_ENC_GZIP, "two lines",
	    "br;q=0; gzip");
    field.line[0] = Span("gzip;q=0");
    field.line[1] = Span("gzip");
    Check(DmChooseEncoding(&field, all) == DM_ENC_IDENTITY, "two lines",
	    "gzip;q=0; gzip");
    field.count = -1;
    Check(DmChooseEncoding(&field, all) == DM_ENC_IDENTITY,
	    "too many lines", "");
    n = DmETagVariant("\"1-2-3\"", 7, DM_ENC_BR, tag);
    tag[n] = '\0';
    Check(strcmp(tag, "\"1-2-3-br\"") == 0, "etag of br", tag);
    n = DmETagVariant("\"1-2-3\"", 7, DM_ENC_GZIP, tag);
    tag[n] = '\0';
    Check(strcmp(tag, "\"1-2-3-gz\"") == 0, "etag of gzip", tag);
    n = DmETagVariant("\"1-2-3\"", 7, DM_ENC_IDENTITY, tag);
    tag[n] = '\0';
    Check(strcmp(tag, "\"1-2-3\"") == 0, "etag of identity", tag);
    Check(strcmp(DmEncodingName(DM_ENC_GZIP), "gzip") == 0
	    && strcmp(DmEncodingName(DM_ENC_BR), "br") == 0, "names", "");
}

/*
 *----------------------------------------------------------------------
 *
 * IsoDates --
 *
 *	The listing's date form.
 *
 *----------------------------------------------------------------------
 */

static void
IsoDates(void)
{
    char buf[DM_ISO_DATE_LEN + 1];

    DmFormatIsoDate(MTIME, buf);
    Check(strcmp(buf, "1994-11-06T08:49:37Z") == 0, "iso date", buf);
    DmFormatIsoDate(INT64_C(951782400), buf);
    Check(strcmp(buf, "2000-02-29T00:00:00Z") == 0, "iso leap day", buf);
}

int
main(void)
{
    Dates();
    ETags();
    Preconditions();
    IfRange();
    Ranges();
    ETagFormat();
    Encodings();
    IsoDates();
    printf("condUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
