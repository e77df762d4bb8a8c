/*
 * dmPath.c --
 *
 *	Maps a request-target to a path below the document root.  The
 *	result is safe to hand to the file layer: it cannot name anything
 *	outside the root, whatever the encoding tricks in the target.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmPath.h"
#include "dmAscii.h"

#include <errno.h>
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * DmValidUtf8 --
 *
 *	Checks that bytes are well-formed UTF-8: no overlong forms (the
 *	classic "%c0%af" disguise of '/'), no surrogates, nothing above
 *	U+10FFFF.
 *
 * Results:
 *	1 if valid, 0 if not.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmValidUtf8(
    const unsigned char *s,
    size_t len)
{
    size_t i = 0;

    while (i < len) {
	unsigned c = s[i];
	size_t n;
	unsigned min, cp;

	if (c < 0x80) {
	    i++;
	    continue;
	} else if ((c & 0xe0) == 0xc0) {
	    n = 1; min = 0x80; cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
	    n = 2; min = 0x800; cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
	    n = 3; min = 0x10000; cp = c & 0x07;
	} else {
	    return 0;
	}
	if (len - i <= n) {
	    return 0;
	}
	for (size_t k = 1; k <= n; k++) {
	    if ((s[i + k] & 0xc0) != 0x80) {
		return 0;
	    }
	    cp = (cp << 6) | (s[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
	    return 0;
	}
	i += n + 1;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmSplitTarget --
 *
 *	Finds the authority of an absolute-form request-target (RFC 9112
 *	3.2.2), "scheme://authority" then the path, query or nothing; the
 *	authority is not checked here.
 *
 * Results:
 *	0 for origin-form (the target starts with '/'); for absolute-form,
 *	the length of "scheme://authority", with the authority's offset
 *	and length in *authStartPtr and *authLenPtr; -1 for any other
 *	target (the asterisk and authority forms are not served).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

long
DmSplitTarget(
    const char *target,
    size_t len,
    size_t *authStartPtr,
    size_t *authLenPtr)
{
    const char *p = target, *end = target + len, *colon;

    if (len > 0 && *p == '/') {
	return 0;
    }
    colon = (len > 0) ? memchr(p, ':', len) : NULL;
    if (colon == NULL || colon == p || end - colon < 3 || colon[1] != '/'
	    || colon[2] != '/') {
	return -1;
    }
    for (const char *s = p; s < colon; s++) {
	int c = *s | 0x20;

	if (!((c >= 'a' && c <= 'z') || (s > p && ((*s >= '0' && *s <= '9')
		|| *s == '+' || *s == '-' || *s == '.')))) {
	    return -1;			/* Not a scheme (RFC 3986 3.1). */
	}
    }
    p = colon + 3;
    *authStartPtr = (size_t) (p - target);
    while (p < end && *p != '/' && *p != '?' && *p != '#') {
	p++;
    }
    *authLenPtr = (size_t) (p - target) - *authStartPtr;
    return (long) (p - target);
}

/*
 *----------------------------------------------------------------------
 *
 * DmNormalizePath --
 *
 *	Turns a request-target (origin-form or absolute-form) into a path
 *	relative to the document root.  The query and fragment are dropped,
 *	%-escapes are decoded exactly once, and "." and ".." segments are
 *	resolved; a ".." that would climb above the root is an error rather
 *	than being clamped, as the request can only be an attack.
 *
 * Results:
 *	0 with out[] filled and NUL-terminated, or the HTTP status to send:
 *	400 for a malformed or hostile target, 414 if out[] is too small.
 *	Dot segments are resolved after they are decoded into out[], so
 *	out[] must hold the longest decoded prefix, not just the result:
 *	len + 1 bytes are always enough, as decoding never lengthens.
 *
 * Side effects:
 *	Writes out[] (also on error).
 *
 *----------------------------------------------------------------------
 */

