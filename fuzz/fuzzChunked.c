/*
 * fuzzChunked.c --
 *
 *	libFuzzer harness for the chunked-body decoder (DmChunkedDecode in
 *	generic/dmHttp.c).  The first input byte says how many of the next
 *	bytes (0 to 7) are piece sizes; the rest is the body.  The body is
 *	decoded in one call, then again in pieces of those sizes taken in
 *	turn, as it would arrive in several reads.  Both must end the same
 *	way (more wanted, done at the same offset with the same data, or
 *	malformed).  Each
 *	piece is a malloc'd block of exactly its size, so AddressSanitizer
 *	catches a read past it.  A broken check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmHttp.h"
#include "fuzz.h"

/*
 * The most piece sizes an input can give.
 */

#define MAX_SIZE_BYTES	7

/*
 *----------------------------------------------------------------------
 *
 * Decode --
 *
 *	Feeds data[0..len) to the decoder from a fresh block of exactly len
 *	bytes and checks the result against the decoder's contract.
 *
 * Results:
 *	DmChunkedDecode's result; *consumedPtr is set for DONE and MORE.
 *
 * Side effects:
 *	Advances *ch; aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static int
Decode(
    DmChunked *ch,
    const uint8_t *data,
    size_t len,
    size_t *consumedPtr,
    char *out,			/* Chunk data is appended here... */
    size_t *outLenPtr)		/* ...after this many bytes. */
{
    char *buf = FuzzCopy(data, len);
    size_t consumed = (size_t) -1, got = (size_t) -1;
    int result;

    /*
     * Decoded in place, as the server does, then appended to out.
     */

    result = DmChunkedDecode(ch, buf, len, &consumed, buf, &got);
    CHECK(got <= len);
    memcpy(out + *outLenPtr, buf, got);
    *outLenPtr += got;
    switch (result) {
    case DM_CHUNKED_MORE:
	CHECK(consumed == len);
	break;
    case DM_CHUNKED_DONE:
	CHECK(consumed <= len);
	CHECK(consumed == 0 || buf[consumed - 1] == '\n');
	break;
    case DM_CHUNKED_ERROR:
	break;
    default:
	CHECK(!"result out of range");
    }
    free(buf);
    *consumedPtr = consumed;
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	Decodes one body whole and in pieces and compares the outcomes.
 *
 * Results:
 *	0 (libFuzzer's "input processed").
 *
 * Side effects:
 *	Aborts the process if the decoder broke a promise.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    DmChunked ch;
    const uint8_t *sizes, *body;
    size_t numSizes, len, pos, piece, consumed, i;
    size_t wholeConsumed = 0, splitConsumed = 0;
    size_t wholeDataLen = 0, splitDataLen = 0, moreLen = 0;
    char *wholeData, *splitData, *more;
    int wholeResult, splitResult = DM_CHUNKED_MORE, result;

    if (size == 0) {
	return 0;
    }
    numSizes = data[0] % (MAX_SIZE_BYTES + 1);
    if (size - 1 < numSizes) {
	return 0;
    }
    sizes = data + 1;
    body = sizes + numSizes;
    len = size - 1 - numSizes;
    wholeData = FuzzAlloc(len + 1);
    splitData = FuzzAlloc(len + 1);
    more = FuzzAlloc(len + 1);

    DmChunkedInit(&ch);
    wholeResult = Decode(&ch, body, len, &wholeConsumed, wholeData,
	    &wholeDataLen);

    /*
     * Once finished, the decoder stays finished: DONE consumes nothing
     * more, ERROR stays ERROR.
     */

    if (wholeResult != DM_CHUNKED_MORE) {
	result = Decode(&ch, body, len, &consumed, more, &moreLen);
	CHECK(result == wholeResult && moreLen == 0);
	CHECK(result != DM_CHUNKED_DONE || consumed == 0);
    }

    /*
     * No sizes: one byte at a time.  A size of 0 makes an empty call,
     * which must change nothing, and then moves on by one byte.
     */

    DmChunkedInit(&ch);
    for (pos = 0, i = 0; pos < len; i++) {
	piece = (numSizes == 0) ? 1 : sizes[i % numSizes];
	if (piece == 0) {
	    result = Decode(&ch, body + pos, 0, &consumed, splitData,
		    &splitDataLen);
	    CHECK(result == DM_CHUNKED_MORE && consumed == 0);
	    piece = 1;
	}
	if (piece > len - pos) {
	    piece = len - pos;
	}
	splitResult = Decode(&ch, body + pos, piece, &consumed, splitData,
		&splitDataLen);
	if (splitResult == DM_CHUNKED_DONE) {
	    splitConsumed = pos + consumed;
	    break;
	}
	if (splitResult == DM_CHUNKED_ERROR) {
	    break;
	}
	pos += piece;
    }
    if (len == 0) {
	splitResult = Decode(&ch, body, 0, &consumed, splitData,
		&splitDataLen);
    }

    CHECK(splitResult == wholeResult);
    if (wholeResult == DM_CHUNKED_DONE) {
	CHECK(splitConsumed == wholeConsumed);

	/*
	 * The same data whatever the reads, and never more than was sent.
	 */

	CHECK(splitDataLen == wholeDataLen && wholeDataLen < wholeConsumed
		&& memcmp(splitData, wholeData, wholeDataLen) == 0);
    }
    free(wholeData);
    free(splitData);
    free(more);
    return 0;
}
