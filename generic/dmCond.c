/*
 * dmCond.c --
 *
 *	Conditional and range requests (see dmCond.h): entity-tag lists,
 *	the order in which preconditions are evaluated, If-Range, and the
 *	Range field with its limits.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmAscii.h"
#include "dmCond.h"
#include "dmDate.h"

#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * SkipListSpace --
 *
 *	Skips white space and commas between the elements of a list field
 *	(RFC 9110 5.6.1: empty elements are allowed).
 *
 * Results:
 *	The position of the next element, or end.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static const char *
SkipListSpace(
    const char *p,
    const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
	p++;
    }
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * DmETagListMatch --
 *
 *	Whether a list of entity-tags (If-Match, If-None-Match) holds "*" or
 *	a tag that matches etag: by the strong comparison (neither weak,
 *	same opaque tag) or, with weak set, the weak one (same opaque tag).
 *	A malformed element matches nothing; the elements after it are not
 *	read.
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
DmETagListMatch(
    DmSpan list,
    const char *etag,		/* Ours: strong, with its quotes. */
    size_t etagLen,
    int weak)
{
    const char *p = list.ptr, *end = list.ptr + list.len;

    for (p = SkipListSpace(p, end); p < end; p = SkipListSpace(p, end)) {
	const char *tag;
	int isWeak = 0;

	if (*p == '*') {
	    return 1;
	}
	if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
	    isWeak = 1;
	    p += 2;
	}
	if (p >= end || *p != '"') {
	    return 0;
	}
	tag = p;
	p = memchr(p + 1, '"', (size_t) (end - p - 1));
	if (p == NULL) {
	    return 0;
	}
	p++;
	if ((weak || !isWeak) && (size_t) (p - tag) == etagLen
		&& memcmp(tag, etag, etagLen) == 0) {
	    return 1;
	}
	if (p < end && *p != ',' && *p != ' ' && *p != '\t') {
	    return 0;			/* Junk after the tag. */
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Date --
 *
 *	Reads a date field of a request.
 *
 * Results:
 *	1 with *secondsPtr set, or 0 if the field is absent or not a date.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
Date(
    DmSpan field,
    int64_t now,
    int64_t *secondsPtr)
{
    return field.ptr != NULL
	    && DmParseHttpDate(field.ptr, field.len, now, secondsPtr) == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ListMatch --
 *
 *	DmETagListMatch over every line of an If-Match or If-None-Match
 *	field.  A field of more lines than were kept matches nothing: the
 *	safe reading for both (If-Match fails, If-None-Match sends the
 *	file).
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
ListMatch(
    const DmList *list,
    const DmValidator *v,
    int weak)
{
    int i;

    for (i = 0; i < list->count; i++) {
	if (DmETagListMatch(list->line[i], v->etag, v->etagLen, weak)) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmPreconditions --
 *
 *	Evaluates a request's preconditions against a file (RFC 9110
 *	13.2.2).
 *
 * Results:
 *	0 to go on, 304 (Not Modified) or 412 (Precondition Failed).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmPreconditions(
    const DmRequest *req,
    int getOrHead,
    const DmValidator *v,
    int64_t now)
{
    int64_t date;

    if (req->ifMatch.count != 0) {
	if (!ListMatch(&req->ifMatch, v, 0)) {
	    return 412;
	}
    } else if (v->mtime != DM_NO_MTIME
	    && Date(req->ifUnmodifiedSince, now, &date) && v->mtime > date) {
	return 412;
    }
    if (req->ifNoneMatch.count != 0) {
	if (ListMatch(&req->ifNoneMatch, v, 1)) {
	    return getOrHead ? 304 : 412;
	}
    } else if (getOrHead && v->mtime != DM_NO_MTIME
	    && Date(req->ifModifiedSince, now, &date) && date <= now
	    && v->mtime <= date) {
	return 304;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmIfRangeHolds --
 *
 *	Whether the Range of a request applies, given its If-Range (RFC
 *	9110 13.1.5): an entity-tag must match ours by the strong
 *	comparison; a date must equal the modification time exactly, and
 *	count only if that time is at least a second before now (else a
 *	change within the same second could go unseen).
 *
 * Results:
 *	1 if the range applies (also when there is no If-Range), else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmIfRangeHolds(
    DmSpan ifRange,
    const DmValidator *v,
    int64_t now)
{
    int64_t date;

    if (ifRange.ptr == NULL) {
	return 1;
    }
    if ((ifRange.len > 0 && ifRange.ptr[0] == '"') || (ifRange.len > 1
	    && ifRange.ptr[0] == 'W' && ifRange.ptr[1] == '/')) {
	return ifRange.len == v->etagLen
		&& memcmp(ifRange.ptr, v->etag, v->etagLen) == 0;
    }
    return Date(ifRange, now, &date) && date == v->mtime
	    && v->mtime <= now - 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Number --
 *
 *	Reads decimal digits, saturating at UINT64_MAX.
 *
 * Results:
 *	The number of digits read (0 if none).
 *
 * Side effects:
 *	Sets *valuePtr; advances *pPtr.
 *
 *----------------------------------------------------------------------
 */

static int
Number(
    const char **pPtr,
    const char *end,
    uint64_t *valuePtr)
{
    const char *start = *pPtr, *p = start;
    uint64_t v = 0;

    while (p < end && *p >= '0' && *p <= '9') {
	unsigned d = (unsigned) (*p - '0');

	v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
	p++;
    }
    *valuePtr = v;
    *pPtr = p;
    return (int) (p - start);
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseRange --
 *
 *	Reads a Range field ("bytes=0-99,200-,-50") for a file of size
 *	bytes.  The work is bounded: reading stops after maxRanges ranges.
 *	Ranges that start past the end are left out; if none is left, the
 *	request cannot be satisfied.  The rest are sorted and merged where
 *	they overlap or touch; ranges that ask for more bytes than the
 *	file has in all (one way to make a server send a file many times
 *	over) get the whole file instead.
 *
 * Results:
 *	DM_RANGE_WHOLE, DM_RANGE_PARTIAL or DM_RANGE_UNSATISFIABLE; see
 *	dmCond.h.
 *
 * Side effects:
 *	Fills ranges[0..*countPtr), which has room for maxRanges.
 *
 *----------------------------------------------------------------------
 */

int
DmParseRange(
    const char *s,
    size_t len,
    uint64_t size,
    int maxRanges,
    DmByteRange *ranges,
    int *countPtr)
{
    const char *p = s, *end = s + len;
    uint64_t asked = 0;
    int n = 0, specs = 0, emptySuffix = 0, i, j;

    *countPtr = 0;
    if (len < 6 || !DmEqualFold(s, 6, "bytes=")) {
	return DM_RANGE_WHOLE;		/* Another unit, or none. */
    }
    for (p = SkipListSpace(p + 6, end); p < end; p = SkipListSpace(p, end)) {
	uint64_t first, last;
	int suffix = (*p == '-');

	if (++specs > maxRanges) {
	    return DM_RANGE_WHOLE;
	}
	if (suffix) {
	    p++;
	    if (Number(&p, end, &last) == 0) {
		return DM_RANGE_WHOLE;
	    }
	    if (last == 0 || size == 0) {
		emptySuffix |= (last > 0);
		first = 1;		/* Unsatisfiable: left out. */
		last = 0;
	    } else {
		first = (last >= size) ? 0 : size - last;
		last = size - 1;
	    }
	} else {
	    if (Number(&p, end, &first) == 0 || p >= end || *p != '-') {
		return DM_RANGE_WHOLE;
	    }
	    p++;
	    if (Number(&p, end, &last) == 0) {
		last = UINT64_MAX;	/* "N-": to the end. */
	    } else if (last < first) {
		return DM_RANGE_WHOLE;	/* Invalid: the field is ignored. */
	    }
	    if (size > 0 && last > size - 1) {
		last = size - 1;
	    }
	}
	if (p < end && *p != ',' && *p != ' ' && *p != '\t') {
	    return DM_RANGE_WHOLE;
	}
	if (first >= size || first > last) {
	    continue;			/* Cannot be satisfied. */
	}
	ranges[n].first = first;
	ranges[n].last = last;
	asked += last - first + 1;
	if (asked > size) {
	    return DM_RANGE_WHOLE;
	}
	n++;
    }
    if (specs == 0) {
	return DM_RANGE_WHOLE;		/* "bytes=" alone is malformed. */
    }
    if (n == 0) {
	/*
	 * RFC 9110 14.1.1: a suffix range of an empty file is satisfiable,
	 * but 206 cannot carry zero bytes, so the (empty) file is sent.
	 */

	return emptySuffix ? DM_RANGE_WHOLE : DM_RANGE_UNSATISFIABLE;
    }

    /*
     * Sorted by first byte (insertion sort: n is small), then merged.
     */

    for (i = 1; i < n; i++) {
	DmByteRange r = ranges[i];

	for (j = i; j > 0 && ranges[j - 1].first > r.first; j--) {
	    ranges[j] = ranges[j - 1];
	}
	ranges[j] = r;
    }
    for (i = 0, j = 1; j < n; j++) {
	if (ranges[j].first <= ranges[i].last + 1) {
	    if (ranges[j].last > ranges[i].last) {
		ranges[i].last = ranges[j].last;
	    }
	} else {
	    ranges[++i] = ranges[j];
	}
    }
    *countPtr = i + 1;
    return DM_RANGE_PARTIAL;
}

/*
 *----------------------------------------------------------------------
 *
 * PutHex --
 *
 *	Writes a number in lower-case hexadecimal, without leading zeros.
 *
 * Results:
 *	The position after the digits.
 *
 * Side effects:
 *	Writes at most 16 bytes at p.
 *
 *----------------------------------------------------------------------
 */

static char *
PutHex(
    char *p,
    uint64_t v)
{
    char tmp[16];
    int n = 0;

    do {
	tmp[n++] = DmHexDigit((unsigned) v);
	v >>= 4;
    } while (v != 0);
    while (n > 0) {
	*p++ = tmp[--n];
    }
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormatETag --
 *
 *	A file's strong entity-tag: its modification time in nanoseconds,
 *	size, inode number and device, in hexadecimal, quoted.  Any write,
 *	truncate or replacement changes one of them.
 *
 * Results:
 *	Its length (at most DM_ETAG_MAX).
 *
 * Side effects:
 *	Writes to buf (DM_ETAG_MAX bytes), not NUL-terminated.
 *
 *----------------------------------------------------------------------
 */

size_t
DmFormatETag(
    int64_t mtimeNs,
    uint64_t size,
    uint64_t ino,
    uint64_t dev,
    char *buf)
{
    char *p = buf;

    *p++ = '"';
    p = PutHex(p, (uint64_t) mtimeNs);
    *p++ = '-';
    p = PutHex(p, size);
    *p++ = '-';
    p = PutHex(p, ino);
    *p++ = '-';
    p = PutHex(p, dev);
    *p++ = '"';
    return (size_t) (p - buf);
}