int
DmNormalizePath(
    const char *target,		/* The request-target, not NUL-terminated. */
    size_t len,			/* Its length. */
    char *out,			/* Where the path goes. */
    size_t outSize,		/* Bytes available at out. */
    size_t *outLenPtr)		/* Length of the result (without NUL). */
{
    const char *p = target, *end = target + len;
    size_t o = 0;
    size_t segStart, authStart, authLen;
    int high = 0;		/* Bytes above 0x7F in this segment. */

    if (len == 0) {
	return 400;
    }
    if (outSize < 2) {
	return 414;
    }

    if (*p != '/') {
	long prefix = DmSplitTarget(target, len, &authStart, &authLen);

	if (prefix < 0) {
	    return 400;
	}
	p += prefix;
	if (p == end || *p != '/') {
	    out[0] = '/';		/* "http://host" or "http://host?q". */
	    out[1] = '\0';
	    *outLenPtr = 1;
	    return 0;
	}
    }

    /*
     * Decode into out[], one segment at a time, resolving dot segments
     * as each one ends.  out[] always holds "/seg/seg/" so far.
     */

    out[o++] = '/';
    segStart = o;
    p++;
    for (;;) {
	int c, atEnd = (p == end || *p == '?' || *p == '#');

	if (!atEnd) {
	    c = (unsigned char) *p++;
	    if (c == '%') {
		int hi, lo;

		if (end - p < 2 || (hi = DmHexValue(p[0])) < 0
			|| (lo = DmHexValue(p[1])) < 0) {
		    return 400;
		}
		c = hi * 16 + lo;
		p += 2;
	    }
	    if (c < 0x20 || c == 0x7f || c == '\\') {
		return 400;
	    }
	    if (c != '/') {
		if (o + 1 >= outSize) {
		    return 414;		/* No room for c and the NUL. */
		}
		out[o++] = (char) c;
		high |= c;
		continue;
	    }
	}

	/*
	 * A segment ended (at '/' or at the end of the path).
	 */

	{
	    size_t segLen = o - segStart;

	    if ((high & 0x80) && !DmValidUtf8((const unsigned char *) out
		    + segStart, segLen)) {
		return 400;
	    }
	    high = 0;
	    if (segLen == 1 && out[segStart] == '.') {
		o = segStart;
	    } else if (segLen == 2 && out[segStart] == '.'
		    && out[segStart + 1] == '.') {
		if (segStart == 1) {
		    return 400;		/* Above the root. */
		}
		o = segStart - 1;
		while (out[o - 1] != '/') {
		    o--;
		}
	    } else if (segLen > 0 && !atEnd) {
		if (o + 1 >= outSize) {
		    return 414;
		}
		out[o++] = '/';
	    }
	    segStart = o;
	}
	if (atEnd) {
	    break;
	}
    }

    /*
     * A trailing "." or ".." names a directory: keep the slash so that
     * the index is served rather than a redirect.  An empty segment is
     * collapsed above, so "a//b" is "a/b".
     */

    out[o] = '\0';
    *outLenPtr = o;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmEncodePath --
 *
 *	Percent-encodes a path for a URL: only the bytes RFC 3986 allows
 *	as they are in a path segment (unreserved, sub-delims, ':', '@')
 *	and '/' stay; '%', '?', '#', spaces and all bytes above 0x7e are
 *	encoded, so the URL means the same path to every client.
 *
 * Results:
 *	The length written (at most 3 * len).
 *
 * Side effects:
 *	Writes out[].
 *
 *----------------------------------------------------------------------
 */

size_t
DmEncodePath(
    const char *path,
    size_t len,
    char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char keep[] = "-._~!$&'()*+,;=:@/";
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
	unsigned char c = (unsigned char) path[i];

	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		|| (c >= '0' && c <= '9')
		|| (c != '\0' && strchr(keep, c) != NULL)) {
	    out[o++] = (char) c;
	} else {
	    out[o++] = '%';
	    out[o++] = hex[c >> 4];
	    out[o++] = hex[c & 15];
	}
    }
    return o;
}

/*
 *----------------------------------------------------------------------
 *
 * DmPathHidden --
 *
 *	See dmPath.h.  The path is normalised: it starts with '/' and has
 *	no "." or ".." segment.
 *
 * Results:
 *	1 if hidden, else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmPathHidden(
    const char *path,
    size_t len)
{
    static const char wellKnown[] = "/.well-known";
    const size_t n = sizeof(wellKnown) - 1;
    size_t i;

    /*
     * A plain loop: paths are short, and most have a '.' (the
     * extension), so looking for "/." beats looking for either.
     */

    for (i = 1; i < len; i++) {
	if (path[i] == '.' && path[i - 1] == '/') {
	    if (i == 1 && len >= n && memcmp(path, wellKnown, n) == 0
		    && (len == n || path[n] == '/')) {
		i = n;			/* Past it. */
		continue;
	    }
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * IsDeviceName --
 *
 *	Whether a segment's base (what comes before its first '.', with
 *	trailing spaces dropped, as Windows reads it) is a device name.
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
IsDeviceName(
    const char *seg,
    size_t len)
{
    static const char *const plain[] = {
	"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$", NULL
    };
    char base[8];
    size_t n = 0, i;

    while (n < len && seg[n] != '.') {
	n++;
    }
    while (n > 0 && seg[n - 1] == ' ') {
	n--;
    }
    if (n < 3 || n > 7) {
	return 0;
    }
    for (i = 0; i < n; i++) {
	char c = seg[i];

	base[i] = (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : c;
    }
    base[n] = '\0';
    for (i = 0; plain[i] != NULL; i++) {
	if (strcmp(base, plain[i]) == 0) {
	    return 1;
	}
    }
    if (memcmp(base, "COM", 3) != 0 && memcmp(base, "LPT", 3) != 0) {
	return 0;
    }
    if (n == 4) {
	return base[3] >= '0' && base[3] <= '9';
    }

    /*
     * Superscript one, two and three (U+00B9, U+00B2, U+00B3) in UTF-8.
     */

    return n == 5 && (unsigned char) base[3] == 0xC2
	    && ((unsigned char) base[4] == 0xB9
		|| (unsigned char) base[4] == 0xB2
		|| (unsigned char) base[4] == 0xB3);
}

/*
 *----------------------------------------------------------------------
 *
 * DmPathWinSafe --
 *
 *	See dmPath.h.
 *
 * Results:
 *	1 if every segment is safe, else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmPathWinSafe(
    const char *path,
    size_t len)
{
    size_t start = 0, i;

    while (start < len) {
	while (start < len && path[start] == '/') {
	    start++;
	}
	for (i = start; i < len && path[i] != '/'; i++) {
	    if (strchr(":<>\"|?*", path[i]) != NULL) {
		return 0;
	    }
	}
	if (i > start) {
	    if (path[i - 1] == '.' || path[i - 1] == ' '
		    || IsDeviceName(path + start, i - start)) {
		return 0;
	    }
	}
	start = i;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmStatusFromErrno --
 *
 *	See dmPath.h.
 *
 * Results:
 *	404, 403, 414, 503 or 500.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmStatusFromErrno(
    int err)
{
    switch (err) {
    case ENOENT: case ENOTDIR: case ELOOP: case EXDEV:
	return 404;
    case EACCES: case EPERM:
	return 403;
    case ENAMETOOLONG:
	return 414;
    case EMFILE: case ENFILE: case ENOMEM:
	return 503;
    default:
	return 500;
    }
}
