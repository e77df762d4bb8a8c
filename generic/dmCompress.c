/*
 * dmCompress.c --
 *
 *	Compresses file bodies for -compress: gzip with zlib and brotli with
 *	libbrotlienc, each where the build found the library.  Bodies are
 *	compressed whole, once, and kept in the small-file cache beside the
 *	file (dmStatic.c), so the level chosen favours the size over the
 *	time.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <limits.h>
#include <stdlib.h>

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef HAVE_BROTLI
#include <brotli/encode.h>
#endif

#define GZIP_LEVEL	6	/* zlib's own default. */
#define GZIP_WINDOW	(15 + 16) /* The largest window, gzip framing. */
#define BROTLI_LEVEL	6	/* Near gzip -9 in size, far faster than
				 * brotli's 11. */

/*
 *----------------------------------------------------------------------
 *
 * DmCompressAvailable --
 *
 *	The codings this build can compress with.
 *
 * Results:
 *	A set of DM_ENC_BIT.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

unsigned
DmCompressAvailable(void)
{
    unsigned set = 0;

#ifdef HAVE_ZLIB
    set |= DM_ENC_BIT(DM_ENC_GZIP);
#endif
#ifdef HAVE_BROTLI
    set |= DM_ENC_BIT(DM_ENC_BR);
#endif
    return set;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCompress --
 *
 *	Compresses a body with a coding.
 *
 * Results:
 *	The compressed bytes (malloc'ed) with *outLenPtr their count; NULL
 *	if the coding is not available, memory ran out, or the result would
 *	not be smaller than the body.
 *
 * Side effects:
 *	Allocates memory.
 *
 *----------------------------------------------------------------------
 */

char *
DmCompress(
    int encoding,
    const char *data,
    size_t len,
    size_t *outLenPtr)
{
    char *out = NULL;
    size_t outLen = 0;

    switch (encoding) {
#ifdef HAVE_ZLIB
    case DM_ENC_GZIP: {
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	if (len > (size_t) UINT_MAX / 2 || deflateInit2(&zs, GZIP_LEVEL,
		Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
	    return NULL;
	}
	outLen = deflateBound(&zs, (uLong) len);
	out = malloc(outLen);
	if (out != NULL) {
	    zs.next_in = (Bytef *) data;
	    zs.avail_in = (uInt) len;
	    zs.next_out = (Bytef *) out;
	    zs.avail_out = (uInt) outLen;
	    if (deflate(&zs, Z_FINISH) == Z_STREAM_END) {
		outLen = zs.total_out;
	    } else {
		outLen = len;		/* Failed: not kept below. */
	    }
	}
	deflateEnd(&zs);
	break;
    }
#endif
#ifdef HAVE_BROTLI
    case DM_ENC_BR:
	outLen = BrotliEncoderMaxCompressedSize(len);
	out = (outLen > 0) ? malloc(outLen) : NULL;
	if (out != NULL && !BrotliEncoderCompress(BROTLI_LEVEL,
		BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, len,
		(const uint8_t *) data, &outLen, (uint8_t *) out)) {
	    outLen = len;
	}
	break;
#endif
    default:
	(void) data;
	return NULL;
    }
    if (out != NULL && outLen >= len) {
	free(out);
	out = NULL;
    }
    *outLenPtr = outLen;
    return out;
}
