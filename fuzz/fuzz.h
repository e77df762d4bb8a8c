/*
 * fuzz.h --
 *
 *	What the libFuzzer harnesses share: the entry point libFuzzer calls,
 *	a check that aborts naming the condition that failed (libFuzzer then
 *	reports a crash and keeps the input), and blocks of exactly the
 *	size asked for, so that AddressSanitizer reports any access past
 *	their end.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * libFuzzer finds its entry point by name, so it cannot be static.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
    do { \
	if (!(cond)) { \
	    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
	    abort(); \
	} \
    } while (0)

/*
 *----------------------------------------------------------------------
 *
 * FuzzAlloc --
 *
 *	Allocates exactly size bytes; for 0, a block in which every access
 *	is out of bounds.
 *
 * Results:
 *	The block, for the caller to free.
 *
 * Side effects:
 *	Aborts if memory is exhausted.
 *
 *----------------------------------------------------------------------
 */

static inline char *
FuzzAlloc(
    size_t size)
{
    char *block = malloc(size);

    CHECK(block != NULL || size == 0);
    return block;
}

/*
 *----------------------------------------------------------------------
 *
 * FuzzCopy --
 *
 *	Copies len bytes into a block of exactly len bytes.
 *
 * Results:
 *	The copy, for the caller to free.
 *
 * Side effects:
 *	Aborts if memory is exhausted.
 *
 *----------------------------------------------------------------------
 */

static inline char *
FuzzCopy(
    const void *data,
    size_t len)
{
    char *copy = FuzzAlloc(len);

    if (len > 0) {
	memcpy(copy, data, len);
    }
    return copy;
}

/*
 *----------------------------------------------------------------------
 *
 * FuzzDispatch --
 *
 *	For a harness of several cases: runs the one the input's first
 *	byte picks, on the rest of the input.
 *
 * Results:
 *	0, as libFuzzer expects.
 *
 * Side effects:
 *	Those of the case.
 *
 *----------------------------------------------------------------------
 */

typedef void (FuzzCase)(const uint8_t *data, size_t size);

static inline int
FuzzDispatch(
    const uint8_t *data,
    size_t size,
    FuzzCase *const *cases,
    size_t numCases)
{
    if (size > 0) {
	cases[data[0] % numCases](data + 1, size - 1);
    }
    return 0;
}

#endif /* FUZZ_H */
