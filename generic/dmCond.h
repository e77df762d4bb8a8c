/*
 * dmCond.h --
 *
 *	Conditional and range requests (RFC 9110 sections 13 and 14): the
 *	preconditions of If-Match, If-Unmodified-Since, If-None-Match and
 *	If-Modified-Since, If-Range, and the Range field.  Pure C: no Tcl
 *	calls, no allocation, so they can be unit-tested and fuzzed alone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_COND_H
#define DM_COND_H

#include "dmHttp.h"

/*
 * What a file is, for the validators: its entity-tag (a strong one,
 * quotes included) and its modification time in seconds.  A resource
 * without them (a directory listing) has no tag (etagLen 0) and the time
 * DM_NO_MTIME: the date preconditions are then ignored (RFC 9110
 * 13.1.3, 13.1.4), and only "*" matches a tag list.
 */

typedef struct DmValidator {
    const char *etag;
    size_t etagLen;
    int64_t mtime;
} DmValidator;

#define DM_NO_MTIME	INT64_MIN

/*
 * DmPreconditions gives 0 (go on), 304 or 412, in RFC 9110's order:
 * If-Match, else If-Unmodified-Since (412 when they fail); If-None-Match,
 * else If-Modified-Since for GET and HEAD (304, or 412 for other methods
 * when If-None-Match fails).  Dates that do not parse, and
 * If-Modified-Since dates after now, are ignored.
 */

/*
 * A file's entity-tag, quotes included, is at most DM_ETAG_MAX bytes
 * (with the suffix of a content coding, see DmETagVariant).
 */

#define DM_ETAG_MAX	72

MODULE_SCOPE size_t	DmFormatETag(int64_t mtimeNs, uint64_t size,
			    uint64_t ino, uint64_t dev, char *buf);
MODULE_SCOPE int	DmPreconditions(const DmRequest *req, int getOrHead,
			    const DmValidator *v, int64_t now);
MODULE_SCOPE int	DmIfRangeHolds(DmSpan ifRange, const DmValidator *v,
			    int64_t now);
MODULE_SCOPE int	DmETagListMatch(DmSpan list, const char *etag,
			    size_t etagLen, int weak);

/*
 * A byte range, first and last byte included.
 */

typedef struct DmByteRange {
    uint64_t first, last;
} DmByteRange;

/*
 * DmParseRange results: DM_RANGE_WHOLE, send the whole file (no Range,
 * another unit, a malformed field, more than maxRanges ranges, or ranges
 * asking for more bytes than the file has); DM_RANGE_PARTIAL, the ranges
 * (sorted, overlapping and adjacent ones merged) are in ranges[0..*count);
 * DM_RANGE_UNSATISFIABLE, 416.
 */

enum {
    DM_RANGE_WHOLE,
    DM_RANGE_PARTIAL,
    DM_RANGE_UNSATISFIABLE
};

MODULE_SCOPE int	DmParseRange(const char *s, size_t len, uint64_t size,
			    int maxRanges, DmByteRange *ranges, int *countPtr);

#endif /* DM_COND_H */
