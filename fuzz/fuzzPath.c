/*
 * fuzzPath.c --
 *
 *	libFuzzer harness for the request-target normaliser (DmNormalizePath
 *	in generic/dmPath.c).  The input is the target.  It is normalised
 *	into a block of len + 1 bytes, which must always be enough, and
 *	into a smaller block whose size is derived from the input, which
 *	must give the same result or 414.  A result must keep every promise
 *	of dmPath.h and must be a fixed point: normalising it again changes
 *	nothing.  Windows' name rules (DmPathWinSafe) are checked on every
 *	result.  Targets and output blocks are malloc'd to their exact
 *	sizes, so AddressSanitizer catches an access past either.  A broken
 *	check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmPath.h"
#include "fuzz.h"

/*
 *----------------------------------------------------------------------
 *
 * IsUtf8 --
 *
 *	Checks bytes against the well-formed UTF-8 sequences of RFC 3629
 *	section 4, written out as ranges of each byte: that table excludes
 *	overlong forms, surrogates and code points above U+10FFFF without
 *	decoding anything.
 *
 * Results:
 *	1 if valid, 0 if not.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
IsUtf8(
    const unsigned char *s,
    size_t len)
{
    /*
     * Each row: the lead byte range, then the range of the second byte,
     * and the number of bytes in the sequence.  Bytes after the second
     * are always 80..BF.
     */

    static const struct {
	unsigned char leadLo, leadHi, secondLo, secondHi, length;
    } rows[] = {
	{0xc2, 0xdf, 0x80, 0xbf, 2},
	{0xe0, 0xe0, 0xa0, 0xbf, 3},
	{0xe1, 0xec, 0x80, 0xbf, 3},
	{0xed, 0xed, 0x80, 0x9f, 3},
	{0xee, 0xef, 0x80, 0xbf, 3},
	{0xf0, 0xf0, 0x90, 0xbf, 4},
	{0xf1, 0xf3, 0x80, 0xbf, 4},
	{0xf4, 0xf4, 0x80, 0x8f, 4}
    };
    size_t i = 0, r, k;

    while (i < len) {
	if (s[i] < 0x80) {
	    i++;
	    continue;
	}
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
	    if (s[i] >= rows[r].leadLo && s[i] <= rows[r].leadHi) {
		break;
	    }
	}
	if (r == sizeof(rows) / sizeof(rows[0]) || len - i < rows[r].length
		|| s[i + 1] < rows[r].secondLo
		|| s[i + 1] > rows[r].secondHi) {
	    return 0;
	}
	for (k = 2; k < rows[r].length; k++) {
	    if (s[i + k] < 0x80 || s[i + k] > 0xbf) {
		return 0;
	    }
	}
	i += rows[r].length;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Normalize --
 *
 *	Runs DmNormalizePath on a copy of target[0..len) in a block of
 *	exactly len bytes, with an output block of exactly outSize bytes.
 *
 * Results:
 *	DmNormalizePath's result; on success *outPtr is the output block
 *	(the caller frees it) and *outLenPtr its length, else *outPtr is
 *	NULL.
 *
 * Side effects:
 *	Allocates memory; aborts if the result is out of range or a
 *	success result is not terminated inside the block.
 *
 *----------------------------------------------------------------------
 */

