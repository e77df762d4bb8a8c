/*
 * dmNego.h --
 *
 *	Content negotiation: which content coding (RFC 9110 8.4.1) of a
 *	file a request's Accept-Encoding field prefers.  Pure C: no Tcl
 *	calls, no allocation, so it can be unit-tested and fuzzed alone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_NEGO_H
#define DM_NEGO_H

#include "dmHttp.h"

/*
 * The codings the server can send.  DM_ENC_BIT(e) is e's bit in a set.
 */

enum {
    DM_ENC_IDENTITY = 0,
    DM_ENC_GZIP,
    DM_ENC_BR,
    DM_ENC_COUNT
};

#define DM_ENC_BIT(e)	(1u << (e))

MODULE_SCOPE int	DmChooseEncoding(const DmList *field,
			    unsigned available);
MODULE_SCOPE const char *DmEncodingName(int encoding);
MODULE_SCOPE size_t	DmETagVariant(const char *etag, size_t len,
			    int encoding, char *buf);

#endif /* DM_NEGO_H */
