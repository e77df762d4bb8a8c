/*
 * dmDate.c --
 *
 *	Formats dates for HTTP headers (RFC 9110 IMF-fixdate) and for the
 *	access log (Common Log Format).  Both are UTC and locale-free: the
 *	civil date is computed here rather than through gmtime(), which
 *	keeps the code pure and safe for any 64-bit time.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmDate.h"

#include <string.h>

static const char dayNames[7][4] = {
    "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"	/* 1970-01-01 was a Thursday. */
};
static const char monthNames[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/*
 * 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
 */

#define MIN_SECONDS	(-62167219200LL)
#define MAX_SECONDS	253402300799LL

typedef struct CivilTime {
    int64_t year;
    int month;			/* 1..12 */
    int day;			/* 1..31 */
    int hour, minute, second;
    int weekday;		/* Index into dayNames. */
} CivilTime;

/*
 *----------------------------------------------------------------------
 *
 * ToCivil --
 *
 *	Splits seconds since the epoch into a proleptic Gregorian UTC date
 *	(the days-to-civil algorithm over 400-year eras).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *ct.
 *
 *----------------------------------------------------------------------
 */

static void
ToCivil(
    int64_t seconds,
    CivilTime *ct)
{
    int64_t days, secs, era, doe, yoe, doy, mp;

    /*
     * Dates print four-digit years: a time outside them is shown as the
     * nearest one inside, a real date with its own weekday.
     */

    if (seconds < MIN_SECONDS) {
	seconds = MIN_SECONDS;
    } else if (seconds > MAX_SECONDS) {
	seconds = MAX_SECONDS;
    }
    days = seconds / 86400;
    secs = seconds % 86400;

    if (secs < 0) {
	secs += 86400;
	days--;
    }
    ct->hour = (int) (secs / 3600);
    ct->minute = (int) (secs / 60 % 60);
    ct->second = (int) (secs % 60);
    ct->weekday = (int) (((days % 7) + 7) % 7);

    days += 719468;			/* Shift the epoch to 0000-03-01. */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    ct->day = (int) (doy - (153 * mp + 2) / 5 + 1);
    ct->month = (int) (mp < 10 ? mp + 3 : mp - 9);
    ct->year = yoe + era * 400 + (ct->month <= 2);
}

/*
 *----------------------------------------------------------------------
 *
 * Put2, Put4 --
 *
 *	Write a zero-padded 2- or 4-digit number (0 to 99, or 0 to 9999).
 *
 * Results:
 *	The position after the digits.
 *
 * Side effects:
 *	Writes to buf.
 *
 *----------------------------------------------------------------------
 */

static char *
Put2(
    char *buf,
    int n)
{
    buf[0] = (char) ('0' + n / 10);
    buf[1] = (char) ('0' + n % 10);
    return buf + 2;
}

static char *
Put4(
    char *buf,
    int64_t n)
{
    buf = Put2(buf, (int) (n / 100));
    return Put2(buf, (int) (n % 100));
}

/*
 *----------------------------------------------------------------------
 *
 * PutTime --
 *
 *	Writes "hh:mm:ss".
 *
 * Results:
 *	The position after it.
 *
 * Side effects:
 *	Writes 8 bytes to buf.
 *
 *----------------------------------------------------------------------
 */

static char *
PutTime(
    char *buf,
    const CivilTime *ct)
{
    buf = Put2(buf, ct->hour);
    *buf++ = ':';
    buf = Put2(buf, ct->minute);
    *buf++ = ':';
    return Put2(buf, ct->second);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormatHttpDate --
 *
 *	Formats "Sun, 06 Nov 1994 08:49:37 GMT".
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes DM_HTTP_DATE_LEN + 1 bytes (with the NUL) to buf.
 *
 *----------------------------------------------------------------------
 */

void
DmFormatHttpDate(
    int64_t seconds,
    char *buf)
{
    CivilTime ct;
    char *p = buf;

    ToCivil(seconds, &ct);
    memcpy(p, dayNames[ct.weekday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = Put2(p, ct.day);
    *p++ = ' ';
    memcpy(p, monthNames[ct.month - 1], 3);
    p += 3;
    *p++ = ' ';
    p = Put4(p, ct.year);
    *p++ = ' ';
    p = PutTime(p, &ct);
    memcpy(p, " GMT", 5);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormatLogDate --
 *
 *	Formats "06/Nov/1994:08:49:37 +0000" for the access log.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes DM_LOG_DATE_LEN + 1 bytes (with the NUL) to buf.
 *
 *----------------------------------------------------------------------
 */

void
DmFormatLogDate(
    int64_t seconds,
    char *buf)
{
    CivilTime ct;
    char *p = buf;

    ToCivil(seconds, &ct);
    p = Put2(p, ct.day);
    *p++ = '/';
    memcpy(p, monthNames[ct.month - 1], 3);
    p += 3;
    *p++ = '/';
    p = Put4(p, ct.year);
    *p++ = ':';
    p = PutTime(p, &ct);
    memcpy(p, " +0000", 7);
}
