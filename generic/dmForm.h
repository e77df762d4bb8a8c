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

/*
 * A multipart/form-data body (RFC 7578), in memory, taken apart one part
 * at a time.  DmMultipartInit finds the boundary in the Content-Type
 * value; DmMultipartNext gives each part: its name and filename (from
 * Content-Disposition, quotes and backslash escapes still in place when
 * quoted: DmUnquote copies the plain value out), its Content-Type, and
 * its data.  At most DM_MULTIPART_MAX_PARTS parts, each with a header
 * block of at most DM_MULTIPART_MAX_HEAD bytes.
 */

#define DM_MULTIPART_MAX_PARTS	1000
#define DM_MULTIPART_MAX_HEAD	16384

typedef struct DmMultipart {
    const char *body;		/* The whole body. */
    size_t len;
    DmSpan boundary;		/* In the Content-Type value. */
    size_t pos;			/* Where the next part's headers start,
				 * after its delimiter line. */
    int parts;			/* Parts given so far. */
    int done;			/* The closing delimiter was seen. */
} DmMultipart;

typedef struct DmPart {
    DmSpan name;		/* As in the header: see DmUnquote. */
    DmSpan filename;		/* ptr NULL if the part has none. */
    DmSpan type;		/* Its Content-Type, ptr NULL if none. */
    DmSpan data;		/* Its content. */
} DmPart;

MODULE_SCOPE int	DmMultipartInit(DmMultipart *mp,
			    const char *contentType, size_t typeLen,
			    const char *body, size_t len);
MODULE_SCOPE int	DmMultipartNext(DmMultipart *mp, DmPart *part);
MODULE_SCOPE size_t	DmUnquote(const char *in, size_t len, char *out);

#endif /* DM_FORM_H */