static int
Normalize(
    const char *target,
    size_t len,
    size_t outSize,
    char **outPtr,
    size_t *outLenPtr)
{
    char *in = FuzzCopy(target, len);
    char *out = FuzzAlloc(outSize);
    size_t outLen = (size_t) -1;
    int status;

    status = DmNormalizePath(in, len, out, outSize, &outLen);
    free(in);
    if (status != 0) {
	CHECK(status == 400 || status == 414);
	free(out);
	*outPtr = NULL;
	return status;
    }
    CHECK(outLen < outSize && out[outLen] == '\0');
    *outPtr = out;
    *outLenPtr = outLen;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckResult --
 *
 *	Checks the promises of dmPath.h about a successful result: a
 *	leading '/', no "." or ".." segment, no empty segment except a
 *	final one, no NUL, control byte or backslash, valid UTF-8.
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
CheckResult(
    const char *out,
    size_t outLen)
{
    size_t i, start, n;

    CHECK(outLen >= 1 && out[0] == '/');
    CHECK(memchr(out, '\0', outLen) == NULL);
    for (i = 0; i < outLen; i++) {
	unsigned char c = (unsigned char) out[i];

	CHECK(c >= 0x20 && c != 0x7f && c != '\\');
    }
    CHECK(IsUtf8((const unsigned char *) out, outLen));
    for (start = 1; start < outLen; start = i + 1) {
	for (i = start; i < outLen && out[i] != '/'; i++) {
	    /* Find the end of the segment. */
	}
	n = i - start;
	CHECK(n > 0);
	CHECK(!(n == 1 && out[start] == '.'));
	CHECK(!(n == 2 && out[start] == '.' && out[start + 1] == '.'));
    }
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	Normalises one target with a roomy and a small output block and
 *	checks the results.
 *
 * Results:
 *	0 (libFuzzer's "input processed").
 *
 * Side effects:
 *	Aborts the process if the normaliser broke a promise.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    const char *target = (const char *) data;
    char *out, *small, *again;
    size_t outLen, smallLen, againLen, smallSize, i;
    uint32_t hash = 2166136261u;
    int status, smallStatus, againStatus;

    status = Normalize(target, size, size + 1, &out, &outLen);

    /*
     * len + 1 bytes always hold the result (dmPath.c); an empty target
     * is malformed, not too long.
     */

    CHECK(status != 414);

    /*
     * A small block, its size (1 up to len + 1) a hash of the target
     * (FNV-1a): more room than the result needs may still be too little
     * for the decoding before dot segments are resolved, so all that is
     * certain is the same result or 414.
     */

    for (i = 0; i < size; i++) {
	hash = (hash ^ data[i]) * 16777619u;
    }
    smallSize = 1 + hash % (size + 1);
    smallStatus = Normalize(target, size, smallSize, &small, &smallLen);
    CHECK(smallStatus == status || smallStatus == 414);
    if (smallStatus == 0) {
	CHECK(smallLen == outLen && memcmp(small, out, outLen + 1) == 0);
	free(small);
    }
    if (status == 0 && smallSize <= outLen) {
	CHECK(smallStatus == 414);
    }

    if (status != 0) {
	return 0;
    }
    CheckResult(out, outLen);

    /*
     * A result is already normal.  A '%' in it was decoded from "%25" and
     * would be decoded again, and '?' or '#' would end the path, so such
     * results are not fed back.
     */

    if (memchr(out, '%', outLen) == NULL && memchr(out, '?', outLen) == NULL
	    && memchr(out, '#', outLen) == NULL) {
	againStatus = Normalize(out, outLen, outLen + 1, &again, &againLen);
	CHECK(againStatus == 0);
	CHECK(againLen == outLen && memcmp(again, out, outLen + 1) == 0);
	free(again);
    }

    /*
     * Encoded for a Location, any result is printable ASCII, starts with
     * a single '/' (never "//host"), and normalises back to itself.
     */

    {
	char *url = FuzzAlloc(3 * outLen);
	size_t urlLen = DmEncodePath(out, outLen, url);

	CHECK(urlLen >= outLen && urlLen <= 3 * outLen);
	CHECK(url[0] == '/' && (urlLen == 1 || url[1] != '/'));
	for (i = 0; i < urlLen; i++) {
	    CHECK(url[i] > 0x20 && url[i] < 0x7f && url[i] != '?'
		    && url[i] != '#' && url[i] != '\\');
	}
	againStatus = Normalize(url, urlLen, urlLen + 1, &again, &againLen);
	CHECK(againStatus == 0);
	CHECK(againLen == outLen && memcmp(again, out, outLen + 1) == 0);
	free(again);
	free(url);
    }

    /*
     * A result Windows takes as itself has no ':' or wildcard, and no
     * segment ending in '.' or ' ' (which Windows would strip).
     */

    if (DmPathWinSafe(out, outLen)) {
	for (i = 0; i < outLen; i++) {
	    CHECK(strchr(":<>\"|?*", out[i]) == NULL);
	    if (out[i] == '/' && i > 0) {
		CHECK(out[i - 1] != '.' && out[i - 1] != ' ');
	    }
	}
	CHECK(out[outLen - 1] != '.' && out[outLen - 1] != ' ');
    }
    free(out);
    return 0;
}
