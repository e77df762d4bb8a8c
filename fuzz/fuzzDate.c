/*
 * fuzzDate.c --
 *
 *	libFuzzer harness for the date formatters (generic/dmDate.c).  The
 *	input, up to 8 bytes little-endian and sign-extended from its last
 *	byte, is a time in seconds since the epoch, so short inputs stay
 *	near the present and 8-byte ones reach every int64_t.  A time
 *	outside the years 0000 to 9999 is formatted as the nearest instant
 *	inside them.  For years 1900 to 9999 both formats must match what
 *	the C library's gmtime_r and strftime make of the same time in the
 *	C locale, and before 1900 field by field; for any time they must
 *	fill their buffers (malloc'd to exactly the promised size) with the
 *	right shape.  A broken check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmDate.h"
#include "fuzz.h"

#include <locale.h>
#include <time.h>

/*
 * Called by libFuzzer once, before the first input.
 */

int LLVMFuzzerInitialize(int *argcPtr, char ***argvPtr);
/*
 *----------------------------------------------------------------------
 *
 * CheckShape --
 *
 *	Checks a formatted date against a pattern in which '9' stands for
 *	a digit, "www" for a day name, "mmm" for a month name and every
 *	other byte for itself.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts if the date does not fit the pattern.
 *
 *----------------------------------------------------------------------
 */

static void
CheckShape(
    const char *date,
    const char *pattern)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t i, k, n = strlen(pattern);

    for (i = 0; i < n; i++) {
	if (pattern[i] == '9') {
	    CHECK(date[i] >= '0' && date[i] <= '9');
	} else if (pattern[i] == 'w' || pattern[i] == 'm') {
	    const char *names = (pattern[i] == 'w') ? days : months;

	    for (k = 0; names[k] != '\0'; k += 3) {
		if (memcmp(date + i, names + k, 3) == 0) {
		    break;
		}
	    }
	    CHECK(names[k] != '\0');
	    i += 2;
	} else {
	    CHECK(date[i] == pattern[i]);
	}
    }
    CHECK(date[n] == '\0');
}

/*
 *----------------------------------------------------------------------
 *
 * CompareWithLibc --
 *
 *	Compares both formats of a time with what strftime makes of the
 *	C library's broken-down time for it.  glibc's gmtime_r, like
 *	dmDate.c, counts years on the proleptic Gregorian calendar with a
 *	year 0.  Within 1900..9999 strftime's %Y is the four-digit year and
 *	whole strings compare; before 1900 the year is zero-padded to four
 *	digits, and the rest of the date must still be right.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a difference.
 *
 *----------------------------------------------------------------------
 */

static void
CompareWithLibc(
    const char *http,
    const char *log,
    const struct tm *tmPtr)
{
    int64_t year = (int64_t) tmPtr->tm_year + 1900;
    char expect[64], year4[5];

    if (year >= 1900 && year <= 9999) {
	CHECK(strftime(expect, sizeof(expect), "%a, %d %b %Y %H:%M:%S GMT",
		tmPtr) == DM_HTTP_DATE_LEN);
	CHECK(strcmp(http, expect) == 0);
	CHECK(strftime(expect, sizeof(expect), "%d/%b/%Y:%H:%M:%S +0000",
		tmPtr) == DM_LOG_DATE_LEN);
	CHECK(strcmp(log, expect) == 0);
	return;
    }
    CHECK(year >= 0 && year <= 9999);
    snprintf(year4, sizeof(year4), "%04d", (int) year);
    CHECK(strftime(expect, sizeof(expect), "%a, %d %b ", tmPtr) == 12);
    CHECK(memcmp(http, expect, 12) == 0);
    CHECK(memcmp(http + 12, year4, 4) == 0);
    strftime(expect, sizeof(expect), " %H:%M:%S GMT", tmPtr);
    CHECK(strcmp(http + 16, expect) == 0);
    CHECK(strftime(expect, sizeof(expect), "%d/%b/", tmPtr) == 7);
    CHECK(memcmp(log, expect, 7) == 0);
    CHECK(memcmp(log + 7, year4, 4) == 0);
    strftime(expect, sizeof(expect), ":%H:%M:%S +0000", tmPtr);
    CHECK(strcmp(log + 11, expect) == 0);
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerInitialize --
 *
 *	Selects the C locale, whose day and month names the HTTP and log
 *	formats use, for strftime.
 *
 * Results:
 *	0.
 *
 * Side effects:
 *	Sets the process locale.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerInitialize(
    int *argcPtr,
    char ***argvPtr)
{
    (void) argcPtr;
    (void) argvPtr;
    setlocale(LC_ALL, "C");
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	Formats one time both ways and checks the results.
 *
 * Results:
 *	0 (libFuzzer's "input processed").
 *
 * Side effects:
 *	Aborts the process if a formatter got a date wrong.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    uint64_t bits = 0;
    int64_t seconds;
    size_t i, n = (size < 8) ? size : 8;
    char *http = FuzzAlloc(DM_HTTP_DATE_LEN + 1);
    char *log = FuzzAlloc(DM_LOG_DATE_LEN + 1);
    time_t t;
    struct tm tm;

    for (i = 0; i < n; i++) {
	bits |= (uint64_t) data[i] << (8 * i);
    }
    if (n > 0 && n < 8 && (data[n - 1] & 0x80)) {
	bits |= ~UINT64_C(0) << (8 * n);
    }
    memcpy(&seconds, &bits, sizeof(seconds));

    DmFormatHttpDate(seconds, http);
    DmFormatLogDate(seconds, log);
    CheckShape(http, "www, 99 mmm 9999 99:99:99 GMT");
    CheckShape(log, "99/mmm/9999:99:99:99 +0000");

    if (seconds < INT64_C(-62167219200)) {
	seconds = INT64_C(-62167219200);	/* 0000-01-01T00:00:00Z */
    } else if (seconds > INT64_C(253402300799)) {
	seconds = INT64_C(253402300799);	/* 9999-12-31T23:59:59Z */
    }
    t = (time_t) seconds;
    if ((int64_t) t == seconds && gmtime_r(&t, &tm) != NULL) {
	CompareWithLibc(http, log, &tm);
    }
    free(http);
    free(log);
    return 0;
}
