/*
 * dmClock.c --
 *
 *	The monotonic clock that deadlines and reply times are measured on.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <time.h>

/*
 *----------------------------------------------------------------------
 *
 * DmNowMs --
 *
 *	A monotonic clock for deadlines: wall-clock jumps must not expire or
 *	extend every connection at once.
 *
 * Results:
 *	Milliseconds from an arbitrary origin.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int64_t
DmNowMs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNowUs --
 *
 *	The monotonic clock of DmNowMs, in microseconds, to time replies.
 *
 * Results:
 *	Microseconds from an arbitrary origin.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int64_t
DmNowUs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
