/*
 * dmForm.h --
 *
 *	Decoding form data: query strings and application/x-www-form-
 *	urlencoded bodies, and multipart/form-data bodies.  Pure C: no Tcl
 *	calls, no allocation, so they can be unit-tested and fuzzed alone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_FORM_H
#define DM_FORM_H

#include "dmHttp.h"

/*
 * DmFormNext takes the next "key=value" pair of a query string or
 * urlencoded body (pairs separated by '&'; a pair without '=' has an
 * empty value; empty pairs are skipped).  It returns 0 when there are no
 * more.  DmFormDecode decodes one key or value: %XX escapes, and '+' as a
 * space; a '%' not followed by two hex digits stands for itself.  out
 * needs len bytes; the decoded length is returned.
 */

MODULE_SCOPE int	DmFormNext(const char **pPtr, const char *end,
			    DmSpan *keyPtr, DmSpan *valuePtr);
MODULE_SCOPE size_t	DmFormDecode(const char *in, size_t len, char *out);

#endif /* DM_FORM_H */
