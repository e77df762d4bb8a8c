/*
 * dmDate.c --
 *
 *	Formats dates for HTTP headers (RFC 9110 IMF-fixdate) and for the
 *	access log (Common Log Format), and reads the HTTP-dates requests
 *	carry (If-Modified-Since and the like).  All UTC and locale-free: the
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

/*
 *----------------------------------------------------------------------
 *
 * DmFormatIsoDate --
 *
 *	Formats "1994-11-06T08:49:37Z" (ISO 8601, RFC 3339) for listings.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes DM_ISO_DATE_LEN + 1 bytes (with the NUL) to buf.
 *
 *----------------------------------------------------------------------
 */

void
DmFormatIsoDate(
    int64_t seconds,
    char *buf)
{
    CivilTime ct;
    char *p = buf;

    ToCivil(seconds, &ct);
    p = Put4(p, ct.year);
    *p++ = '-';
    p = Put2(p, ct.month);
    *p++ = '-';
    p = Put2(p, ct.day);
    *p++ = 'T';
    p = PutTime(p, &ct);
    memcpy(p, "Z", 2);
}

/*
 *----------------------------------------------------------------------
 *
 * FromCivil --
 *
 *	Seconds since the epoch of a proleptic Gregorian UTC date (the
 *	civil-to-days algorithm, the inverse of ToCivil).
 *
 * Results:
 *	The seconds.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int64_t
FromCivil(
    const CivilTime *ct)
{
    int64_t y = ct->year - (ct->month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (ct->month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + ct->day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;

    return days * 86400 + ct->hour * 3600 + ct->minute * 60 + ct->second;
}

/*
 *----------------------------------------------------------------------
 *
 * Digits, MonthIndex, DayIndex --
 *
 *	Read exactly n decimal digits; a month name; a day name (long or
 *	short).
 *
 * Results:
 *	The number, or -1; the month 1..12, or 0; the length of the day
 *	name read, or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
Digits(
    const char *p,
    int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
	if (p[i] < '0' || p[i] > '9') {
	    return -1;
	}
	v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int
MonthIndex(
    const char *p)
{
    int i;

    for (i = 0; i < 12; i++) {
	if (memcmp(p, monthNames[i], 3) == 0) {
	    return i + 1;
	}
    }
    return 0;
}

static size_t
DayIndex(
    const char *p,
    size_t len,
    int longName)
{
    static const char *const longNames[7] = {
	"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday",
	"Wednesday"
    };
    int i;

    for (i = 0; i < 7; i++) {
	size_t n = longName ? strlen(longNames[i]) : 3;

	if (len >= n && memcmp(p, longName ? longNames[i] : dayNames[i],
		n) == 0) {
	    return n;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseHttpDate --
 *
 *	Reads an HTTP-date (RFC 9110 5.6.7) in any of its three forms:
 *	    IMF-fixdate	"Sun, 06 Nov 1994 08:49:37 GMT"
 *	    RFC 850	"Sunday, 06-Nov-94 08:49:37 GMT"
 *	    asctime	"Sun Nov  6 08:49:37 1994"
 *	A two-digit year is the one within 50 years of now (nowSeconds),
 *	as RFC 9110 asks.  The day name is not checked against the date.
 *
 * Results:
 *	0 with *secondsPtr set, or -1 if s[0..len) is not an HTTP-date.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmParseHttpDate(
    const char *s,
    size_t len,
    int64_t nowSeconds,
    int64_t *secondsPtr)
{
    CivilTime ct;
    const char *p;
    size_t n;
    int leap;
    static const int monthDays[12] = {
	31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    memset(&ct, 0, sizeof(ct));
    if (len == 29 && DayIndex(s, len, 0) == 3 && s[3] == ',' && s[4] == ' '
	    && s[7] == ' ' && s[11] == ' ' && s[16] == ' '
	    && memcmp(s + 25, " GMT", 4) == 0) {
	ct.day = Digits(s + 5, 2);
	ct.month = MonthIndex(s + 8);
	ct.year = Digits(s + 12, 4);
	p = s + 17;
    } else if ((n = DayIndex(s, len, 1)) > 0 && len == n + 24
	    && s[n] == ',' && s[n + 1] == ' ' && s[n + 4] == '-'
	    && s[n + 8] == '-' && s[n + 11] == ' '
	    && memcmp(s + n + 20, " GMT", 4) == 0) {
	int yy = Digits(s + n + 9, 2);
	int64_t nowYear;

	ct.day = Digits(s + n + 2, 2);
	ct.month = MonthIndex(s + n + 5);
	p = s + n + 12;
	if (yy < 0) {
	    return -1;
	}

	/*
	 * The year of that century within 50 years of now.
	 */

	{
	    CivilTime now;

	    ToCivil(nowSeconds, &now);
	    nowYear = now.year;
	}
	ct.year = nowYear - nowYear % 100 + yy;
	if (ct.year > nowYear + 50) {
	    ct.year -= 100;
	}
    } else if (len == 24 && DayIndex(s, len, 0) == 3 && s[3] == ' '
	    && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
	ct.month = MonthIndex(s + 4);
	ct.day = (s[8] == ' ') ? Digits(s + 9, 1) : Digits(s + 8, 2);
	ct.year = Digits(s + 20, 4);
	p = s + 11;
    } else {
	return -1;
    }

    /*
     * The time, "hh:mm:ss", at p in each form.
     */

    if (p[2] != ':' || p[5] != ':') {
	return -1;
    }
    ct.hour = Digits(p, 2);
    ct.minute = Digits(p + 3, 2);
    ct.second = Digits(p + 6, 2);
    leap = (ct.year % 4 == 0 && (ct.year % 100 != 0 || ct.year % 400 == 0));
    if (ct.year < 0 || ct.month == 0 || ct.day < 1
	    || ct.day > monthDays[ct.month - 1]
	    || (ct.month == 2 && ct.day == 29 && !leap)
	    || ct.hour < 0 || ct.hour > 23 || ct.minute < 0 || ct.minute > 59
	    || ct.second < 0 || ct.second > 60) {
	return -1;
    }
    if (ct.second == 60) {
	ct.second = 59;			/* A leap second: its last instant. */
    }
    *secondsPtr = FromCivil(&ct);
    return 0;
}
