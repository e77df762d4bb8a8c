/*
 * dmPath.h --
 *
 *	The request-target to file-path normaliser.  Pure C: no Tcl calls,
 *	so it can be unit-tested and fuzzed alone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_PATH_H
#define DM_PATH_H

#include <stddef.h>

#include "dmScope.h"

/*
 * DmNormalizePath turns a request-target into a path relative to the
 * document root.  It returns 0 and fills out[] (NUL-terminated, length in
 * *outLenPtr), or the HTTP status to answer with (400, 414).  The result
 * always starts with '/', has no "." or ".." segment, no empty segment
 * except a final one (a trailing '/'), no NUL, control byte or backslash,
 * and is valid UTF-8.
 */

MODULE_SCOPE int	DmNormalizePath(const char *target, size_t len,
			    char *out, size_t outSize, size_t *outLenPtr);

/*
 * DmSplitTarget finds the authority of an absolute-form request-target
 * ("http://host:port/path"): it returns the length of the part before
 * the path and the authority's place in it, 0 for origin-form ("/path"),
 * or -1 for any other form.
 */

MODULE_SCOPE long	DmSplitTarget(const char *target, size_t len,
			    size_t *authStartPtr, size_t *authLenPtr);

/*
 * DmEncodePath percent-encodes a normalised path for use in a URL (a
 * Location field): every byte but unreserved characters, sub-delims,
 * ':', '@' and '/' becomes %XX, so DmNormalizePath gives the path back.
 * out must hold 3 * len bytes; the result's length is returned (no NUL).
 */

MODULE_SCOPE size_t	DmEncodePath(const char *path, size_t len, char *out);

/*
 * DmValidUtf8 tells whether bytes are well-formed UTF-8 (no overlong
 * forms, surrogates or code points above U+10FFFF).
 */

MODULE_SCOPE int	DmValidUtf8(const unsigned char *s, size_t len);

/*
 * DmPathHidden tells whether a normalised path names a dot file or goes
 * through a dot folder (a segment starting with '.'), other than a first
 * segment ".well-known" (RFC 8615).
 */

MODULE_SCOPE int	DmPathHidden(const char *path, size_t len);

/*
 * DmPathWinSafe tells whether every segment of a normalised path is a
 * name Windows would open as itself: no ':' (a drive or an alternate
 * data stream), none of the characters <>"|?* that Windows refuses or
 * takes as wildcards, no trailing '.' or space (which Windows strips, so
 * "secret.txt." would open "secret.txt"), and no device name (CON, PRN,
 * AUX, NUL, COM0-9, LPT0-9, with superscript digits too, CONIN$,
 * CONOUT$, CLOCK$), with or without an extension, in any case.
 */

MODULE_SCOPE int	DmPathWinSafe(const char *path, size_t len);

/*
 * DmStatusFromErrno gives the HTTP status for a file that could not be
 * opened, from the errno value (the platform layer translates its own
 * errors): 404, 403, 414, 503 or 500.
 */

MODULE_SCOPE int	DmStatusFromErrno(int err);

#endif /* DM_PATH_H */
