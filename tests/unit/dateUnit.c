/*
 * dateUnit.c --
 *
 *	Unit tests of the date formatters (generic/dmDate.c): known dates,
 *	then many times from 1900 to 9999 compared with what the C library
 *	makes of them, and earlier years compared with the library's broken-
 *	down time.  Every output goes to a malloc'd block of exactly the
 *	documented size, so a build with -fsanitize=address turns a write
 *	past it into a failure.  Build and run:
 *
 *	    cc -Igeneric tests/unit/dateUnit.c generic/dmDate.c -o dateUnit
 *	    ./dateUnit
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#define _DEFAULT_SOURCE		/* For timegm(). */

#include "dmDate.h"

#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RANDOM_TIMES	60000
#define RANDOM_SEED	0x2545f4914f6cdd1dULL

/*
 * Failures tend to come in bulk; only this many lines are printed, the
 * rest are only counted.
 */

#define MAX_PRINTED	30

static int passed, failed;
static int caseFailed;		/* The running case has failed a check. */
static int printed;		/* Failure lines printed so far. */

/*
 * One known date in both formats.
 */

typedef struct DateCase {
    int64_t seconds;
    const char *http;
    const char *log;
} DateCase;

static const DateCase dateCases[] = {
    {0, "Thu, 01 Jan 1970 00:00:00 GMT", "01/Jan/1970:00:00:00 +0000"},
    {-1, "Wed, 31 Dec 1969 23:59:59 GMT", "31/Dec/1969:23:59:59 +0000"},
    {784111777, "Sun, 06 Nov 1994 08:49:37 GMT",
	"06/Nov/1994:08:49:37 +0000"},
    {951782400, "Tue, 29 Feb 2000 00:00:00 GMT",
	"29/Feb/2000:00:00:00 +0000"},
    {951868799, "Tue, 29 Feb 2000 23:59:59 GMT",
	"29/Feb/2000:23:59:59 +0000"},
    {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT",
	"01/Jan/2100:00:00:00 +0000"},
    {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT",
	"01/Mar/2100:00:00:00 +0000"},
    {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT",
	"19/Jan/2038:03:14:07 +0000"},
    {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT",
	"19/Jan/2038:03:14:08 +0000"},
    {-2208988800, "Mon, 01 Jan 1900 00:00:00 GMT",
	"01/Jan/1900:00:00:00 +0000"},
    {-2203891200, "Thu, 01 Mar 1900 00:00:00 GMT",
	"01/Mar/1900:00:00:00 +0000"},
    {-86401, "Tue, 30 Dec 1969 23:59:59 GMT", "30/Dec/1969:23:59:59 +0000"},
    {-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT",
	"01/Jan/0001:00:00:00 +0000"},
    {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT",
	"31/Dec/9999:23:59:59 +0000"},
    /* Outside four-digit years: the nearest instant inside, a real date
     * with its own weekday. */
    {253402300800, "Fri, 31 Dec 9999 23:59:59 GMT",
	"31/Dec/9999:23:59:59 +0000"},
    {9000000000000, "Fri, 31 Dec 9999 23:59:59 GMT",
	"31/Dec/9999:23:59:59 +0000"},
    {INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT",
	"31/Dec/9999:23:59:59 +0000"},
    {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT",
	"01/Jan/0000:00:00:00 +0000"},
    {-62167219201, "Sat, 01 Jan 0000 00:00:00 GMT",
	"01/Jan/0000:00:00:00 +0000"},
    {INT64_MIN, "Sat, 01 Jan 0000 00:00:00 GMT",
	"01/Jan/0000:00:00:00 +0000"},
};

/*
 *----------------------------------------------------------------------
 *
 * Fail --
 *
 *	Reports one failed check of the running case, unless enough
 *	failures have been printed already.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May print a line to stdout; marks the case as failed.
 *
 *----------------------------------------------------------------------
 */

static void
Fail(
    const char *format,
    ...)
{
    va_list ap;

    caseFailed = 1;
    if (printed++ >= MAX_PRINTED) {
	return;
    }
    printf("FAIL ");
    va_start(ap, format);
    vprintf(format, ap);
    va_end(ap);
    putchar('\n');
}

/*
 *----------------------------------------------------------------------
 *
 * Format --
 *
 *	Runs one formatter into a malloc'd block of exactly size bytes.
 *
 * Results:
 *	The block; the caller frees it.
 *
 * Side effects:
 *	Exits if memory runs out.
 *
 *----------------------------------------------------------------------
 */

static char *
Format(
    void (*formatProc)(int64_t, char *),
    int64_t seconds,
    size_t size)
{
    char *buf = malloc(size);

    if (buf == NULL) {
	perror("malloc");
	exit(2);
    }
    formatProc(seconds, buf);
    return buf;
}

/*
 *----------------------------------------------------------------------
 *
 * Check --
 *
 *	Formats one time both ways and compares with the expected
 *	strings, counting it as one case.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case; reports failures.
 *
 *----------------------------------------------------------------------
 */

