/*
 * httpUnit.c --
 *
 *	Unit tests of the request-head parser and the chunked-body decoder
 *	(generic/dmHttp.c).  Every input is handed over in a malloc'd block
 *	of exactly its size, so a build with -fsanitize=address turns any
 *	read past the end into a failure.  Build and run:
 *
 *	    cc -Igeneric tests/unit/httpUnit.c generic/dmHttp.c -o httpUnit
 *	    ./httpUnit
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmHttp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * BIN gives a literal and its length, so inputs may hold NUL bytes.
 * WHOLE as an expected parse result means "the whole input is the head".
 */

#define BIN(s)		.input = (s), .len = sizeof(s) - 1
#define WHOLE		LONG_MAX

/*
 * Prefixes of inputs longer than this are tried at intervals rather than
 * all, to keep the run short.
 */

#define ALL_PREFIXES	4096

static int passed, failed;
static int caseFailed;		/* The running case has failed a check. */

static const DmLimits defaultLimits = { 8192, 16384, 100 };

/*
 * One parser case.  The fields after result are checked only when the
 * parse succeeds; a NULL string means the span must be absent.
 */

typedef struct ParseCase {
    const char *name;
    const char *input;		/* The head, or the bad bytes. */
    size_t len;
    const char *extra;		/* Bytes after the head (body, next
				 * request), or NULL. */
    long result;		/* WHOLE, or a negated status. */
    const DmLimits *limits;	/* NULL: defaultLimits. */
    int method;
    const char *methodName;	/* NULL: not checked. */
    const char *target;
    int minor;
    int keepAlive;
    int bodyKind;
    uint64_t contentLength;
    int numHeaders;
    const char *host;
    const char *range;
    const char *ifModifiedSince;
    const char *ifNoneMatch;
    const char *ifRange;
} ParseCase;

/*
 * One chunked-body case: input is the body, extra what follows it.
 */

typedef struct ChunkCase {
    const char *name;
    const char *input;
    size_t len;
    const char *extra;
    int result;			/* DM_CHUNKED_*. */
} ChunkCase;

/*
 * Shorthands for the usual successful requests.
 */

#define GET11(t, h) \
    .result = WHOLE, .method = DM_METHOD_GET, .target = (t), .minor = 1, \
    .keepAlive = 1, .host = (h)
#define GET11CLOSE(t, h) \
    .result = WHOLE, .method = DM_METHOD_GET, .target = (t), .minor = 1, \
    .keepAlive = 0, .host = (h)
#define POST11(h) \
    .result = WHOLE, .method = DM_METHOD_POST, .methodName = "POST", \
    .target = "/", .minor = 1, .keepAlive = 1, .host = (h)
#define REQ11		"GET / HTTP/1.1\r\nHost: h\r\n"
#define HOST11(h)	BIN("GET / HTTP/1.1\r\nHost: " h "\r\n\r\n")
#define POSTH		"POST / HTTP/1.1\r\nHost: h\r\n"
#define POST10		"POST / HTTP/1.0\r\n"

