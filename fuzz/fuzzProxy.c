/*
 * fuzzProxy.c --
 *
 *	libFuzzer harness for generic/dmProxy.c.  The first byte picks one:
 *	    0: a PROXY protocol header: a length within the input, and a
 *	       client address that writes and reads back the same; every
 *	       prefix of an accepted header asks for more.
 *	    1: an address: one that reads writes as text that reads back to
 *	       the same address, and the text is its canonical form.
 *	    2: Forwarded and X-Forwarded-For lines (split at the first
 *	       newline) with trusted ranges: an answer is an address.
 *	Each input lives in a block of exactly its size, so AddressSanitizer
 *	catches a read past it.  A broken check calls abort().
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmProxy.h"
#include "fuzz.h"

/*
 *----------------------------------------------------------------------
 *
 * RoundTrip --
 *
 *	Checks that an address writes as text that reads back to it, and
 *	that writing it again gives the same text.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a broken promise.
 *
 *----------------------------------------------------------------------
 */

static void
RoundTrip(
    const DmAddress *a)
{
    char text[DM_ADDRESS_TEXT], again[DM_ADDRESS_TEXT];
    DmAddress b;
    size_t n = DmFormatAddress(a, text);

    CHECK(n > 0 && n < DM_ADDRESS_TEXT && strlen(text) == n);
    CHECK(DmParseAddress(text, n, &b));
    CHECK(b.family == a->family);
    CHECK(memcmp(a->addr, b.addr, a->family == 4 ? 4 : 16) == 0);
    DmFormatAddress(&b, again);
    CHECK(strcmp(text, again) == 0);
}

/*
 *----------------------------------------------------------------------
 *
 * Header, Address, Forwarded --
 *
 *	One case each (see the header comment).
 *
 *----------------------------------------------------------------------
 */

static void
Header(
    const uint8_t *data,
    size_t size)
{
    char *buf = FuzzAlloc(size);
    DmProxyInfo info;
    long r, k;

    memcpy(buf, data, size);
    r = DmParseProxy(buf, size, &info);
    CHECK(r >= -1 && r <= (long) size);
    if (r > 0) {
	CHECK(r <= DM_PROXY_V2_MAX);
	CHECK(info.client.family == 0 || info.client.family == 4
		|| info.client.family == 6);
	if (info.client.family != 0) {
	    RoundTrip(&info.client);
	    CHECK(info.port >= 0 && info.port <= 65535);
	}
	for (k = 0; k < r; k++) {
	    CHECK(DmParseProxy(buf, (size_t) k, &info) == 0);
	}
    }
    free(buf);
}

static void
Address(
    const uint8_t *data,
    size_t size)
{
    char *buf = FuzzAlloc(size);
    DmAddress a;
    DmCidr c;

    memcpy(buf, data, size);
    if (DmParseAddress(buf, size, &a)) {
	CHECK(a.family == 4 || a.family == 6);
	RoundTrip(&a);
    }
    if (DmParseCidr(buf, size, &c)) {
	CHECK(c.bits >= 0 && c.bits <= (c.base.family == 4 ? 32 : 128));
	CHECK(DmCidrMatch(&c, 1, &c.base));
    }
    free(buf);
}

static void
Forwarded(
    const uint8_t *data,
    size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first = nl ? (size_t) (nl - data) : size;
    char *fwd = FuzzAlloc(first), *xff;
    size_t rest = nl ? size - first - 1 : 0;
    DmList fwdList, xffList;
    DmCidr trusted[2];
    DmAddress client;

    xff = FuzzAlloc(rest);
    memcpy(fwd, data, first);
    if (rest > 0) {
	memcpy(xff, nl + 1, rest);
    }
    memset(&fwdList, 0, sizeof(fwdList));
    memset(&xffList, 0, sizeof(xffList));
    fwdList.count = (first > 0 && data[0] == 'F');
    fwdList.line[0].ptr = fwd;
    fwdList.line[0].len = first;
    xffList.count = 1;
    xffList.line[0].ptr = xff;
    xffList.line[0].len = rest;
    CHECK(DmParseCidr("10.0.0.0/8", 10, &trusted[0]));
    CHECK(DmParseCidr("fc00::/7", 8, &trusted[1]));
    if (DmForwardedClient(&fwdList, &xffList, trusted, 2, &client)) {
	RoundTrip(&client);
    }
    free(fwd);
    free(xff);
}

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    static FuzzCase *const cases[] = {
	Header, Address, Forwarded
    };

    return FuzzDispatch(data, size, cases, sizeof(cases) / sizeof(cases[0]));
}
