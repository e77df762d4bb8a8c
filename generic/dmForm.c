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
