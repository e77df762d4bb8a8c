/*
 * dmForm.c --
 *
 *	Decoding form data (see dmForm.h).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmForm.h"
#include "dmAscii.h"

#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * DmFormNext --
 *
 *	Steps through "key=value&key=value..." from *pPtr to end.
 *
 * Results:
 *	1 with the next pair's key and value (still encoded), or 0 when
 *	none is left.
 *
 * Side effects:
 *	Advances *pPtr.
 *
 *----------------------------------------------------------------------
 */

int
DmFormNext(
    const char **pPtr,
    const char *end,
    DmSpan *keyPtr,
    DmSpan *valuePtr)
{
    const char *p = *pPtr;

    while (p < end) {
	const char *amp = memchr(p, '&', (size_t) (end - p));
	const char *pairEnd = amp ? amp : end, *eq;

	if (pairEnd == p) {
	    p++;			/* An empty pair: "a=1&&b=2". */
	    continue;
	}
	eq = memchr(p, '=', (size_t) (pairEnd - p));
	keyPtr->ptr = p;
	keyPtr->len = (size_t) ((eq ? eq : pairEnd) - p);
	valuePtr->ptr = eq ? eq + 1 : pairEnd;
	valuePtr->len = eq ? (size_t) (pairEnd - eq - 1) : 0;
	*pPtr = amp ? amp + 1 : end;
	return 1;
    }
    *pPtr = end;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormDecode --
 *
 *	Decodes one form key or value.
 *
 * Results:
 *	The number of bytes written to out (at most len).
 *
 * Side effects:
 *	Writes out[].
 *
 *----------------------------------------------------------------------
 */

size_t
DmFormDecode(
    const char *in,
    size_t len,
    char *out)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
	int hi, lo;

	if (in[i] == '+') {
	    out[o++] = ' ';
	} else if (in[i] == '%' && i + 2 < len
		&& (hi = DmHexValue(in[i + 1])) >= 0
		&& (lo = DmHexValue(in[i + 2])) >= 0) {
	    out[o++] = (char) (hi * 16 + lo);
	    i += 2;
	} else {
	    out[o++] = in[i];
	}
    }
    return o;
}

/*
 *----------------------------------------------------------------------
 *
 * SkipOws --
 *
 *	Skips spaces and tabs.
 *
 * Results:
 *	The position after the white space.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static const char *
SkipOws(
    const char *p,
    const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t')) {
	p++;
    }
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * NextParam --
 *
 *	Takes the next ";name=value" parameter of a header value (RFC 9110
 *	5.6.6): value a token or a quoted string (returned with its quotes).
 *
 * Results:
 *	1 with *namePtr and *valuePtr set, 0 at the end or on malformed
 *	input (the rest is ignored).
 *
 * Side effects:
 *	Advances *pPtr.
 *
 *----------------------------------------------------------------------
 */

