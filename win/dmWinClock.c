/*
 * dmWinClock.c --
 *
 *	The monotonic clock on Windows: QueryPerformanceCounter, which
 *	never goes back when the wall clock is set.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

/*
 *----------------------------------------------------------------------
 *
 * DmNowMs, DmNowUs --
 *
 *	The monotonic time in milliseconds and microseconds, from an
 *	arbitrary start.
 *
 * Results:
 *	The time.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int64_t
DmNowUs(void)
{
    static LARGE_INTEGER frequency;	/* Fixed at boot; read once. */
    LARGE_INTEGER now;

    if (frequency.QuadPart == 0) {
	QueryPerformanceFrequency(&frequency);
    }
    QueryPerformanceCounter(&now);
    return (int64_t) (now.QuadPart / frequency.QuadPart) * 1000000
	    + (int64_t) (now.QuadPart % frequency.QuadPart) * 1000000
	    / frequency.QuadPart;
}

int64_t
DmNowMs(void)
{
    return DmNowUs() / 1000;
}
