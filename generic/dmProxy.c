/*
 * dmProxy.c --
 *
 *	The client's address behind a load balancer: the PROXY protocol
 *	header that starts a connection (versions 1 and 2 of HAProxy's
 *	specification), and the X-Forwarded-For and Forwarded (RFC 7239)
 *	fields of proxies the server trusts; with the IP address and CIDR
 *	readers and the address writer they need.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmProxy.h"
#include "dmAscii.h"

#include <string.h>

#define V1_MAX		107	/* The longest version 1 line, CRLF in. */
#define MAX_HOPS	64	/* Forwarded elements looked at, from the
				 * right. */

static const char v2Signature[12] = {
    '\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'
};

/*
 *----------------------------------------------------------------------
 *
 * ParseIPv4 --
 *
 *	Reads a dotted quad: four decimal numbers from 0 to 255, without
 *	leading zeros (which some readers take for octal).
 *
 * Results:
 *	1 with out[0..4) filled, or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
ParseIPv4(
    const char *s,
    size_t len,
    unsigned char *out)
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
	int value = 0, digits = 0;

	if (part > 0) {
	    if (i >= len || s[i] != '.') {
		return 0;
	    }
	    i++;
	}
	while (i < len && s[i] >= '0' && s[i] <= '9') {
	    if (digits > 0 && value == 0) {
		return 0;		/* A leading zero. */
	    }
	    value = value * 10 + (s[i++] - '0');
	    if (++digits > 3 || value > 255) {
		return 0;
	    }
	}
	if (digits == 0) {
	    return 0;
	}
	out[part] = (unsigned char) value;
    }
    return i == len;
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseAddress --
 *
 *	Reads an IPv4 address or an IPv6 address (RFC 4291 2.2: groups of
 *	hexadecimal digits, one "::", a dotted quad at the end; no zone).
 *	An IPv4-mapped IPv6 address gives the IPv4 address.
 *
 * Results:
 *	1 with *addrPtr filled, or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmParseAddress(
    const char *s,
    size_t len,
    DmAddress *addrPtr)
{
    static const unsigned char mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    unsigned char a[16];
    int groups = 0, gap = -1;
    size_t i = 0;

    memset(addrPtr, 0, sizeof(*addrPtr));
    if (len > 0 && len < 16 && memchr(s, ':', len) == NULL) {
	if (!ParseIPv4(s, len, addrPtr->addr)) {
	    return 0;
	}
	addrPtr->family = 4;
	return 1;
    }
    if (len < 2 || len >= DM_ADDRESS_TEXT) {
	return 0;
    }
    if (s[0] == ':') {
	if (s[1] != ':') {
	    return 0;
	}
	gap = 0;
	i = 2;
    }
    memset(a, 0, sizeof(a));
    while (i < len) {
	size_t start = i;
	int value = 0, digits = 0, d;

	if (groups == 8) {
	    return 0;
	}
	while (i < len && (d = DmHexValue((unsigned char) s[i])) >= 0) {
	    value = value * 16 + d;
	    i++;
	    if (++digits > 4) {
		return 0;
	    }
	}
	if (i < len && s[i] == '.') {
	    /*
	     * A dotted quad ends the address, in its last 32 bits.
	     */

	    if (groups > 6 || !ParseIPv4(s + start, len - start,
		    a + 2 * groups)) {
		return 0;
	    }
	    groups += 2;
	    break;
	}
	if (digits == 0) {
	    return 0;
	}
	a[2 * groups] = (unsigned char) (value >> 8);
	a[2 * groups + 1] = (unsigned char) value;
	groups++;
	if (i == len) {
	    break;
	}
	if (s[i] != ':' || ++i == len) {
	    return 0;			/* Junk, or a lone final ':'. */
	}
	if (s[i] == ':') {
	    if (gap >= 0) {
		return 0;		/* A second "::". */
	    }
	    gap = groups;
	    i++;
	}
    }
    if (gap >= 0) {
	int tail = groups - gap;

	if (groups > 7) {
	    return 0;			/* "::" stands for at least one. */
	}
	memmove(a + 16 - 2 * tail, a + 2 * gap, (size_t) (2 * tail));
	memset(a + 2 * gap, 0, (size_t) (16 - 2 * groups));
    } else if (groups != 8) {
	return 0;
    }
    if (memcmp(a, mapped, sizeof(mapped)) == 0) {
	addrPtr->family = 4;
	memcpy(addrPtr->addr, a + 12, 4);
    } else {
	addrPtr->family = 6;
	memcpy(addrPtr->addr, a, 16);
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormatAddress --
 *
 *	Writes an address as text: a dotted quad, or IPv6 in the form of
 *	RFC 5952 (lower case, no leading zeros, the longest run of two or
 *	more zero groups as "::").
 *
 * Results:
 *	Its length.
 *
 * Side effects:
 *	Writes a NUL-terminated string of at most DM_ADDRESS_TEXT bytes.
 *
 *----------------------------------------------------------------------
 */

size_t
DmFormatAddress(
    const DmAddress *addrPtr,
    char *buf)
{
    const unsigned char *a = addrPtr->addr;
    char *p = buf;
    int i, best = -1, bestLen = 1, run = 0;

    if (addrPtr->family == 4) {
	for (i = 0; i < 4; i++) {
	    int v = a[i];

	    if (i > 0) {
		*p++ = '.';
	    }
	    if (v >= 100) {
		*p++ = (char) ('0' + v / 100);
	    }
	    if (v >= 10) {
		*p++ = (char) ('0' + v / 10 % 10);
	    }
	    *p++ = (char) ('0' + v % 10);
	}
	*p = '\0';
	return (size_t) (p - buf);
    }
    for (i = 0; i < 8; i++) {
	if (a[2 * i] == 0 && a[2 * i + 1] == 0) {
	    if (++run > bestLen) {
		bestLen = run;
		best = i - run + 1;
	    }
	} else {
	    run = 0;
	}
    }
    for (i = 0; i < 8; i++) {
	int v = (a[2 * i] << 8) | a[2 * i + 1], shift, started = 0;

	if (i == best) {
	    *p++ = ':';
	    *p++ = ':';
	    i += bestLen - 1;
	    continue;
	}
	if (i > 0 && i != best + bestLen) {
	    *p++ = ':';
	}
	for (shift = 12; shift >= 0; shift -= 4) {
	    int d = (v >> shift) & 15;

	    if (d != 0 || started || shift == 0) {
		*p++ = DmHexDigit((unsigned) d);
		started = 1;
	    }
	}
    }
    *p = '\0';
    return (size_t) (p - buf);
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseCidr --
 *
 *	Reads "ADDRESS/BITS", or an address alone (all its bits).
 *
 * Results:
 *	1 with *cidrPtr filled, or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmParseCidr(
    const char *s,
    size_t len,
    DmCidr *cidrPtr)
{
    const char *slash = memchr(s, '/', len);
    size_t addrLen = slash ? (size_t) (slash - s) : len;
    int bits = 0, max;
    const char *p;

    if (!DmParseAddress(s, addrLen, &cidrPtr->base)) {
	return 0;
    }
    max = (cidrPtr->base.family == 4) ? 32 : 128;
    if (slash == NULL) {
	cidrPtr->bits = max;
	return 1;
    }
    if (slash + 1 == s + len || s + len - slash > 4) {
	return 0;
    }
    for (p = slash + 1; p < s + len; p++) {
	if (*p < '0' || *p > '9') {
	    return 0;
	}
	bits = bits * 10 + (*p - '0');
    }
    if (bits > max) {
	return 0;
    }
    cidrPtr->bits = bits;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCidrMatch --
 *
 *	Whether an address is in any of the ranges.
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmCidrMatch(
    const DmCidr *cidrs,
    int count,
    const DmAddress *addrPtr)
{
    int i;

    for (i = 0; i < count; i++) {
	const DmCidr *c = &cidrs[i];
	int whole = c->bits / 8, rest = c->bits % 8;

	if (c->base.family != addrPtr->family
		|| memcmp(c->base.addr, addrPtr->addr, (size_t) whole) != 0) {
	    continue;
	}
	if (rest == 0 || ((c->base.addr[whole] ^ addrPtr->addr[whole])
		& (0xff << (8 - rest)) & 0xff) == 0) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * ParsePort --
 *
 *	Reads a port of a version 1 header: 0 to 65535, no leading zero.
 *
 * Results:
 *	The port, or -1.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
ParsePort(
    const char *s,
    size_t len)
{
    int value = 0;
    size_t i;

    if (len == 0 || len > 5 || (len > 1 && s[0] == '0')) {
	return -1;
    }
    for (i = 0; i < len; i++) {
	if (s[i] < '0' || s[i] > '9') {
	    return -1;
	}
	value = value * 10 + (s[i] - '0');
    }
    return (value > 65535) ? -1 : value;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseV1, ParseV2 --
 *
 *	Read a version 1 line ("PROXY TCP4 SRC DST SPORT DPORT\r\n", or
 *	"PROXY UNKNOWN ...\r\n"), or a version 2 binary header.
 *
 * Results:
 *	As DmParseProxy.
 *
 * Side effects:
 *	Fill *infoPtr.
 *
 *----------------------------------------------------------------------
 */

static long
ParseV1(
    const char *buf,
    size_t len,
    DmProxyInfo *infoPtr)
{
    const char *nl = memchr(buf, '\n', len < V1_MAX ? len : V1_MAX);
    const char *field[5], *p, *end;
    size_t fieldLen[5];
    DmAddress dst;
    int n = 0, family;

    if (nl == NULL) {
	return (len >= V1_MAX) ? -1 : 0;
    }
    if (nl[-1] != '\r') {
	return -1;
    }
    p = buf + 6;			/* After "PROXY ". */
    end = nl - 1;
    if (end - p >= 7 && memcmp(p, "UNKNOWN", 7) == 0
	    && (end - p == 7 || p[7] == ' ')) {
	return (long) (nl + 1 - buf);	/* The rest says nothing. */
    }
    if (end - p < 5 || memcmp(p, "TCP", 3) != 0 || (p[3] != '4'
	    && p[3] != '6') || p[4] != ' ') {
	return -1;
    }
    family = p[3] - '0';
    for (p += 5; n < 5; n++) {
	const char *sp = memchr(p, ' ', (size_t) (end - p));

	field[n] = p;
	fieldLen[n] = (size_t) ((sp != NULL ? sp : end) - p);
	if (sp == NULL) {
	    break;
	}
	p = sp + 1;
    }
    if (n != 3 || fieldLen[3] == 0) {
	return -1;			/* Four fields, single spaces. */
    }
    if (!DmParseAddress(field[0], fieldLen[0], &infoPtr->client)
	    || !DmParseAddress(field[1], fieldLen[1], &dst)
	    || (family == 4 && (memchr(field[0], ':', fieldLen[0]) != NULL
		|| memchr(field[1], ':', fieldLen[1]) != NULL))
	    || (family == 6 && (memchr(field[0], ':', fieldLen[0]) == NULL
		|| memchr(field[1], ':', fieldLen[1]) == NULL))
	    || (infoPtr->port = ParsePort(field[2], fieldLen[2])) < 0
	    || ParsePort(field[3], fieldLen[3]) < 0) {
	memset(infoPtr, 0, sizeof(*infoPtr));
	return -1;
    }
    return (long) (nl + 1 - buf);
}

static long
ParseV2(
    const unsigned char *buf,
    size_t len,
    DmProxyInfo *infoPtr)
{
    size_t bodyLen;
    int command;

    if (len < 16) {
	return 0;
    }
    if ((buf[12] >> 4) != 2 || (command = buf[12] & 15) > 1) {
	return -1;
    }
    bodyLen = ((size_t) buf[14] << 8) | buf[15];
    if (16 + bodyLen > DM_PROXY_V2_MAX) {
	return -1;
    }
    if (len < 16 + bodyLen) {
	return 0;
    }
    if (command == 0 || (buf[13] & 15) != 1) {
	return (long) (16 + bodyLen);	/* LOCAL, or not over a stream. */
    }
    switch (buf[13] >> 4) {
    case 0:				/* Unspecified. */
    case 3:				/* A Unix socket. */
	break;
    case 1:
	if (bodyLen < 12) {
	    return -1;
	}
	infoPtr->client.family = 4;
	memcpy(infoPtr->client.addr, buf + 16, 4);
	infoPtr->port = (buf[24] << 8) | buf[25];
	break;
    case 2: {
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (bodyLen < 36) {
	    return -1;
	}
	if (memcmp(buf + 16, mapped, sizeof(mapped)) == 0) {
	    infoPtr->client.family = 4;
	    memcpy(infoPtr->client.addr, buf + 28, 4);
	} else {
	    infoPtr->client.family = 6;
	    memcpy(infoPtr->client.addr, buf + 16, 16);
	}
	infoPtr->port = (buf[48] << 8) | buf[49];
	break;
    }
    default:
	return -1;
    }
    return (long) (16 + bodyLen);
}

/*
 *----------------------------------------------------------------------
 *
 * DmParseProxy --
 *
 *	Reads the PROXY protocol header a connection must start with.
 *
 * Results:
 *	The header's length; 0 if more bytes are needed to tell; -1 if it
 *	is not a valid header (the connection is to be closed).
 *
 * Side effects:
 *	Fills *infoPtr (client family 0: keep the connection's address).
 *
 *----------------------------------------------------------------------
 */

long
DmParseProxy(
    const char *buf,
    size_t len,
    DmProxyInfo *infoPtr)
{
    size_t n;

    memset(infoPtr, 0, sizeof(*infoPtr));
    if (len == 0) {
	return 0;
    }
    if (buf[0] == 'P') {
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) != 0) {
	    return -1;
	}
	return (len < 6) ? 0 : ParseV1(buf, len, infoPtr);
    }
    n = len < sizeof(v2Signature) ? len : sizeof(v2Signature);
    if (memcmp(buf, v2Signature, n) != 0) {
	return -1;
    }
    return ParseV2((const unsigned char *) buf, len, infoPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * HopAddress, ForwardedFor --
 *
 *	The address of one hop: an X-Forwarded-For element, or the "for"
 *	parameter (a token or a quoted string) of a Forwarded element;
 *	either with a port, or brackets around IPv6, taken off.
 *
 * Results:
 *	1 with *addrPtr filled; 0 if there is no address (no "for", or
 *	"unknown", an obfuscated name, anything else).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
HopAddress(
    const char *s,
    size_t len,
    DmAddress *addrPtr)
{
    const char *colon;

    if (len > 0 && s[0] == '[') {
	const char *close = memchr(s, ']', len);

	if (close == NULL || (close + 1 != s + len && close[1] != ':')) {
	    return 0;
	}
	return DmParseAddress(s + 1, (size_t) (close - s - 1), addrPtr);
    }
    colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', (size_t) (s + len - colon
	    - 1)) == NULL) {
	len = (size_t) (colon - s);	/* IPv4 with a port. */
    }
    return DmParseAddress(s, len, addrPtr);
}

static int
ForwardedFor(
    const char *s,
    size_t len,
    DmAddress *addrPtr)
{
    const char *p = s, *end = s + len;

    while (p < end) {
	const char *pair = p, *semi, *value;
	size_t valueLen;

	while (pair < end && (*pair == ' ' || *pair == '\t')) {
	    pair++;
	}
	semi = memchr(pair, ';', (size_t) (end - pair));
	p = semi ? semi + 1 : end;
	if (end - pair < 4 || !DmEqualFold(pair, 4, "for=")) {
	    continue;
	}
	value = pair + 4;
	valueLen = (size_t) ((semi ? semi : end) - value);
	while (valueLen > 0 && (value[valueLen - 1] == ' '
		|| value[valueLen - 1] == '\t')) {
	    valueLen--;
	}
	if (valueLen >= 2 && value[0] == '"' && value[valueLen - 1] == '"') {
	    value++;
	    valueLen -= 2;
	}
	return HopAddress(value, valueLen, addrPtr);
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmForwardedClient --
 *
 *	The client's address by the fields of proxies the server trusts:
 *	Forwarded if the request has it, else X-Forwarded-For.  The hops
 *	are read from the right (the one the nearest proxy added) and
 *	trusted ones skipped; the first that is not trusted is the client
 *	(all trusted: the leftmost).  A hop that gives no address stops
 *	the walk with no answer, so a client cannot hide behind garbage.
 *	(A comma inside a quoted Forwarded value would split it: no valid
 *	"for" value holds one.)
 *
 * Results:
 *	1 with *clientPtr filled, or 0 (no such field, or no answer).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmForwardedClient(
    const DmList *forwarded,
    const DmList *xff,
    const DmCidr *trusted,
    int count,
    DmAddress *clientPtr)
{
    const DmList *list = (forwarded->count != 0) ? forwarded : xff;
    DmSpan hops[MAX_HOPS];
    int n = 0, i;

    if (list->count <= 0) {
	return 0;
    }
    for (i = 0; i < list->count; i++) {
	const char *p = list->line[i].ptr, *end = p + list->line[i].len;

	while (p < end) {
	    const char *comma = memchr(p, ',', (size_t) (end - p));
	    const char *e = comma ? comma : end;

	    while (p < e && (*p == ' ' || *p == '\t')) {
		p++;
	    }
	    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
		e--;
	    }
	    if (e > p) {
		if (n == MAX_HOPS) {	/* The rightmost are kept. */
		    memmove(hops, hops + 1, (MAX_HOPS - 1) * sizeof(DmSpan));
		    n--;
		}
		hops[n].ptr = p;
		hops[n++].len = (size_t) (e - p);
	    }
	    p = comma ? comma + 1 : end;
	}
    }
    for (i = n - 1; i >= 0; i--) {
	DmAddress a;
	int ok = (list == forwarded)
		? ForwardedFor(hops[i].ptr, hops[i].len, &a)
		: HopAddress(hops[i].ptr, hops[i].len, &a);

	if (!ok) {
	    return 0;
	}
	*clientPtr = a;
	if (!DmCidrMatch(trusted, count, &a)) {
	    return 1;
	}
    }
    return n > 0;
}