static int
NextParam(
    const char **pPtr,
    const char *end,
    DmSpan *namePtr,
    DmSpan *valuePtr)
{
    const char *p = SkipOws(*pPtr, end), *q;

    if (p >= end || *p != ';') {
	return 0;
    }
    p = SkipOws(p + 1, end);
    for (q = p; q < end && *q != '=' && *q != ';' && *q != ' '
	    && *q != '\t'; q++) {
	/* The name. */
    }
    namePtr->ptr = p;
    namePtr->len = (size_t) (q - p);
    q = SkipOws(q, end);
    if (q >= end || *q != '=' || namePtr->len == 0) {
	return 0;
    }
    p = SkipOws(q + 1, end);
    q = p;
    if (q < end && *q == '"') {
	for (q++; q < end && *q != '"'; q++) {
	    if (*q == '\\' && q + 1 < end) {
		q++;
	    }
	}
	if (q >= end) {
	    return 0;			/* No closing quote. */
	}
	q++;
    } else {
	while (q < end && *q != ';' && *q != ' ' && *q != '\t') {
	    q++;
	}
    }
    valuePtr->ptr = p;
    valuePtr->len = (size_t) (q - p);
    *pPtr = q;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmUnquote --
 *
 *	The plain value of a parameter: a quoted string without its quotes
 *	and backslashes, or a token as it is.
 *
 * Results:
 *	The length written to out (which needs len bytes).
 *
 * Side effects:
 *	Writes out[].
 *
 *----------------------------------------------------------------------
 */

size_t
DmUnquote(
    const char *in,
    size_t len,
    char *out)
{
    size_t i, o = 0;

    if (len < 2 || in[0] != '"') {
	memcpy(out, in, len);
	return len;
    }
    for (i = 1; i + 1 < len; i++) {
	if (in[i] == '\\' && i + 2 < len) {
	    i++;
	}
	out[o++] = in[i];
    }
    return o;
}

/*
 *----------------------------------------------------------------------
 *
 * FindDelimiter --
 *
 *	Finds the next delimiter, CRLF "--" boundary, from p.
 *
 * Results:
 *	Where its CRLF starts, or NULL.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static const char *
FindDelimiter(
    const char *p,
    const char *end,
    DmSpan boundary)
{
    size_t need = 4 + boundary.len;

    while ((size_t) (end - p) >= need
	    && (p = memchr(p, '\r', (size_t) (end - p) - need + 1)) != NULL) {
	if (p[1] == '\n' && p[2] == '-' && p[3] == '-'
		&& memcmp(p + 4, boundary.ptr, boundary.len) == 0) {
	    return p;
	}
	p++;
    }
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMultipartInit --
 *
 *	Readies a multipart body for DmMultipartNext: finds the boundary
 *	parameter of a "multipart/form-data" Content-Type value and the
 *	first delimiter (which may start the body, without a CRLF).
 *
 * Results:
 *	0, or -1 if the type is not multipart/form-data, has no usable
 *	boundary (1 to 70 bytes), or the body has no first delimiter.
 *
 * Side effects:
 *	Fills *mp.
 *
 *----------------------------------------------------------------------
 */

int
DmMultipartInit(
    DmMultipart *mp,
    const char *contentType,
    size_t typeLen,
    const char *body,
    size_t len)
{
    const char *p = contentType, *end = contentType + typeLen, *semi;
    DmSpan name, value;

    memset(mp, 0, sizeof(*mp));
    mp->body = body;
    mp->len = len;
    semi = memchr(p, ';', typeLen);
    if (semi == NULL) {
	return -1;
    }
    {
	const char *t = semi;

	while (t > p && (t[-1] == ' ' || t[-1] == '\t')) {
	    t--;
	}
	if (!DmEqualFold(p, (size_t) (t - p), "multipart/form-data")) {
	    return -1;
	}
    }
    p = semi;
    while (NextParam(&p, end, &name, &value)) {
	if (DmEqualFold(name.ptr, name.len, "boundary")) {
	    if (value.len >= 2 && value.ptr[0] == '"') {
		value.ptr++;
		value.len -= 2;
	    }
	    mp->boundary = value;
	}
    }
    if (mp->boundary.len == 0 || mp->boundary.len > 70) {
	return -1;
    }

    /*
     * The first delimiter: at the start, or after a preamble.
     */

    if (len >= 2 + mp->boundary.len && body[0] == '-' && body[1] == '-'
	    && memcmp(body + 2, mp->boundary.ptr, mp->boundary.len) == 0) {
	mp->pos = 2 + mp->boundary.len;
    } else {
	const char *d = FindDelimiter(body, body + len, mp->boundary);

	if (d == NULL) {
	    return -1;
	}
	mp->pos = (size_t) (d - body) + 4 + mp->boundary.len;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMultipartNext --
 *
 *	Takes the next part.  mp->pos is just after a delimiter: "--" there
 *	ends the body; else the rest of the line (white space) and its CRLF,
 *	the part's header lines, an empty line, and its data up to the next
 *	delimiter.
 *
 * Results:
 *	1 with *part filled, 0 after the last part, -1 for a malformed body
 *	(no closing delimiter, a part without a name, too many parts, an
 *	overlong header block).
 *
 * Side effects:
 *	Advances mp.
 *
 *----------------------------------------------------------------------
 */

int
DmMultipartNext(
    DmMultipart *mp,
    DmPart *part)
{
    const char *body = mp->body, *end = body + mp->len;
    const char *p = body + mp->pos, *headEnd, *d;

    memset(part, 0, sizeof(*part));
    if (mp->done) {
	return 0;
    }
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
	mp->done = 1;
	return (mp->parts > 0) ? 0 : -1;
    }
    p = SkipOws(p, end);
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n'
	    || ++mp->parts > DM_MULTIPART_MAX_PARTS) {
	return -1;
    }
    p += 2;

    /*
     * Header lines, each ended by CRLF, up to an empty line.
     */

    for (headEnd = p;;) {
	const char *eol = memchr(headEnd, '\n', (size_t) (end - headEnd));

	if (eol == NULL || eol == headEnd || eol[-1] != '\r'
		|| eol - p > DM_MULTIPART_MAX_HEAD) {
	    return -1;
	}
	if (eol - 1 == headEnd) {
	    break;			/* The empty line. */
	}
	{
	    const char *line = headEnd, *lineEnd = eol - 1;
	    const char *colon = memchr(line, ':', (size_t) (lineEnd - line));

	    if (colon == NULL) {
		return -1;
	    }
	    if (DmEqualFold(line, (size_t) (colon - line),
		    "content-disposition")) {
		const char *v = SkipOws(colon + 1, lineEnd), *t = v;
		DmSpan name, value;

		while (t < lineEnd && *t != ';' && *t != ' ' && *t != '\t') {
		    t++;
		}
		if (!DmEqualFold(v, (size_t) (t - v), "form-data")) {
		    return -1;
		}
		while (NextParam(&t, lineEnd, &name, &value)) {
		    if (DmEqualFold(name.ptr, name.len, "name")) {
			part->name = value;
		    } else if (DmEqualFold(name.ptr, name.len, "filename")) {
			part->filename = value;
		    }
		}
	    } else if (DmEqualFold(line, (size_t) (colon - line),
		    "content-type")) {
		const char *v = SkipOws(colon + 1, lineEnd), *t = lineEnd;

		while (t > v && (t[-1] == ' ' || t[-1] == '\t')) {
		    t--;
		}
		part->type.ptr = v;
		part->type.len = (size_t) (t - v);
	    }
	}
	headEnd = eol + 1;
    }
    if (part->name.ptr == NULL) {
	return -1;
    }
    p = headEnd + 2;			/* Past the empty line. */
    d = FindDelimiter(p, end, mp->boundary);
    if (d == NULL) {
	return -1;
    }
    part->data.ptr = p;
    part->data.len = (size_t) (d - p);
    mp->pos = (size_t) (d - body) + 4 + mp->boundary.len;
    return 1;
}
