/*
 * proxyUnit.c --
 *
 *	Unit tests of generic/dmProxy.c: IP addresses read and written back,
 *	CIDR ranges, PROXY protocol headers of versions 1 and 2 (whole,
 *	cut short, malformed), and the client a trusted proxy names in
 *	X-Forwarded-For or Forwarded.  Build and run:
 *
 *	    cc -Igeneric tests/unit/proxyUnit.c generic/dmProxy.c \
 *		generic/dmHttp.c generic/dmPath.c -o proxyUnit
 *	    ./proxyUnit
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmProxy.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

/*
 *----------------------------------------------------------------------
 *
 * Check --
 *
 *	Counts one check, printing it if it failed.
 *
 *----------------------------------------------------------------------
 */

static void
Check(
    int ok,
    const char *what,
    const char *input)
{
    if (ok) {
	passed++;
    } else {
	failed++;
	printf("FAILED: %s: \"%s\"\n", what, input);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Addresses --
 *
 *	Reading and writing back: each valid form gives its canonical text
 *	(RFC 5952 for IPv6); the invalid ones are refused.
 *
 *----------------------------------------------------------------------
 */

static void
Addresses(void)
{
    static const char *const good[][2] = {
	{"127.0.0.1", "127.0.0.1"},
	{"0.0.0.0", "0.0.0.0"},
	{"255.255.255.255", "255.255.255.255"},
	{"::1", "::1"},
	{"::", "::"},
	{"2001:db8::1", "2001:db8::1"},
	{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
	{"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},
	{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
	{"1::", "1::"},
	{"::ffff:192.0.2.1", "192.0.2.1"},
	{"::ffff:c000:201", "192.0.2.1"},
	{"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
	{"fe80::1:2:3:4", "fe80::1:2:3:4"},
    };
    static const char *const bad[] = {
	"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04",
	"1..2.3", "a.b.c.d", " 1.2.3.4", "1.2.3.4 ", ":", ":::", "1:2",
	"1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1:2:3:4:5:6:7:8",
	"1:2:3:4:5:6:7", "fe80::1%eth0", "::1.2.3", "1.2.3.4::",
	"[::1]", "g::", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7",
    };
    char text[DM_ADDRESS_TEXT];
    DmAddress a;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
	int ok = DmParseAddress(good[i][0], strlen(good[i][0]), &a);

	if (ok) {
	    DmFormatAddress(&a, text);
	}
	Check(ok && strcmp(text, good[i][1]) == 0, "address", good[i][0]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	Check(!DmParseAddress(bad[i], strlen(bad[i]), &a), "not an address",
		bad[i]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Ranges --
 *
 *	CIDR ranges and what they hold.
 *
 *----------------------------------------------------------------------
 */

static void
Ranges(void)
{
    static const struct {
	const char *range, *addr;
	int in;
    } cases[] = {
	{"10.0.0.0/8", "10.255.1.2", 1},
	{"10.0.0.0/8", "11.0.0.1", 0},
	{"192.168.1.0/25", "192.168.1.127", 1},
	{"192.168.1.0/25", "192.168.1.128", 0},
	{"127.0.0.1", "127.0.0.1", 1},
	{"127.0.0.1", "127.0.0.2", 0},
	{"0.0.0.0/0", "8.8.8.8", 1},
	{"0.0.0.0/0", "::1", 0},
	{"2001:db8::/32", "2001:db8:ffff::1", 1},
	{"2001:db8::/32", "2001:db9::1", 0},
	{"::/0", "::1", 1},
	{"fd00::/7", "fc12::1", 1},
	{"fd00::/8", "fc12::1", 0},
	{"127.0.0.0/8", "::ffff:127.0.0.9", 1},
    };
    static const char *const bad[] = {
	"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "/8", "10/8",
	"10.0.0.0/0008",
    };
    DmCidr c;
    DmAddress a;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	int ok = DmParseCidr(cases[i].range, strlen(cases[i].range), &c)
		&& DmParseAddress(cases[i].addr, strlen(cases[i].addr), &a);

	Check(ok && DmCidrMatch(&c, 1, &a) == cases[i].in, cases[i].range,
		cases[i].addr);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	Check(!DmParseCidr(bad[i], strlen(bad[i]), &c), "not a range",
		bad[i]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Version1 --
 *
 *	Text headers: the client, the length, every prefix asking for more,
 *	and malformed ones.
 *
 *----------------------------------------------------------------------
 */

static void
Version1(void)
{
    static const struct {
	const char *header, *client;
	int port;
    } good[] = {
	{"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", "192.0.2.1",
		56324},
	{"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", "2001:db8::1", 1},
	{"PROXY TCP6 ::ffff:192.0.2.9 ::1 0 80\r\n", "192.0.2.9", 0},
	{"PROXY UNKNOWN\r\n", NULL, 0},
	{"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
		NULL, 0},
    };
    static const char *const bad[] = {
	"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",
	"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
	"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 1\r\n",
	"PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n",
	"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
	"PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",
	"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
	"PROXY TCP4 192.0.2.1 198.51.100.2 080 443\r\n",
	"PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n",
	"PROXY tcp4 192.0.2.1 198.51.100.2 1 2\r\n",
	"PROXY UNKNOWNX\r\n",
	"proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n",
	"GET / HTTP/1.1\r\n",
	"PROXYTCP4\r\n",
    };
    char text[DM_ADDRESS_TEXT];
    DmProxyInfo info;
    char longLine[200];
    size_t i, k, len;
    long r;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
	char buf[128];

	len = strlen(good[i].header);
	memcpy(buf, good[i].header, len);
	memcpy(buf + len, "GET", 3);	/* What follows is not taken. */
	r = DmParseProxy(buf, len + 3, &info);
	if (good[i].client == NULL) {
	    Check(r == (long) len && info.client.family == 0, "v1 unknown",
		    good[i].header);
	} else {
	    DmFormatAddress(&info.client, text);
	    Check(r == (long) len && strcmp(text, good[i].client) == 0
		    && info.port == good[i].port, "v1", good[i].header);
	}
	for (k = 0; k < len; k++) {
	    r = DmParseProxy(buf, k, &info);
	    if (r != 0) {
		break;
	    }
	}
	Check(k == len, "v1 prefix asks for more", good[i].header);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	Check(DmParseProxy(bad[i], strlen(bad[i]), &info) < 0, "v1 refused",
		bad[i]);
    }
    memset(longLine, 'x', sizeof(longLine));
    memcpy(longLine, "PROXY UNKNOWN ", 14);
    Check(DmParseProxy(longLine, sizeof(longLine), &info) < 0,
	    "v1 longer than 107 bytes", "");
}

/*
 *----------------------------------------------------------------------
 *
 * Version2 --
 *
 *	Binary headers: IPv4, IPv6, LOCAL, TLVs after the addresses, short
 *	and bad ones.
 *
 *----------------------------------------------------------------------
 */

static size_t
V2(
    unsigned char *buf,
    int verCmd,
    int fam,
    const unsigned char *body,
    size_t bodyLen)
{
    memcpy(buf, "\r\n\r\n\0\r\nQUIT\n", 12);
    buf[12] = (unsigned char) verCmd;
    buf[13] = (unsigned char) fam;
    buf[14] = (unsigned char) (bodyLen >> 8);
    buf[15] = (unsigned char) bodyLen;
    memcpy(buf + 16, body, bodyLen);
    return 16 + bodyLen;
}

static void
Version2(void)
{
    static const unsigned char v4[12] = {
	192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb
    };
    unsigned char v6[36 + 7], buf[DM_PROXY_V2_MAX + 32];
    char text[DM_ADDRESS_TEXT];
    DmProxyInfo info;
    size_t len, k;
    long r;

    len = V2(buf, 0x21, 0x11, v4, sizeof(v4));
    r = DmParseProxy((char *) buf, len, &info);
    DmFormatAddress(&info.client, text);
    Check(r == (long) len && strcmp(text, "192.0.2.1") == 0
	    && info.port == 56324, "v2 tcp4", text);
    for (k = 0; k < len; k++) {
	if (DmParseProxy((char *) buf, k, &info) != 0) {
	    break;
	}
    }
    Check(k == len, "v2 prefix asks for more", "");

    memset(v6, 0, sizeof(v6));
    v6[0] = 0x20; v6[1] = 0x01; v6[2] = 0x0d; v6[3] = 0xb8; v6[15] = 1;
    v6[32] = 0x1f; v6[33] = 0x90;
    memcpy(v6 + 36, "\x03\x00\x04" "ABCD", 7);	/* A TLV after them. */
    len = V2(buf, 0x21, 0x21, v6, sizeof(v6));
    r = DmParseProxy((char *) buf, len, &info);
    DmFormatAddress(&info.client, text);
    Check(r == (long) len && strcmp(text, "2001:db8::1") == 0
	    && info.port == 8080, "v2 tcp6 with a TLV", text);

    len = V2(buf, 0x20, 0x00, v4, 0);
    Check(DmParseProxy((char *) buf, len, &info) == 16
	    && info.client.family == 0, "v2 local", "");
    len = V2(buf, 0x21, 0x12, v4, sizeof(v4));
    Check(DmParseProxy((char *) buf, len, &info) == (long) len
	    && info.client.family == 0, "v2 over datagrams: not used", "");
    len = V2(buf, 0x21, 0x11, v4, 8);
    Check(DmParseProxy((char *) buf, len, &info) < 0, "v2 tcp4 too short",
	    "");
    len = V2(buf, 0x11, 0x11, v4, sizeof(v4));
    Check(DmParseProxy((char *) buf, len, &info) < 0, "v2 version 1", "");
    len = V2(buf, 0x22, 0x11, v4, sizeof(v4));
    Check(DmParseProxy((char *) buf, len, &info) < 0, "v2 command 2", "");
    len = V2(buf, 0x21, 0x41, v4, sizeof(v4));
    Check(DmParseProxy((char *) buf, len, &info) < 0, "v2 family 4", "");
    memset(buf + 16, 0, DM_PROXY_V2_MAX);
    buf[14] = (unsigned char) ((DM_PROXY_V2_MAX - 15) >> 8);
    buf[15] = (unsigned char) (DM_PROXY_V2_MAX - 15);
    Check(DmParseProxy((char *) buf, 16, &info) < 0, "v2 too long", "");
    buf[5] = 'X';
    Check(DmParseProxy((char *) buf, 16, &info) < 0, "v2 bad signature",
	    "");
}

/*
 *----------------------------------------------------------------------
 *
 * Forwarded --
 *
 *	The client named by trusted proxies, from the right.
 *
 *----------------------------------------------------------------------
 */

static void
Forwarded(void)
{
    static const struct {
	const char *forwarded, *xff, *client;
    } cases[] = {
	{NULL, "203.0.113.7", "203.0.113.7"},
	{NULL, "203.0.113.7, 10.0.0.2", "203.0.113.7"},
	{NULL, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"},
	{NULL, "10.0.0.3, 10.0.0.2", "10.0.0.3"},
	{NULL, "garbage, 203.0.113.7", "203.0.113.7"},
	{NULL, "203.0.113.7, garbage", NULL},
	{NULL, "203.0.113.7:4711", "203.0.113.7"},
	{NULL, "[2001:db8::7]:4711", "2001:db8::7"},
	{NULL, "2001:db8::7", "2001:db8::7"},
	{NULL, "", NULL},
	{"for=192.0.2.60;proto=http;by=203.0.113.43", NULL, "192.0.2.60"},
	{"for=\"[2001:db8:cafe::17]:4711\"", NULL, "2001:db8:cafe::17"},
	{"For=192.0.2.1, for=10.0.0.9", NULL, "192.0.2.1"},
	{"for=unknown", NULL, NULL},
	{"for=_hidden, for=192.0.2.4", NULL, "192.0.2.4"},
	{"proto=https", NULL, NULL},
	{"for=192.0.2.60", "198.51.100.1", "192.0.2.60"},
    };
    DmCidr trusted[2];
    char text[DM_ADDRESS_TEXT];
    size_t i;

    DmParseCidr("10.0.0.0/8", 10, &trusted[0]);
    DmParseCidr("::1", 3, &trusted[1]);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	DmList fwd, xff;
	DmAddress client;
	int ok;

	memset(&fwd, 0, sizeof(fwd));
	memset(&xff, 0, sizeof(xff));
	if (cases[i].forwarded != NULL) {
	    fwd.count = 1;
	    fwd.line[0].ptr = cases[i].forwarded;
	    fwd.line[0].len = strlen(cases[i].forwarded);
	}
	if (cases[i].xff != NULL) {
	    xff.count = 1;
	    xff.line[0].ptr = cases[i].xff;
	    xff.line[0].len = strlen(cases[i].xff);
	}
	ok = DmForwardedClient(&fwd, &xff, trusted, 2, &client);
	if (cases[i].client == NULL) {
	    Check(!ok, "no client", cases[i].forwarded ? cases[i].forwarded
		    : cases[i].xff);
	} else {
	    if (ok) {
		DmFormatAddress(&client, text);
	    }
	    Check(ok && strcmp(text, cases[i].client) == 0, "client",
		    cases[i].forwarded ? cases[i].forwarded : cases[i].xff);
	}
    }

    /*
     * Lines of one list: the last line holds the nearest hops.
     */

    {
	DmList fwd, xff;
	DmAddress client;

	memset(&fwd, 0, sizeof(fwd));
	memset(&xff, 0, sizeof(xff));
	xff.count = 2;
	xff.line[0].ptr = "203.0.113.9";
	xff.line[0].len = 11;
	xff.line[1].ptr = "10.1.1.1";
	xff.line[1].len = 8;
	Check(DmForwardedClient(&fwd, &xff, trusted, 2, &client)
		&& DmFormatAddress(&client, text) > 0
		&& strcmp(text, "203.0.113.9") == 0, "two lines", text);
	xff.count = -1;
	Check(!DmForwardedClient(&fwd, &xff, trusted, 2, &client),
		"too many lines", "");
    }
}

int
main(void)
{
    Addresses();
    Ranges();
    Version1();
    Version2();
    Forwarded();
    printf("proxyUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