static void
Check(
    int64_t seconds,
    const char *http,
    const char *log)
{
    char *got;

    caseFailed = 0;
    got = Format(DmFormatHttpDate, seconds, DM_HTTP_DATE_LEN + 1);
    if (strlen(http) != DM_HTTP_DATE_LEN) {
	Fail("%" PRId64 ": expected HTTP date \"%s\" is not %d bytes",
		seconds, http, DM_HTTP_DATE_LEN);
    } else if (memcmp(got, http, DM_HTTP_DATE_LEN + 1) != 0) {
	Fail("%" PRId64 ": HTTP date \"%.*s\", expected \"%s\"", seconds,
		DM_HTTP_DATE_LEN, got, http);
    }
    free(got);
    got = Format(DmFormatLogDate, seconds, DM_LOG_DATE_LEN + 1);
    if (strlen(log) != DM_LOG_DATE_LEN) {
	Fail("%" PRId64 ": expected log date \"%s\" is not %d bytes",
		seconds, log, DM_LOG_DATE_LEN);
    } else if (memcmp(got, log, DM_LOG_DATE_LEN + 1) != 0) {
	Fail("%" PRId64 ": log date \"%.*s\", expected \"%s\"", seconds,
		DM_LOG_DATE_LEN, got, log);
    }
    free(got);
    if (caseFailed) {
	failed++;
    } else {
	passed++;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CheckAgainstLibrary --
 *
 *	Compares both formats of one time with the C library's: strftime
 *	for years 1900 to 9999, whose %Y is four digits, and the fields of
 *	gmtime_r otherwise, the year zero-padded as HTTP wants it.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case; reports failures.
 *
 *----------------------------------------------------------------------
 */

static void
CheckAgainstLibrary(
    int64_t seconds)
{
    static const char *const days[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    time_t t = (time_t) seconds;
    struct tm tm;
    char http[64], log[64];

    if (gmtime_r(&t, &tm) == NULL) {
	caseFailed = 0;
	Fail("%" PRId64 ": gmtime_r failed", seconds);
	failed++;
	return;
    }
    if (tm.tm_year >= 0 && tm.tm_year <= 9999 - 1900) {
	strftime(http, sizeof(http), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	strftime(log, sizeof(log), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    } else {
	snprintf(http, sizeof(http), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(log, sizeof(log), "%02d/%s/%04d:%02d:%02d:%02d +0000",
		tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    Check(seconds, http, log);
}

/*
 *----------------------------------------------------------------------
 *
 * MonthStart --
 *
 *	The time at which a month of a year begins, by the C library.
 *
 * Results:
 *	Seconds since the epoch.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int64_t
MonthStart(
    int year,
    int month)			/* 0..11 */
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = 1;
    return (int64_t) timegm(&tm);
}

/*
 *----------------------------------------------------------------------
 *
 * Random --
 *
 *	A xorshift64* generator, so every run sees the same times.
 *
 * Results:
 *	The next 64-bit value.
 *
 * Side effects:
 *	Advances *state.
 *
 *----------------------------------------------------------------------
 */

static uint64_t
Random(
    uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/*
 *----------------------------------------------------------------------
 *
 * main --
 *
 *	Runs every case and prints the totals.
 *
 * Results:
 *	Exit status 0 if all cases passed, 1 if any failed.
 *
 * Side effects:
 *	Prints failures and the summary line.
 *
 *----------------------------------------------------------------------
 */

int
main(void)
{
    const int64_t first = MonthStart(1900, 0);
    const int64_t last = MonthStart(10000, 0) - 1;
    uint64_t state = RANDOM_SEED;
    size_t i;
    int year, n;

    /* The library's names must be the English ones HTTP uses. */
    setlocale(LC_ALL, "C");

    for (i = 0; i < sizeof(dateCases) / sizeof(dateCases[0]); i++) {
	Check(dateCases[i].seconds, dateCases[i].http, dateCases[i].log);
    }

    /*
     * Around each year's end and each Feb 28/29/Mar 1, where a date
     * calculation most often goes wrong.
     */

    for (year = 1900; year <= 9999; year++) {
	int64_t jan = MonthStart(year, 0), mar = MonthStart(year, 2);

	if (year > 1900) {
	    CheckAgainstLibrary(jan - 1);
	}
	CheckAgainstLibrary(jan);
	CheckAgainstLibrary(mar - 1);
	CheckAgainstLibrary(mar);
	CheckAgainstLibrary(mar - 86400 - 43200);
    }

    /* Anywhere in 1900..9999, and three weeks either side of the epoch. */
    for (n = 0; n < RANDOM_TIMES; n++) {
	uint64_t r = Random(&state);

	CheckAgainstLibrary(first + (int64_t) (r % (uint64_t) (last - first
		+ 1)));
    }
    for (n = -50000; n < 50000; n += 7) {
	CheckAgainstLibrary((int64_t) n * 37);
    }

    /* Years 1 to 1899, proleptic Gregorian as the library has it. */
    for (n = 0; n < 10000; n++) {
	uint64_t r = Random(&state);
	int64_t start = MonthStart(1, 0);

	CheckAgainstLibrary(start + (int64_t) (r % (uint64_t) (first - start)));
    }

    if (printed > MAX_PRINTED) {
	printf("(%d more failure lines not shown)\n", printed - MAX_PRINTED);
    }
    printf("dateUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