static const ParseCase parseCases[] = {
    /* Plain requests. */
    {"simple GET", BIN("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	GET11("/", "example.com"), .methodName = "GET", .numHeaders = 1},
    {"HEAD 1.0 without Host", BIN("HEAD /x HTTP/1.0\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_HEAD, .methodName = "HEAD",
	.target = "/x", .minor = 0, .keepAlive = 0},
    {"bare LF line ends", BIN("GET /a HTTP/1.1\nHost: h\n\n"),
	GET11("/a", "h"), .numHeaders = 1},
    {"mixed line ends", BIN("GET /a HTTP/1.1\nHost: h\r\nX: y\n\r\n"),
	GET11("/a", "h"), .numHeaders = 2},
    {"lower-case method", BIN("get / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_OTHER, .methodName = "get",
	.target = "/", .minor = 1, .keepAlive = 1, .host = "h",
	.numHeaders = 1},
    {"method Get", BIN("Get / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_OTHER, .methodName = "Get",
	.target = "/", .minor = 1, .keepAlive = 1, .host = "h",
	.numHeaders = 1},
    {"method GETX", BIN("GETX / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_OTHER, .methodName = "GETX",
	.target = "/", .minor = 1, .keepAlive = 1, .host = "h",
	.numHeaders = 1},
    {"OPTIONS *", BIN("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_OPTIONS, .methodName = "OPTIONS",
	.target = "*", .minor = 1, .keepAlive = 1, .host = "h",
	.numHeaders = 1},
    {"absolute-form target",
	BIN("GET http://h:8080/p?q=1#f HTTP/1.1\r\nHost: h:8080\r\n\r\n"),
	GET11("http://h:8080/p?q=1#f", "h:8080"), .numHeaders = 1},
    {"HTTP/1.2 read as 1.1", BIN("GET / HTTP/1.2\r\nHost: h\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 1},
    {"HTTP/1.9 read as 1.1", BIN("GET / HTTP/1.9\r\nHost: h\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 1},
    {"body bytes follow", BIN(REQ11 "\r\n"), .extra = "garbage\r\n\r\n",
	GET11("/", "h"), .numHeaders = 1},
    {"leading CRLFs", BIN("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 1},
    {"leading LFs", BIN("\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 1},
    {"8 leading empty lines",
	BIN("\r\n\n\r\n\n\r\n\n\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 1},
    {"9 leading empty lines",
	BIN("\r\n\n\r\n\n\r\n\n\r\n\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"leading bare CR", BIN("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},

    /* Field syntax. */
    {"case-insensitive names",
	BIN("GET / HTTP/1.1\r\nhOsT: h\r\nrAnGe: bytes=1-2\r\n"
	"IF-MODIFIED-SINCE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	"if-none-match: \"x\"\r\nIf-range: \"y\"\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 5, .range = "bytes=1-2",
	.ifModifiedSince = "Sun, 06 Nov 1994 08:49:37 GMT",
	.ifNoneMatch = "\"x\"", .ifRange = "\"y\""},
    {"first Range wins",
	BIN(REQ11 "Range: bytes=0-1\r\nRange: bytes=5-\r\n"
	"If-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 5, .range = "bytes=0-1",
	.ifNoneMatch = "\"a\""},
    {"OWS trimmed", BIN("GET / HTTP/1.1\r\nHost: \t h \t\r\n"
	"Range:bytes=1-\t\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 2, .range = "bytes=1-"},
    {"HTAB and obs-text in values",
	BIN(REQ11 "X-A: a\tb\r\nX-B: caf\xc3\xa9\xff\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 3},
    {"empty values", BIN(REQ11 "X-Empty:\r\nRange: \t \r\n\r\n"),
	GET11("/", "h"), .numHeaders = 3, .range = ""},
    {"empty Host on 1.1", BIN("GET / HTTP/1.1\r\nHost:\r\n\r\n"),
	GET11("/", ""), .numHeaders = 1},
    {"IPv6 Host", BIN("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
	GET11("/", "[::1]:8080"), .numHeaders = 1},
    {"all tchars in a name",
	BIN(REQ11 "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 2},
    {"colon in value", BIN(REQ11 "X: a:b: c\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 2},
    {"whitespace before colon", BIN(REQ11 "Host : h\r\n\r\n"),
	.result = -400},
    {"tab before colon", BIN("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"),
	.result = -400},
    {"space before colon, other field", BIN(REQ11 "X-A : b\r\n\r\n"),
	.result = -400},
    {"empty name", BIN(REQ11 ": v\r\n\r\n"), .result = -400},
    {"no colon", BIN(REQ11 "X-Foo bar\r\n\r\n"), .result = -400},
    {"Content-Length without colon",
	BIN(POSTH "Content-Length 10\r\n\r\n"), .result = -400},
    {"name not a token", BIN(REQ11 "X(y): v\r\n\r\n"), .result = -400},
    {"name with @", BIN(REQ11 "X@: v\r\n\r\n"), .result = -400},
    {"name with obs-text", BIN(REQ11 "X\xe9: v\r\n\r\n"), .result = -400},
    {"NUL in name", BIN(REQ11 "X\0Y: v\r\n\r\n"), .result = -400},
    {"obs-fold with SP", BIN(REQ11 "X: a\r\n b\r\n\r\n"), .result = -400},
    {"obs-fold with HTAB", BIN(REQ11 "X: a\r\n\tb\r\n\r\n"), .result = -400},
    {"whitespace before first field",
	BIN("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), .result = -400},
    {"NUL in value", BIN(REQ11 "X: a\0b\r\n\r\n"), .result = -400},
    {"NUL at value end", BIN(REQ11 "X: a\0\r\n\r\n"), .result = -400},
    {"bare CR in value", BIN(REQ11 "X: a\rb\r\n\r\n"), .result = -400},
    {"CR CR LF", BIN(REQ11 "X: a\r\r\n\r\n"), .result = -400},
    {"bare CR ends value", BIN(REQ11 "X: a\rY: b\r\n\r\n"), .result = -400},
    {"control byte in value", BIN(REQ11 "X: a\x01 b\r\n\r\n"),
	.result = -400},
    {"DEL in value", BIN(REQ11 "X: a\x7f\r\n\r\n"), .result = -400},
    {"ESC in value", BIN(REQ11 "X: \x1b[0m\r\n\r\n"), .result = -400},
    {"head ended by CRLF CR X", BIN(REQ11 "\rX\r\n\r\n"), .result = -400},
    {"bare CR as empty line", BIN(REQ11 "\r\r\n"), .result = -400},

    /* Host. */
    {"1.1 without Host", BIN("GET / HTTP/1.1\r\nX: y\r\n\r\n"),
	.result = -400},
    {"1.1 with no fields", BIN("GET / HTTP/1.1\r\n\r\n"), .result = -400},
    {"two Hosts", BIN(REQ11 "Host: h\r\n\r\n"), .result = -400},
    {"two different Hosts", BIN(REQ11 "host: evil\r\n\r\n"),
	.result = -400},
    {"two Hosts on 1.0",
	BIN("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), .result = -400},
    {"Host on 1.0", BIN("GET / HTTP/1.0\r\nHost: a\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .host = "a", .numHeaders = 1},
    {"Host with space", BIN("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
	.result = -400},
    {"Host with slash", BIN("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
	.result = -400},
    {"Host with obs-text", BIN("GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n"),
	.result = -400},
    {"Host with empty port", HOST11("h:"),
	GET11("/", "h:"), .numHeaders = 1},
    {"Host with only a port", HOST11(":80"),
	GET11("/", ":80"), .numHeaders = 1},
    {"Host with %-escape", HOST11("a%41b"),
	GET11("/", "a%41b"), .numHeaders = 1},
    {"Host IPvFuture", HOST11("[v1.a:b]"),
	GET11("/", "[v1.a:b]"), .numHeaders = 1},
    {"Host port not digits", HOST11("x:abc"), .result = -400},
    {"Host with two ports", HOST11("x:80:90"), .result = -400},
    {"Host IPv6 unclosed", HOST11("[::1"), .result = -400},
    {"Host IPv6 nested", HOST11("[[x]]:1"), .result = -400},
    {"Host empty brackets", HOST11("[]"), .result = -400},
    {"Host after brackets", HOST11("[::1]x"), .result = -400},
    {"Host stray bracket", HOST11("x]"), .result = -400},
    {"Host short %-escape", HOST11("a%4"), .result = -400},
    {"Host bad %-escape", HOST11("a%zz"), .result = -400},
    {"Host with user", HOST11("u@h"), .result = -400},

    /* Absolute-form: its host is the one that counts (RFC 9112 3.2.2). */
    {"absolute-form host wins",
	BIN("GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n"),
	GET11("http://a.example/x", "a.example"), .numHeaders = 1},
    {"absolute-form without path",
	BIN("GET http://[::1]:8080?q HTTP/1.1\r\nHost: b\r\n\r\n"),
	GET11("http://[::1]:8080?q", "[::1]:8080"), .numHeaders = 1},
    {"absolute-form on 1.0 without Host",
	BIN("GET http://a/ HTTP/1.0\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "http://a/",
	.minor = 0, .keepAlive = 0, .host = "a"},
    {"absolute-form still needs Host on 1.1",
	BIN("GET http://a/ HTTP/1.1\r\n\r\n"), .result = -400},
    {"absolute-form empty host",
	BIN("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"absolute-form with user",
	BIN("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"absolute-form bad port",
	BIN("GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"other target forms left to the path",
	BIN("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_CONNECT, .methodName = "CONNECT",
	.target = "h:443", .minor = 1, .keepAlive = 1, .host = "h:443",
	.numHeaders = 1},

    /* Request line. */
    {"HTTP/1.10", BIN("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), .result = -400},
    {"HTTP/4294967295.255",
	BIN("GET / HTTP/4294967295.255\r\nHost: h\r\n\r\n"), .result = -400},
    {"HTTP/2.0", BIN("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), .result = -505},
    {"HTTP/3.0", BIN("GET / HTTP/3.0\r\n\r\n"), .result = -505},
    {"HTTP/0.9", BIN("GET / HTTP/0.9\r\n\r\n"), .result = -505},
    {"HTTP/1", BIN("GET / HTTP/1\r\nHost: h\r\n\r\n"), .result = -400},
    {"HTTP/1.", BIN("GET / HTTP/1.\r\nHost: h\r\n\r\n"), .result = -400},
    {"HTTP/1.x", BIN("GET / HTTP/1.x\r\nHost: h\r\n\r\n"), .result = -400},
    {"HTTP/11.1", BIN("GET / HTTP/11.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"missing version", BIN("GET /\r\n\r\n"), .result = -400},
    {"missing version, SP", BIN("GET / \r\n\r\n"), .result = -400},
    {"lower-case version", BIN("GET / http/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"HTTPS/1.1", BIN("GET / HTTPS/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"trailing SP after version", BIN("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
	.result = -400},
    {"two SPs after method", BIN("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"two SPs after target", BIN("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"tabs as separators", BIN("GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"leading SP", BIN(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"no method", BIN("/ HTTP/1.1\r\nHost: h\r\n\r\n"), .result = -400},
    {"method not a token", BIN("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"target with raw UTF-8", BIN("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"),
	GET11("/caf\xc3\xa9", "h"), .numHeaders = 1},
    {"target with bytes not UTF-8", BIN("GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"target with an overlong form", BIN("GET /a\xc0\xaf HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"target with control", BIN("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"target with NUL", BIN("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"target with DEL", BIN("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"bare CR in request line", BIN("GET / HTTP/1.1\rHost: h\r\n\r\n"),
	.result = -400},
    {"CR CR LF after request line", BIN("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"two versions", BIN("GET / HTTP/1.1 HTTP/1.1\r\nHost: h\r\n\r\n"),
	.result = -400},
    {"binary garbage", BIN("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"),
	.result = -400},

    /* Content-Length. */
    {"Content-Length", BIN(POSTH "Content-Length: 5\r\n\r\n"),
	.extra = "hello", POST11("h"), .bodyKind = DM_BODY_LENGTH,
	.contentLength = 5, .numHeaders = 2},
    {"Content-Length 0", BIN(POSTH "Content-Length: 0\r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_LENGTH, .contentLength = 0,
	.numHeaders = 2},
    {"Content-Length with OWS", BIN(POSTH "Content-Length: \t 7\t \r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_LENGTH, .contentLength = 7,
	.numHeaders = 2},
    {"Content-Length 18 digits",
	BIN(POSTH "Content-Length: 999999999999999999\r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_LENGTH,
	.contentLength = 999999999999999999ULL, .numHeaders = 2},
    {"Content-Length leading zeros",
	BIN(POSTH "Content-Length: 010\r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_LENGTH, .contentLength = 10,
	.numHeaders = 2},
    {"duplicated equal Content-Length",
	BIN(POSTH "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_LENGTH, .contentLength = 5,
	.numHeaders = 3},
    {"Content-Length on GET", BIN(REQ11 "Content-Length: 3\r\n\r\n"),
	.extra = "abc", GET11("/", "h"), .bodyKind = DM_BODY_LENGTH,
	.contentLength = 3, .numHeaders = 2},
    {"Content-Length 1.0", BIN(POST10 "Content-Length: 2\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_POST, .target = "/",
	.minor = 0, .keepAlive = 0, .bodyKind = DM_BODY_LENGTH,
	.contentLength = 2, .numHeaders = 1},
    {"differing Content-Length",
	BIN(POSTH "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	.result = -400},
    {"Content-Length -1", BIN(POSTH "Content-Length: -1\r\n\r\n"),
	.result = -400},
    {"Content-Length +5", BIN(POSTH "Content-Length: +5\r\n\r\n"),
	.result = -400},
    {"Content-Length 0x10", BIN(POSTH "Content-Length: 0x10\r\n\r\n"),
	.result = -400},
    {"Content-Length empty", BIN(POSTH "Content-Length:\r\n\r\n"),
	.result = -400},
    {"Content-Length blank", BIN(POSTH "Content-Length:   \r\n\r\n"),
	.result = -400},
    {"Content-Length 19 digits",
	BIN(POSTH "Content-Length: 1000000000000000000\r\n\r\n"),
	.result = -400},
    {"Content-Length 2^64",
	BIN(POSTH "Content-Length: 18446744073709551616\r\n\r\n"),
	.result = -400},
    {"Content-Length 19 zeros",
	BIN(POSTH "Content-Length: 0000000000000000000\r\n\r\n"),
	.result = -400},
    {"Content-Length inner space", BIN(POSTH "Content-Length: 1 2\r\n\r\n"),
	.result = -400},
    {"Content-Length list", BIN(POSTH "Content-Length: 5, 5\r\n\r\n"),
	.result = -400},
    {"Content-Length list no space", BIN(POSTH "Content-Length: 5,5\r\n\r\n"),
	.result = -400},
    {"Content-Length trailing junk", BIN(POSTH "Content-Length: 12a\r\n\r\n"),
	.result = -400},
    {"Content-Length decimal point", BIN(POSTH "Content-Length: 1.0\r\n\r\n"),
	.result = -400},
    {"Content-Length NUL", BIN(POSTH "Content-Length: 5\0\r\n\r\n"),
	.result = -400},
    {"Content-Length one empty of two",
	BIN(POSTH "Content-Length: 5\r\nContent-Length:\r\n\r\n"),
	.result = -400},

    /* Transfer-Encoding. */
    {"chunked", BIN(POSTH "Transfer-Encoding: chunked\r\n\r\n"),
	.extra = "0\r\n\r\n", POST11("h"), .bodyKind = DM_BODY_CHUNKED,
	.numHeaders = 2},
    {"Chunked with OWS", BIN(POSTH "transfer-encoding: \t CHUNKED \r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_CHUNKED, .numHeaders = 2},
    {"chunked on HTTP/1.2",
	BIN("POST / HTTP/1.2\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
	POST11("h"), .bodyKind = DM_BODY_CHUNKED, .numHeaders = 2},
    {"CL then TE",
	BIN(POSTH "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	.result = -400},
    {"TE then CL",
	BIN(POSTH "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	.result = -400},
    {"TE then bad CL",
	BIN(POSTH "Transfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n"),
	.result = -400},
    {"TE on HTTP/1.0", BIN(POST10 "Transfer-Encoding: chunked\r\n\r\n"),
	.result = -400},
    {"TE gzip", BIN(POSTH "Transfer-Encoding: gzip\r\n\r\n"), .result = -501},
    {"TE identity", BIN(POSTH "Transfer-Encoding: identity\r\n\r\n"),
	.result = -501},
    {"TE chunked with parameter",
	BIN(POSTH "Transfer-Encoding: chunked;q=1\r\n\r\n"), .result = -501},
    {"TE gzip, chunked", BIN(POSTH "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	.result = -501},
    {"TE chunked, gzip", BIN(POSTH "Transfer-Encoding: chunked, gzip\r\n\r\n"),
	.result = -400},
    {"TE gzip, deflate", BIN(POSTH "Transfer-Encoding: gzip,deflate\r\n\r\n"),
	.result = -400},
    {"TE chunked twice",
	BIN(POSTH "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	.result = -400},
    {"TE chunked with empty element",
	BIN(POSTH "Transfer-Encoding: chunked,\r\n\r\n"), .result = -400},
    {"TE empty element first",
	BIN(POSTH "Transfer-Encoding: , chunked\r\n\r\n"), .result = -400},
    {"TE empty", BIN(POSTH "Transfer-Encoding:\r\n\r\n"), .result = -400},
    {"two TE fields",
	BIN(POSTH "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
	"\r\n"), .result = -400},
    {"TE chunked-ish", BIN(POSTH "Transfer-Encoding: xchunked\r\n\r\n"),
	.result = -501},

    /* Connection. */
    {"1.1 Connection: close", BIN(REQ11 "Connection: close\r\n\r\n"),
	GET11CLOSE("/", "h"), .numHeaders = 2},
    {"1.1 Connection: CLOSE in list",
	BIN(REQ11 "Connection: Upgrade, \tCLOSE \r\n\r\n"),
	GET11CLOSE("/", "h"), .numHeaders = 2},
    {"1.1 Connection: keep-alive", BIN(REQ11 "Connection: keep-alive\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 2},
    {"1.1 Connection: closed", BIN(REQ11 "Connection: closed\r\n\r\n"),
	GET11("/", "h"), .numHeaders = 2},
    {"1.1 close in second field",
	BIN(REQ11 "Connection: keep-alive\r\nConnection: close\r\n\r\n"),
	GET11CLOSE("/", "h"), .numHeaders = 3},
    {"1.0 default", BIN("GET / HTTP/1.0\r\nConnection: foo\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 1},
    {"1.0 keep-alive", BIN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 1, .numHeaders = 1},
    {"1.0 keep-alive in second field",
	BIN("GET / HTTP/1.0\r\nConnection: foo\r\nConnection: ,keep-alive,\r\n"
	"\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 1, .numHeaders = 2},
    {"1.0 keep-alive and close",
	BIN("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 1},
    {"1.0 keep-alive, then close field",
	BIN("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n"
	"\r\n"),
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 2},

    /* Small limits, to pin the exact boundaries. */
    {"request line at limit", BIN("GET /12345 HTTP/1.0\r\n\r\n"),
	.limits = &(DmLimits) {19, 100, 10},
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/12345",
	.minor = 0, .keepAlive = 0},
    {"request line over limit", BIN("GET /123456 HTTP/1.0\r\n\r\n"),
	.limits = &(DmLimits) {19, 100, 10}, .result = -414},
    {"request line over limit, bad", BIN("GET /123456 HTTP/9.0\r\n\r\n"),
	.limits = &(DmLimits) {19, 100, 10}, .result = -414},
    {"header block at limit", BIN("GET / HTTP/1.0\r\nA: 12\r\n\r\n"),
	.limits = &(DmLimits) {100, 9, 10},
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 1},
    {"header block over limit", BIN("GET / HTTP/1.0\r\nA: 123\r\n\r\n"),
	.limits = &(DmLimits) {100, 9, 10}, .result = -431},
    {"bare LF block over limit", BIN("GET / HTTP/1.0\nA: 12345\n\n"),
	.limits = &(DmLimits) {100, 9, 10}, .result = -431},
    {"headers at limit", BIN("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n"),
	.limits = &(DmLimits) {100, 100, 2},
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 2},
    {"headers over limit",
	BIN("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
	.limits = &(DmLimits) {100, 100, 2}, .result = -431},
    {"empty lines not counted", BIN("\r\n\r\nGET / HTTP/1.0\r\nA: 12\r\n\r\n"),
	.limits = &(DmLimits) {14, 9, 1},
	.result = WHOLE, .method = DM_METHOD_GET, .target = "/",
	.minor = 0, .keepAlive = 0, .numHeaders = 1},
};

static const ChunkCase chunkCases[] = {
    {"one chunk", BIN("5\r\nhello\r\n0\r\n\r\n"), NULL, DM_CHUNKED_DONE},
    {"next request follows", BIN("5\r\nhello\r\n0\r\n\r\n"),
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n", DM_CHUNKED_DONE},
    {"empty body", BIN("0\r\n\r\n"), "\r\n", DM_CHUNKED_DONE},
    {"several chunks, hex cases",
	BIN("A\r\n0123456789\r\n1f\r\nabcdefghijklmnopqrstuvwxyz01234\r\n"
	"0\r\n\r\n"), NULL, DM_CHUNKED_DONE},
    {"line ends inside data", BIN("7\r\n0\r\n\r\nxx\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_DONE},
    {"NUL and CR in data", BIN("3\r\n\0\r\0\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_DONE},
    {"leading zeros", BIN("0005\r\nhello\r\n000\r\n\r\n"), NULL,
	DM_CHUNKED_DONE},
    {"16 digits", BIN("0000000000000005\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_DONE},
    {"extensions", BIN("5;name=value\r\nhello\r\n3 ;a ; b=\"x y\"\r\nabc\r\n"
	"0;last\r\n\r\n"), NULL, DM_CHUNKED_DONE},
    {"tab before extension", BIN("5\t;a\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_DONE},
    {"trailers", BIN("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: a\tb\xc3\xa9\r\n"
	"\r\n"), "GET", DM_CHUNKED_DONE},
    {"incomplete data", BIN("5\r\nhel"), NULL, DM_CHUNKED_MORE},
    {"incomplete last chunk", BIN("5\r\nhello\r\n0\r\n"), NULL,
	DM_CHUNKED_MORE},
    {"incomplete final CR", BIN("0\r\n\r"), NULL, DM_CHUNKED_MORE},
    {"incomplete trailer", BIN("0\r\nX: y\r\n"), NULL, DM_CHUNKED_MORE},
    {"huge chunk begins", BIN("FFFFFFFFFFFFFFFF\r\nabc"), NULL,
	DM_CHUNKED_MORE},
    {"nothing", BIN(""), NULL, DM_CHUNKED_MORE},
    {"17 hex digits", BIN("00000000000000005\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"2^64", BIN("10000000000000000\r\n"), NULL, DM_CHUNKED_ERROR},
    {"2^64 + F", BIN("1000000000000000F\r\n"), NULL, DM_CHUNKED_ERROR},
    {"missing CRLF after data", BIN("5\r\nhelloX\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"next size instead of CRLF", BIN("5\r\nhello0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"CR without LF after data", BIN("5\r\nhello\rX"), NULL,
	DM_CHUNKED_ERROR},
    {"no digits", BIN("\r\n"), NULL, DM_CHUNKED_ERROR},
    {"extension without size", BIN(";a\r\n"), NULL, DM_CHUNKED_ERROR},
    {"negative size", BIN("-5\r\n"), NULL, DM_CHUNKED_ERROR},
    {"signed size", BIN("+5\r\n"), NULL, DM_CHUNKED_ERROR},
    {"0x prefix", BIN("0x5\r\nhello\r\n0\r\n\r\n"), NULL, DM_CHUNKED_ERROR},
    {"leading space", BIN(" 5\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"space without extension", BIN("5 \r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"non-hex after size", BIN("5g\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"bare CR in size line", BIN("5\rX"), NULL, DM_CHUNKED_ERROR},
    {"control in extension", BIN("5;a\x01\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"NUL in extension", BIN("5;a\0\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"bare CR in extension", BIN("5;a\rb\r\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"trailer without colon", BIN("0\r\nNoColon\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"trailer obs-fold", BIN("0\r\nA: b\r\n c\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"trailer space before colon", BIN("0\r\nA : b\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"trailer empty name", BIN("0\r\n: b\r\n\r\n"), NULL, DM_CHUNKED_ERROR},
    {"trailer NUL in value", BIN("0\r\nA: b\0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"trailer bare CR", BIN("0\r\nA: b\rc\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"final CR without LF", BIN("0\r\n\rX"), NULL, DM_CHUNKED_ERROR},
    {"last chunk CR without LF", BIN("0\rX\r\n"), NULL, DM_CHUNKED_ERROR},
    /* Bare LF anywhere in the framing: a smuggling vector behind a
     * lenient proxy, so malformed. */
    {"bare LF everywhere", BIN("1;a\nX\n0\n\n"), NULL, DM_CHUNKED_ERROR},
    {"bare LF after size", BIN("5\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"bare LF after extension", BIN("5;a\nhello\r\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"bare LF after data", BIN("5\r\nhello\n0\r\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
    {"bare LF after last chunk", BIN("0\n\r\n"), NULL, DM_CHUNKED_ERROR},
    {"bare LF ending the body", BIN("0\r\n\n"), NULL, DM_CHUNKED_ERROR},
    {"bare LF after trailer", BIN("0\r\nX: y\n\r\n"), NULL,
	DM_CHUNKED_ERROR},
};

/*
 *----------------------------------------------------------------------
 *
 * Fail --
 *
 *	Reports a failed check of the running case.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Prints a line to stdout; marks the case as failed.
 *
 *----------------------------------------------------------------------
 */

static void
Fail(
    const char *name,
    const char *format,
    ...)
{
    va_list ap;

    printf("FAIL %s: ", name);
    va_start(ap, format);
    vprintf(format, ap);
    va_end(ap);
    putchar('\n');
    caseFailed = 1;
}

/*
 *----------------------------------------------------------------------
 *
 * BeginCase --
 *
 *	Starts the checks of one case, which passes if none of them fails.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Clears the failure mark.
 *
 *----------------------------------------------------------------------
 */

static void
BeginCase(void)
{
    caseFailed = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * EndCase --
 *
 *	Ends the checks of one case.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case as passed or failed.
 *
 *----------------------------------------------------------------------
 */

static void
EndCase(void)
{
    if (caseFailed) {
	failed++;
    } else {
	passed++;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Copy --
 *
 *	Copies bytes into a block of exactly their size (one byte for an
 *	empty input, as malloc(0) may return NULL).
 *
 * Results:
 *	The copy; the caller frees it.
 *
 * Side effects:
 *	Exits if memory runs out.
 *
 *----------------------------------------------------------------------
 */

static char *
Copy(
    const char *bytes,
    size_t len)
{
    char *copy = malloc(len ? len : 1);

    if (copy == NULL) {
	perror("malloc");
	exit(2);
    }
    memcpy(copy, bytes, len);
    return copy;
}

/*
 *----------------------------------------------------------------------
 *
 * Join --
 *
 *	Builds a case's whole input: its bytes followed by its extra
 *	string, if any.
 *
 * Results:
 *	A malloc'd block of exactly that size; its length in *lenPtr.
 *
 * Side effects:
 *	Allocates the block.
 *
 *----------------------------------------------------------------------
 */

static char *
Join(
    const char *input,
    size_t inputLen,
    const char *extra,
    size_t *lenPtr)
{
    size_t extraLen = extra ? strlen(extra) : 0;
    char *full = Copy(input, inputLen);

    if (extraLen > 0) {
	full = realloc(full, inputLen + extraLen);
	if (full == NULL) {
	    perror("realloc");
	    exit(2);
	}
	memcpy(full + inputLen, extra, extraLen);
    }
    *lenPtr = inputLen + extraLen;
    return full;
}

/*
 *----------------------------------------------------------------------
 *
 * Parse --
 *
 *	Runs the parser on an exact-size copy of bytes, with a request
 *	structure full of junk so that stale fields would show.
 *
 * Results:
 *	The parser's result.  The spans in *req point into the copy, which
 *	is returned in *copyPtr for the caller to free.
 *
 * Side effects:
 *	Allocates the copy.
 *
 *----------------------------------------------------------------------
 */

static long
Parse(
    const char *bytes,
    size_t len,
    const DmLimits *limits,
    DmRequest *req,
    char **copyPtr)
{
    *copyPtr = Copy(bytes, len);
    memset(req, 0xa5, sizeof(*req));
    return DmParseRequest(*copyPtr, len, limits, req, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * CheckSpan --
 *
 *	Checks that a span is absent (want NULL) or lies inside
 *	buf[0..len) and holds the string want.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fails the running case on a mismatch.
 *
 *----------------------------------------------------------------------
 */

static void
CheckSpan(
    const char *name,
    const char *what,
    DmSpan span,
    const char *want,
    const char *buf,
    size_t len)
{
    if (want == NULL) {
	if (span.ptr != NULL || span.len != 0) {
	    Fail(name, "%s: expected absent, got \"%.*s\"", what,
		    span.ptr ? (int) span.len : 0, span.ptr ? span.ptr : "");
	}
	return;
    }
    if (span.ptr == NULL) {
	Fail(name, "%s: expected \"%s\", got absent", what, want);
    } else if (span.ptr < buf || span.len > len
	    || (size_t) (span.ptr - buf) > len - span.len) {
	Fail(name, "%s: span outside the buffer", what);
    } else if (span.len != strlen(want) || memcmp(span.ptr, want, span.len)) {
	Fail(name, "%s: expected \"%s\", got \"%.*s\"", what, want,
		(int) span.len, span.ptr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CheckRequest --
 *
 *	Compares a successful parse with what a case expects.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fails the running case on any mismatch.
 *
 *----------------------------------------------------------------------
 */

static void
CheckRequest(
    const ParseCase *c,
    const DmRequest *req,
    const char *buf,
    size_t len)
{
    const char *name = c->name;

#define CHECK_INT(field, want) \
    if ((long long) req->field != (long long) (want)) { \
	Fail(name, #field ": expected %lld, got %lld", \
		(long long) (want), (long long) req->field); \
    }
    CHECK_INT(method, c->method);
    CHECK_INT(versionMinor, c->minor);
    CHECK_INT(keepAlive, c->keepAlive);
    CHECK_INT(bodyKind, c->bodyKind);
    CHECK_INT(numHeaders, c->numHeaders);
    if (c->bodyKind == DM_BODY_LENGTH) {
	CHECK_INT(contentLength, c->contentLength);
    }
#undef CHECK_INT

    CheckSpan(name, "target", req->target, c->target, buf, len);
    CheckSpan(name, "host", req->host, c->host, buf, len);
    CheckSpan(name, "range", req->range, c->range, buf, len);
    CheckSpan(name, "ifModifiedSince", req->ifModifiedSince,
	    c->ifModifiedSince, buf, len);
    CheckSpan(name, "ifNoneMatch", req->ifNoneMatch.line[0], c->ifNoneMatch,
	    buf, len);
    CheckSpan(name, "ifRange", req->ifRange, c->ifRange, buf, len);
    if (c->methodName != NULL) {
	CheckSpan(name, "methodName", req->methodName, c->methodName,
		buf, len);
    }

    /*
     * The request line runs from the method through the version.
     */

    if (req->requestLine.ptr != req->methodName.ptr
	    || req->requestLine.len < req->methodName.len + req->target.len + 10
	    || memcmp(req->requestLine.ptr + req->requestLine.len - 8,
		    "HTTP/1.", 7) != 0
	    || req->target.ptr != req->methodName.ptr
		    + req->methodName.len + 1) {
	Fail(name, "requestLine \"%.*s\" does not frame method and target",
		(int) req->requestLine.len, req->requestLine.ptr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunParse --
 *
 *	Runs one parser case: the whole input, then its prefixes, which
 *	must each give DM_PARSE_MORE or the same result as the whole (for a
 *	valid head: MORE exactly while the head is incomplete).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case as passed or failed.
 *
 *----------------------------------------------------------------------
 */

static void
RunParse(
    const ParseCase *c,
    const char *input,
    size_t inputLen)
{
    const DmLimits *limits = c->limits ? c->limits : &defaultLimits;
    size_t len, k, step;
    char *full = Join(input, inputLen, c->extra, &len), *copy;
    long want = (c->result == WHOLE) ? (long) inputLen : c->result, got;
    DmRequest req;

    BeginCase();

    got = Parse(full, len, limits, &req, &copy);
    if (got != want) {
	Fail(c->name, "expected %ld, got %ld", want, got);
    } else if (got > 0) {
	CheckRequest(c, &req, copy, len);
    }
    free(copy);

    step = (len <= ALL_PREFIXES) ? 1 : len / 257 + 1;
    for (k = 0; k < len; k++) {
	long wantPrefix;

	/*
	 * Large inputs: every step-th prefix, plus those near the end of
	 * the input and of the head.
	 */

	if (k % step != 0 && len - k > 4
		&& (want <= 0 || (k + 2 < (size_t) want
		|| k > (size_t) want + 2))) {
	    continue;
	}
	got = Parse(full, k, limits, &req, &copy);
	free(copy);
	if (want > 0) {
	    wantPrefix = (k < (size_t) want) ? DM_PARSE_MORE : want;
	    if (got != wantPrefix) {
		Fail(c->name, "prefix %zu: expected %ld, got %ld",
			k, wantPrefix, got);
		break;
	    }
	} else if (got != DM_PARSE_MORE && got != want) {
	    Fail(c->name, "prefix %zu: expected 0 or %ld, got %ld",
		    k, want, got);
	    break;
	}
    }
    free(full);
    EndCase();
}

/*
 *----------------------------------------------------------------------
 *
 * Repeat --
 *
 *	Builds a string out of a head, a piece repeated n times and a tail.
 *
 * Results:
 *	A malloc'd NUL-terminated string; its length in *lenPtr.
 *
 * Side effects:
 *	Allocates the string.
 *
 *----------------------------------------------------------------------
 */

static char *
Repeat(
    const char *head,
    const char *piece,
    size_t n,
    const char *tail,
    size_t *lenPtr)
{
    size_t hl = strlen(head), pl = strlen(piece), tl = strlen(tail), i;
    char *s = malloc(hl + pl * n + tl + 1), *p;

    if (s == NULL) {
	perror("malloc");
	exit(2);
    }
    memcpy(s, head, hl);
    p = s + hl;
    for (i = 0; i < n; i++, p += pl) {
	memcpy(p, piece, pl);
    }
    memcpy(p, tail, tl + 1);
    *lenPtr = hl + pl * n + tl;
    return s;
}

/*
 *----------------------------------------------------------------------
 *
 * RunBigParseCases --
 *
 *	Cases whose inputs are too large to write out: the default limits
 *	at, just past and far past their boundaries.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunBigParseCases(void)
{
    ParseCase c;
    char *s, *target;
    size_t len;

    /*
     * "GET /" + n 'a' + " HTTP/1.0" is n + 14 bytes: n = 8178 fills
     * the 8192-byte request line exactly.
     */

    memset(&c, 0, sizeof(c));
    c.name = "request line of 8192 bytes";
    c.result = WHOLE;
    c.method = DM_METHOD_GET;
    c.target = target = Repeat("/", "a", 8178, "", &len);
    s = Repeat("GET /", "a", 8178, " HTTP/1.0\r\n\r\n", &len);
    RunParse(&c, s, len);
    free(target);
    free(s);

    memset(&c, 0, sizeof(c));
    c.name = "request line of 8193 bytes";
    c.result = -414;
    s = Repeat("GET /", "a", 8179, " HTTP/1.0\r\n\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "100 KiB request line";
    s = Repeat("GET /", "a", 100 * 1024, " HTTP/1.1\r\nHost: h\r\n\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "100 KiB request line, incomplete";
    s = Repeat("GET /", "a", 100 * 1024, "", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "100 KiB request line of CRs";
    s = Repeat("", "\r", 100 * 1024, "", &len);
    RunParse(&c, s, len);
    free(s);

    /*
     * Header block: "X: " + n bytes + CRLF per field plus the final
     * CRLF.  One field of 16377 value bytes fills 16384 exactly.
     */

    memset(&c, 0, sizeof(c));
    c.name = "header block of 16384 bytes";
    c.result = WHOLE;
    c.method = DM_METHOD_GET;
    c.target = "/";
    c.numHeaders = 1;
    s = Repeat("GET / HTTP/1.0\r\nX: ", "v", 16377, "\r\n\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    memset(&c, 0, sizeof(c));
    c.name = "header block of 16385 bytes";
    c.result = -431;
    s = Repeat("GET / HTTP/1.0\r\nX: ", "v", 16378, "\r\n\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "header block too large, many fields";
    c.limits = &(DmLimits) {8192, 16384, 100000};
    s = Repeat(REQ11, "X-Padding: 0123456789012345678901234567890123\r\n",
	    400, "\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "header block too large, incomplete";
    c.limits = NULL;
    s = Repeat(REQ11 "Cookie: ", "c", 20000, "", &len);
    RunParse(&c, s, len);
    free(s);

    memset(&c, 0, sizeof(c));
    c.name = "100 header fields";
    c.result = WHOLE;
    c.method = DM_METHOD_GET;
    c.target = "/";
    c.minor = 1;
    c.keepAlive = 1;
    c.host = "h";
    c.numHeaders = 100;
    s = Repeat(REQ11, "a:b\r\n", 99, "\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    memset(&c, 0, sizeof(c));
    c.name = "101 header fields";
    c.result = -431;
    s = Repeat(REQ11, "a:b\r\n", 100, "\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "10000 header fields";
    s = Repeat(REQ11, "a:b\r\n", 10000, "\r\n", &len);
    RunParse(&c, s, len);
    free(s);

    c.name = "10000 empty lines";
    c.result = -400;
    s = Repeat("", "\r\n", 10000, REQ11 "\r\n", &len);
    RunParse(&c, s, len);
    free(s);
}

/*
 *----------------------------------------------------------------------
 *
 * RunByteClasses --
 *
 *	Tries every byte value in a method, a field name, a target, a
 *	field value and a Host value, and checks acceptance against the
 *	RFC 9110, 9112 and 3986 character sets written out here.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts one case per position.
 *
 *----------------------------------------------------------------------
 */

static void
RunByteClasses(void)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    /*
     * Between two letters of a reg-name: '%' would start an escape, ':' a
     * port, and brackets belong around an IP literal only.
     */

    static const char hostChars[] = "-._~!$&'()*+,;=0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const struct {
	const char *name, *before, *after;
    } positions[] = {
	{"byte in method", "G", "T / HTTP/1.1\r\nHost: h\r\n\r\n"},
	{"byte in field name", REQ11 "X", "Y: v\r\n\r\n"},
	{"byte in target", "GET /", " HTTP/1.1\r\nHost: h\r\n\r\n"},
	{"byte in field value", REQ11 "X: a", "b\r\n\r\n"},
	{"byte in Host", "GET / HTTP/1.1\r\nHost: a", "b\r\n\r\n"},
    };
    unsigned i;
    int b;

    for (i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
	size_t bl = strlen(positions[i].before);
	size_t al = strlen(positions[i].after);

	BeginCase();
	for (b = 0; b < 256; b++) {
	    char in[64], *copy;
	    DmRequest req;
	    long got;
	    int valid;

	    switch (i) {
	    case 0:
		valid = b != 0 && strchr(tchars, b) != NULL;
		break;
	    case 1:
		/* "X:Y: v" is field X with value "Y: v". */
		valid = b == ':' || (b != 0 && strchr(tchars, b) != NULL);
		break;
	    case 2:
		valid = b >= 0x21 && b <= 0x7e;
		break;
	    case 3:
		valid = b == '\t' || (b >= 0x20 && b != 0x7f);
		break;
	    default:
		valid = b != 0 && strchr(hostChars, b) != NULL;
		break;
	    }
	    memcpy(in, positions[i].before, bl);
	    in[bl] = (char) b;
	    memcpy(in + bl + 1, positions[i].after, al);
	    got = Parse(in, bl + 1 + al, &defaultLimits, &req, &copy);
	    free(copy);
	    if (got != (valid ? (long) (bl + 1 + al) : -400)) {
		Fail(positions[i].name, "byte 0x%02x: got %ld", b, got);
	    }
	}
	EndCase();
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunPipeline --
 *
 *	Two heads and a body in one buffer: each parse returns the length
 *	of the first head it sees, so the caller can walk the requests.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case.
 *
 *----------------------------------------------------------------------
 */

static void
RunPipeline(void)
{
    static const char first[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char second[] =
	    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n";
    static const char third[] = "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char all[] =
	    "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n"
	    "body"
	    "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t len = sizeof(all) - 1, off = 0;
    char *copy = Copy(all, len);
    DmRequest req;
    long got;

    BeginCase();
    got = DmParseRequest(copy, len, &defaultLimits, &req, NULL);
    if (got != (long) sizeof(first) - 1 || req.method != DM_METHOD_GET
	    || req.target.len != 2 || memcmp(req.target.ptr, "/a", 2)) {
	Fail("pipelined requests", "first: got %ld", got);
    } else {
	off += (size_t) got;
	got = DmParseRequest(copy + off, len - off, &defaultLimits, &req,
		NULL);
	if (got != (long) sizeof(second) - 1
		|| req.bodyKind != DM_BODY_LENGTH || req.contentLength != 4
		|| req.target.len != 2 || memcmp(req.target.ptr, "/b", 2)) {
	    Fail("pipelined requests", "second: got %ld", got);
	} else {
	    off += (size_t) got + 4;
	    got = DmParseRequest(copy + off, len - off, &defaultLimits, &req,
		    NULL);
	    if (got != (long) sizeof(third) - 1
		    || req.method != DM_METHOD_HEAD
		    || off + (size_t) got != len) {
		Fail("pipelined requests", "third: got %ld", got);
	    }
	}
    }
    free(copy);
    EndCase();
}

/*
 *----------------------------------------------------------------------
 *
 * Decode --
 *
 *	Feeds a chunked body to a fresh decoder in pieces of at most
 *	`piece` bytes (0: all at once), or in two pieces split at `split`
 *	when piece is SIZE_MAX, each piece in an exact-size copy.
 *
 * Results:
 *	The decoder's last result; for DM_CHUNKED_DONE, *endPtr is the
 *	offset in buf just past the body.  99 if a call misreported what
 *	it consumed, 98 if a finished decoder did not stay finished.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
Decode(
    const char *buf,
    size_t len,
    size_t piece,
    size_t split,
    size_t *endPtr,
    char *data,			/* Gets the chunk data: room for len. */
    size_t *dataLenPtr)
{
    DmChunked ch;
    size_t off = 0, consumed, got;
    int result = DM_CHUNKED_MORE;

    *dataLenPtr = 0;
    DmChunkedInit(&ch);
    do {
	size_t n = len - off;
	char *copy;

	if (piece == SIZE_MAX) {
	    n = (off < split) ? split - off : n;
	} else if (piece != 0 && n > piece) {
	    n = piece;
	}
	copy = Copy(buf + off, n);
	consumed = SIZE_MAX;

	/*
	 * Decoded in place, as the server does, then gathered.
	 */

	result = DmChunkedDecode(&ch, copy, n, &consumed, copy, &got);
	if (got > n) {
	    free(copy);
	    return 97;
	}
	memcpy(data + *dataLenPtr, copy, got);
	*dataLenPtr += got;
	free(copy);
	if (result == DM_CHUNKED_ERROR) {
	    return result;
	}
	if (consumed > n || (result == DM_CHUNKED_MORE && consumed != n)) {
	    return 99;
	}
	off += consumed;
    } while (result == DM_CHUNKED_MORE && off < len);

    if (result == DM_CHUNKED_DONE) {
	char dummy = 'x';

	/*
	 * A finished decoder takes nothing more.
	 */

	if (DmChunkedDecode(&ch, &dummy, 1, &consumed, NULL, NULL)
		!= DM_CHUNKED_DONE || consumed != 0) {
	    return 98;
	}
    }
    *endPtr = off;
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * RunChunk --
 *
 *	Runs one chunked case whole, byte by byte, in 7-byte pieces and
 *	split in two at every point (for small inputs); all must give the
 *	expected result, and DONE must come exactly at the body's end.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the case.
 *
 *----------------------------------------------------------------------
 */

static void
RunChunk(
    const char *name,
    const char *input,
    size_t inputLen,
    const char *extra,
    int want)
{
    static const size_t pieces[] = {0, 1, 7};
    size_t len, end, split, firstLen = 0, dataLen;
    char *full = Join(input, inputLen, extra, &len);
    char *first = malloc(len + 1), *data = malloc(len + 1);
    int got;
    unsigned i;

    BeginCase();
    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
	end = SIZE_MAX;
	got = Decode(full, len, pieces[i], 0, &end, data, &dataLen);
	if (got != want) {
	    Fail(name, "pieces of %zu: expected %d, got %d", pieces[i],
		    want, got);
	} else if (got == DM_CHUNKED_DONE && end != inputLen) {
	    Fail(name, "pieces of %zu: body ends at %zu, not %zu",
		    pieces[i], end, inputLen);
	} else if (i == 0) {
	    memcpy(first, data, dataLen);
	    firstLen = dataLen;
	} else if (got == DM_CHUNKED_DONE && (dataLen != firstLen
		|| memcmp(data, first, dataLen) != 0)) {
	    Fail(name, "pieces of %zu: other data than whole", pieces[i]);
	}
    }
    for (split = 1; len <= ALL_PREFIXES && split < len; split++) {
	end = SIZE_MAX;
	got = Decode(full, len, SIZE_MAX, split, &end, data, &dataLen);
	if (got != want || (got == DM_CHUNKED_DONE && (end != inputLen
		|| dataLen != firstLen || memcmp(data, first, dataLen)))) {
	    Fail(name, "split at %zu: got %d, end %zu", split, got, end);
	    break;
	}
    }
    free(full);
    free(first);
    free(data);
    EndCase();
}

/*
 *----------------------------------------------------------------------
 *
 * RunChunkData --
 *
 *	Checks the data a chunked body decodes to: the chunks joined, with
 *	extensions, line ends and trailers gone.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunChunkData(void)
{
    static const struct {
	const char *body;
	const char *data;
    } cases[] = {
	{"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: v\r\n\r\n", "hello world"},
	{"0\r\n\r\n", ""},
	{"1\r\n\n\r\n2\r\n\r\n\r\n0\r\n\r\n", "\n\r\n"},
    };
    size_t i, end, dataLen;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	size_t len = strlen(cases[i].body);
	char *data = malloc(len + 1);
	int got;

	BeginCase();
	got = Decode(cases[i].body, len, 3, 0, &end, data, &dataLen);
	if (got != DM_CHUNKED_DONE || dataLen != strlen(cases[i].data)
		|| memcmp(data, cases[i].data, dataLen) != 0) {
	    Fail("chunk data", "case %zu: got %d, %zu bytes", i, got,
		    dataLen);
	}
	free(data);
	EndCase();
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunBigChunkCases --
 *
 *	Chunked cases too large to write out: the line and trailer caps
 *	at and past their limits, and a large chunk.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunBigChunkCases(void)
{
    char *s;
    size_t len;

    /* "5;" + 4094 = 4096 bytes: the longest size line. */
    s = Repeat("5;", "x", 4094, "\r\nhello\r\n0\r\n\r\n", &len);
    RunChunk("size line of 4096 bytes", s, len, NULL, DM_CHUNKED_DONE);
    free(s);
    s = Repeat("5;", "x", 4095, "\r\nhello\r\n0\r\n\r\n", &len);
    RunChunk("size line of 4097 bytes", s, len, NULL, DM_CHUNKED_ERROR);
    free(s);
    s = Repeat("5;", "x", 1024 * 1024, "\r\nhello\r\n0\r\n\r\n", &len);
    RunChunk("1 MiB chunk extension", s, len, NULL, DM_CHUNKED_ERROR);
    free(s);

    /* "X:" + 4094 = 4096 bytes: the longest trailer line. */
    s = Repeat("0\r\nX:", "t", 4094, "\r\n\r\n", &len);
    RunChunk("trailer line of 4096 bytes", s, len, NULL, DM_CHUNKED_DONE);
    free(s);
    s = Repeat("0\r\nX:", "t", 4095, "\r\n\r\n", &len);
    RunChunk("trailer line of 4097 bytes", s, len, NULL, DM_CHUNKED_ERROR);
    free(s);
    s = Repeat("0\r\n", "T: v\r\n", 100, "\r\n", &len);
    RunChunk("100 trailers", s, len, "x", DM_CHUNKED_DONE);
    free(s);
    s = Repeat("0\r\n", "T: v\r\n", 101, "\r\n", &len);
    RunChunk("101 trailers", s, len, NULL, DM_CHUNKED_ERROR);
    free(s);
    s = Repeat("0\r\n", "T: v\r\n", 100000, "\r\n", &len);
    RunChunk("100000 trailers", s, len, NULL, DM_CHUNKED_ERROR);
    free(s);

    /* 0x186a0 = 100000 data bytes, with CRLFs among them. */
    s = Repeat("186a0\r\n", "0\r\n\r\n", 20000, "\r\n0\r\n\r\n", &len);
    RunChunk("100000-byte chunk", s, len, "GET", DM_CHUNKED_DONE);
    free(s);
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

/*
 *----------------------------------------------------------------------
 *
 * RunHeadEnd --
 *
 *	Checks DmHeadMayEnd, which tells when an unfinished head is worth
 *	parsing again, and the checkAt length the parser reports with
 *	DM_PARSE_MORE: one byte short of it still gives DM_PARSE_MORE, and
 *	at it (no line end added) the limit's error.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunHeadEnd(void)
{
    static const struct {
	const char *input;
	size_t from;
	int expected;
    } ends[] = {
	{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 1},
	{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 26, 1},	/* Last byte new. */
	{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, 0},	/* Nothing new. */
	{"GET / HTTP/1.1\r\nHost: h\r\n\r", 0, 0},
	{"GET / HTTP/1.1\nHost: h\n\n", 23, 1},
	{"GET / HTTP/1.1\r\nHost: h\r\n", 0, 0},
	{"GET / HTTP/1.1\r\nHost: h\r\nX", 5, 0},
	{"\n\n", 1, 1},
	{"", 0, 0},
    };
    static const struct {
	const char *input;
	DmLimits limits;
	size_t checkAt;
	long atLimit;
    } more[] = {
	{"GET /abc", {14, 100, 10}, 15, -414},
	{"\r\nGET /abc", {14, 100, 10}, 17, -414},
	{"GET / HTTP/1.1\r\nHost: h", {64, 20, 10}, 37, -431},
	{"GET / HTTP/1.1\nHost: h\nX-A: b", {64, 20, 10}, 36, -431},
    };
    size_t i;

    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
	size_t len = strlen(ends[i].input);
	char *copy = Copy(ends[i].input, len);
	int got;

	BeginCase();
	got = DmHeadMayEnd(copy, ends[i].from, len);
	if (got != ends[i].expected) {
	    Fail("head end", "%zu: from %zu: got %d", i, ends[i].from, got);
	}
	free(copy);
	EndCase();
    }
    for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
	size_t len = strlen(more[i].input), at = more[i].checkAt;
	char *padded = malloc(at), *copy;
	DmRequest req;
	long got;

	BeginCase();
	got = Parse(more[i].input, len, &more[i].limits, &req, &copy);
	free(copy);
	if (got != DM_PARSE_MORE || req.checkAt != at) {
	    Fail("checkAt", "%zu: got %ld, checkAt %zu", i, got, req.checkAt);
	}
	memcpy(padded, more[i].input, len);
	memset(padded + len, 'x', at - len);
	got = Parse(padded, at - 1, &more[i].limits, &req, &copy);
	free(copy);
	if (got != DM_PARSE_MORE) {
	    Fail("checkAt", "%zu: one byte short: got %ld", i, got);
	}
	got = Parse(padded, at, &more[i].limits, &req, &copy);
	free(copy);
	if (got != more[i].atLimit) {
	    Fail("checkAt", "%zu: at it: got %ld", i, got);
	}
	free(padded);
	EndCase();
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunFields --
 *
 *	Checks that every header field is kept, in order, repeated ones
 *	too, with its value trimmed, and that DmFindField finds the first
 *	of a name in any case; also every known method.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts the cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunFields(void)
{
    static const char head[] = "PATCH /x HTTP/1.1\r\nHost: h\r\n"
	    "Accept: a\r\nX-Rep: one \r\nUser-Agent:\tua/1\r\nx-rep:two\r\n"
	    "Empty:\r\n\r\n";
    static const char *const want[][2] = {
	{"Host", "h"}, {"Accept", "a"}, {"X-Rep", "one"},
	{"User-Agent", "ua/1"}, {"x-rep", "two"}, {"Empty", ""}
    };
    static const struct {
	const char *line;
	int method;
    } methods[] = {
	{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_GET},
	{"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_HEAD},
	{"POST / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_POST},
	{"PUT / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_PUT},
	{"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_DELETE},
	{"CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_CONNECT},
	{"OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_OPTIONS},
	{"TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_TRACE},
	{"PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_PATCH},
	{"get / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_OTHER},
	{"PURGE / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_OTHER},
	{"GETS / HTTP/1.1\r\nHost: h\r\n\r\n", DM_METHOD_OTHER},
    };
    DmField fields[100];
    DmRequest req;
    const DmField *f;
    char *copy = Copy(head, sizeof(head) - 1);
    long got;
    size_t i;

    BeginCase();
    got = DmParseRequest(copy, sizeof(head) - 1, &defaultLimits, &req,
	    fields);
    if (got != (long) sizeof(head) - 1 || req.numHeaders != 6
	    || req.fields != fields || req.method != DM_METHOD_PATCH) {
	Fail("fields", "got %ld, %d fields", got, req.numHeaders);
    } else {
	for (i = 0; i < 6; i++) {
	    if (fields[i].name.len != strlen(want[i][0])
		    || memcmp(fields[i].name.ptr, want[i][0],
			    fields[i].name.len) != 0
		    || fields[i].value.len != strlen(want[i][1])
		    || memcmp(fields[i].value.ptr, want[i][1],
			    fields[i].value.len) != 0) {
		Fail("fields", "field %zu differs", i);
	    }
	}
	f = DmFindField(&req, "x-rep");
	if (f != &fields[2]) {
	    Fail("fields", "x-rep not found first");
	}
	if (DmFindField(&req, "user-agent") != &fields[3]
		|| DmFindField(&req, "referer") != NULL
		|| DmFindField(&req, "x-re") != NULL) {
	    Fail("fields", "lookups");
	}
    }
    free(copy);
    EndCase();

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
	size_t len = strlen(methods[i].line);

	BeginCase();
	copy = Copy(methods[i].line, len);
	got = DmParseRequest(copy, len, &defaultLimits, &req, NULL);
	if (got != (long) len || req.method != methods[i].method
		|| req.fields != NULL) {
	    Fail("methods", "%s: got %ld, method %d", methods[i].line, got,
		    req.method);
	}
	free(copy);
	EndCase();
    }
}

int
main(void)
{
    size_t i;

    for (i = 0; i < sizeof(parseCases) / sizeof(parseCases[0]); i++) {
	RunParse(&parseCases[i], parseCases[i].input, parseCases[i].len);
    }
    RunBigParseCases();
    RunByteClasses();
    RunPipeline();
    for (i = 0; i < sizeof(chunkCases) / sizeof(chunkCases[0]); i++) {
	const ChunkCase *c = &chunkCases[i];

	RunChunk(c->name, c->input, c->len, c->extra, c->result);
    }
    RunBigChunkCases();
    RunChunkData();
    RunHeadEnd();
    RunFields();

    printf("httpUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
