/*
 * pathUnit.c --
 *
 *	Unit tests of the request-target normaliser (generic/dmPath.c):
 *	a table of known targets, then random targets checked against the
 *	normaliser's contract and against a plain reference model.  Every
 *	input and every output buffer is a malloc'd block of exactly its
 *	size, so a build with -fsanitize=address turns any access past
 *	either end into a failure.  Build and run:
 *
 *	    cc -Igeneric tests/unit/pathUnit.c generic/dmPath.c -o pathUnit
 *	    ./pathUnit
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmPath.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * BIN gives a literal and its length, so inputs may hold NUL bytes.
 */

#define BIN(s)		.input = (s), .len = sizeof(s) - 1

#define RANDOM_TARGETS	200000
#define RANDOM_SEED	0x9e3779b97f4a7c15ULL

/*
 * Random targets fail in bulk when they fail at all; only this many of
 * their failure lines are printed, the rest are only counted.
 */

#define MAX_PRINTED	30

static int passed, failed;
static int caseFailed;		/* The running case has failed a check. */
static int printed;		/* Random failure lines printed so far. */
static int inRandom;		/* Running the random targets. */

/*
 * One table case: the target, the status expected and, for status 0,
 * the path expected.
 */

typedef struct PathCase {
    const char *input;
    size_t len;
    int status;
    const char *expect;
} PathCase;

static const PathCase pathCases[] = {
    /* Plain paths. */
    {BIN("/"), 0, "/"},
    {BIN("/a/b"), 0, "/a/b"},
    {BIN("/a/b/"), 0, "/a/b/"},
    {BIN("/index.html"), 0, "/index.html"},
    {BIN("/a//b"), 0, "/a/b"},
    {BIN("//"), 0, "/"},
    {BIN("///a///"), 0, "/a/"},
    {BIN("/ "), 0, "/ "},

    /* Dot segments. */
    {BIN("/a/./b"), 0, "/a/b"},
    {BIN("/a/../b"), 0, "/b"},
    {BIN("/a/b/.."), 0, "/a/"},
    {BIN("/a/b/."), 0, "/a/b/"},
    {BIN("/a/b/c/../../d"), 0, "/a/d"},
    {BIN("/a/.."), 0, "/"},
    {BIN("/."), 0, "/"},
    {BIN("/./"), 0, "/"},
    {BIN("/.."), 400, NULL},
    {BIN("/../"), 400, NULL},
    {BIN("/a/../.."), 400, NULL},
    {BIN("/a/../../b"), 400, NULL},
    {BIN("/./../a"), 400, NULL},
    {BIN("/..."), 0, "/..."},
    {BIN("/.../.."), 0, "/"},
    {BIN("/.hidden"), 0, "/.hidden"},
    {BIN("/..a"), 0, "/..a"},
    {BIN("/a.."), 0, "/a.."},
    {BIN("/a/..b/c"), 0, "/a/..b/c"},

    /* Escapes, decoded once. */
    {BIN("/%61"), 0, "/a"},
    {BIN("/%41%42"), 0, "/AB"},
    {BIN("/%2e"), 0, "/"},
    {BIN("/%2e%2e"), 400, NULL},
    {BIN("/%2e%2e/"), 400, NULL},
    {BIN("/%2E%2e%2fetc"), 400, NULL},
    {BIN("/..%2f..%2fetc/passwd"), 400, NULL},
    {BIN("/.%2e/x"), 400, NULL},
    {BIN("/a/%2e%2e/b"), 0, "/b"},
    {BIN("/a/%2E%2E"), 0, "/"},
    {BIN("/a%2fb"), 0, "/a/b"},
    {BIN("/a%2Fb"), 0, "/a/b"},
    {BIN("/%2f"), 0, "/"},
    {BIN("/%2f%2f"), 0, "/"},
    {BIN("/a%2f%2e%2e"), 0, "/"},
    {BIN("/%25"), 0, "/%"},
    {BIN("/%252e"), 0, "/%2e"},
    {BIN("/%252e%252e/x"), 0, "/%2e%2e/x"},
    {BIN("/%252f"), 0, "/%2f"},
    {BIN("/%3f"), 0, "/?"},
    {BIN("/%23x"), 0, "/#x"},
    {BIN("/%20"), 0, "/ "},
    {BIN("/%zz"), 400, NULL},
    {BIN("/%4"), 400, NULL},
    {BIN("/%"), 400, NULL},
    {BIN("/a%"), 400, NULL},
    {BIN("/%g0"), 400, NULL},
    {BIN("/%0g"), 400, NULL},
    {BIN("/% 1"), 400, NULL},

    /* Bytes a path may not hold. */
    {BIN("/foo%00.html"), 400, NULL},
    {BIN("/a\0b"), 400, NULL},
    {BIN("/%0a"), 400, NULL},
    {BIN("/%0d%0a"), 400, NULL},
    {BIN("/%1f"), 400, NULL},
    {BIN("/%7f"), 400, NULL},
    {BIN("/a\tb"), 400, NULL},
    {BIN("/a\x7f"), 400, NULL},
    {BIN("/a\\b"), 400, NULL},
    {BIN("/a%5cb"), 400, NULL},
    {BIN("/a%5Cb"), 400, NULL},
    {BIN("/..\\x"), 400, NULL},
    {BIN("/..%5c..%5cwin.ini"), 400, NULL},

    /* UTF-8. */
    {BIN("/%c3%a9"), 0, "/\xc3\xa9"},
    {BIN("/\xc3\xa9"), 0, "/\xc3\xa9"},
    {BIN("/%e2%82%ac/x"), 0, "/\xe2\x82\xac/x"},
    {BIN("/%ef%bf%bf"), 0, "/\xef\xbf\xbf"},
    {BIN("/%f0%9f%98%80"), 0, "/\xf0\x9f\x98\x80"},
    {BIN("/%f4%8f%bf%bf"), 0, "/\xf4\x8f\xbf\xbf"},
    {BIN("/%c2%80"), 0, "/\xc2\x80"},
    {BIN("/%c0%af"), 400, NULL},
    {BIN("/%c0%ae%c0%ae/x"), 400, NULL},
    {BIN("/%c1%bf"), 400, NULL},
    {BIN("/%e0%80%af"), 400, NULL},
    {BIN("/%e0%9f%bf"), 400, NULL},
    {BIN("/%f0%80%80%af"), 400, NULL},
    {BIN("/%f0%8f%bf%bf"), 400, NULL},
    {BIN("/%80"), 400, NULL},
    {BIN("/a%bf"), 400, NULL},
    {BIN("/%ed%a0%80"), 400, NULL},
    {BIN("/%ed%bf%bf"), 400, NULL},
    {BIN("/%f4%90%80%80"), 400, NULL},
    {BIN("/%f5%80%80%80"), 400, NULL},
    {BIN("/%f8%88%80%80%80"), 400, NULL},
    {BIN("/%fe"), 400, NULL},
    {BIN("/%ff"), 400, NULL},
    {BIN("/%c3"), 400, NULL},
    {BIN("/%c3/"), 400, NULL},
    {BIN("/%c3x"), 400, NULL},
    {BIN("/%e2%82"), 400, NULL},
    {BIN("/%f0%9f%98"), 400, NULL},
    {BIN("/\xc0\xaf"), 400, NULL},
    {BIN("/\xed\xa0\x80"), 400, NULL},
    {BIN("/\xe2\x82"), 400, NULL},

    /* Query and fragment. */
    {BIN("/x?y=../../z"), 0, "/x"},
    {BIN("/x#frag"), 0, "/x"},
    {BIN("/x?"), 0, "/x"},
    {BIN("/?a"), 0, "/"},
    {BIN("/a/..?x"), 0, "/"},
    {BIN("/a?%zz"), 0, "/a"},
    {BIN("/a#\\"), 0, "/a"},
    {BIN("/a/?b/../.."), 0, "/a/"},
    {BIN("/..?x"), 400, NULL},

    /* Absolute-form. */
    {BIN("http://host/path"), 0, "/path"},
    {BIN("http://host"), 0, "/"},
    {BIN("http://host/"), 0, "/"},
    {BIN("HTTP://host/a"), 0, "/a"},
    {BIN("HtTpS://h:8080/x/../y"), 0, "/y"},
    {BIN("http://host?q=/a"), 0, "/"},
    {BIN("http://host#/a"), 0, "/"},
    {BIN("http://host/a?q=/b"), 0, "/a"},
    {BIN("http://user@host:80/%41"), 0, "/A"},
    {BIN("x-y+z.1://h/a"), 0, "/a"},
    {BIN("http://host/.."), 400, NULL},
    {BIN("http://host/%00"), 400, NULL},
    {BIN("://host/a"), 400, NULL},
    {BIN("1http://h/a"), 400, NULL},
    {BIN("-http://h/a"), 400, NULL},
    {BIN("ht tp://h/a"), 400, NULL},
    {BIN("http:/host/a"), 400, NULL},
    {BIN("http:host/a"), 400, NULL},
    {BIN("http:"), 400, NULL},

    /* Invalid UTF-8 is refused even in a segment ".." removes. */
    {BIN("/%c0%af/../x"), 400, NULL},
    {BIN("/%ff/.."), 400, NULL},

    /* Neither origin-form nor absolute-form. */
    {BIN(""), 400, NULL},
    {BIN("a/b"), 400, NULL},
    {BIN("*"), 400, NULL},
    {BIN("../etc"), 400, NULL},
    {BIN(".."), 400, NULL},
    {BIN("%2f"), 400, NULL},
    {BIN("\\a"), 400, NULL},
    {BIN("?/a"), 400, NULL},
};

/*
 * The pieces random targets are built from: the characters and escapes
 * that matter to the normaliser, and some whole tricks.
 */

static const char *const pieces[] = {
    "/", ".", "%", "2", "e", "f", "5", "c", "0", "a", "?", "#", "\\", "x",
    "%2e", "%2f", "..", "%c0%af", "/", ".", "/..", "/.", "%2E", "%2F",
    "%25", "%5c", "%00", "%c3%a9", "%e2%82%ac", "%80", "%ed%a0%80",
    "\xc3\xa9", "\xc3", " ", "%3f", "%f4%90%80%80", "%c0%ae"
};

/*
 *----------------------------------------------------------------------
 *
 * Fail --
 *
 *	Reports one failed check of the running case, unless it is a
 *	random one and enough of those have been printed already.
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
    const char *name,
    const char *format,
    ...)
{
    va_list ap;

    caseFailed = 1;
    if (inRandom && printed++ >= MAX_PRINTED) {
	return;
    }
    printf("FAIL %s: ", name);
    va_start(ap, format);
    vprintf(format, ap);
    va_end(ap);
    putchar('\n');
}

/*
 *----------------------------------------------------------------------
 *
 * BeginCase, EndCase --
 *
 *	Bracket the checks of one case, which passes if none of them
 *	fails.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	BeginCase clears the failure mark; EndCase counts the case.
 *
 *----------------------------------------------------------------------
 */

static void
BeginCase(void)
{
    caseFailed = 0;
}

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
 * Alloc --
 *
 *	malloc that never returns NULL, even for size 0.
 *
 * Results:
 *	A block of at least size bytes; the caller frees it.
 *
 * Side effects:
 *	Exits if memory runs out.
 *
 *----------------------------------------------------------------------
 */

static char *
Alloc(
    size_t size)
{
    char *p = malloc(size ? size : 1);

    if (p == NULL) {
	perror("malloc");
	exit(2);
    }
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * Show --
 *
 *	Renders bytes printably for a failure message: C escapes for
 *	anything outside printable ASCII.  Two rotating buffers, so one
 *	message can show two strings.
 *
 * Results:
 *	A static string, cut short if the bytes are long.
 *
 * Side effects:
 *	Overwrites a static buffer.
 *
 *----------------------------------------------------------------------
 */

static const char *
Show(
    const char *bytes,
    size_t len)
{
    static char bufs[2][600];
    static int which;
    char *buf = bufs[which ^= 1], *p = buf;
    size_t i;

    for (i = 0; i < len && p < buf + sizeof(bufs[0]) - 8; i++) {
	unsigned char c = (unsigned char) bytes[i];

	if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
	    *p++ = (char) c;
	} else {
	    p += sprintf(p, "\\x%02x", c);
	}
    }
    if (i < len) {
	strcpy(p, "...");
    } else {
	*p = '\0';
    }
    return buf;
}

/*
 *----------------------------------------------------------------------
 *
 * Normalize --
 *
 *	Calls DmNormalizePath on an exact-size copy of the target, with an
 *	output block of exactly outSize bytes.
 *
 * Results:
 *	The status; on 0 the result (malloc'd, the caller frees it) in
 *	*resultPtr and its length in *resultLenPtr.  *resultPtr is NULL
 *	on error.
 *
 * Side effects:
 *	Allocates the result.
 *
 *----------------------------------------------------------------------
 */

static int
Normalize(
    const char *target,
    size_t len,
    size_t outSize,
    char **resultPtr,
    size_t *resultLenPtr)
{
    char *in = Alloc(len), *out = Alloc(outSize);
    size_t outLen = SIZE_MAX;
    int status;

    memcpy(in, target, len);
    status = DmNormalizePath(in, len, out, outSize, &outLen);
    free(in);
    if (status != 0) {
	free(out);
	*resultPtr = NULL;
	return status;
    }
    *resultPtr = out;
    *resultLenPtr = outLen;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Utf8Valid --
 *
 *	Checks well-formed UTF-8 by the byte ranges of the Unicode
 *	standard's table of well-formed sequences (kept apart from the
 *	decoding check in dmPath.c on purpose).
 *
 * Results:
 *	1 if valid, 0 if not.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
Utf8Valid(
    const unsigned char *s,
    size_t len)
{
    size_t i = 0;

    while (i < len) {
	unsigned c = s[i];
	unsigned lo = 0x80, hi = 0xbf;	/* Range of the second byte. */
	size_t n, k;

	if (c <= 0x7f) {
	    i++;
	    continue;
	} else if (c >= 0xc2 && c <= 0xdf) {
	    n = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
	    n = 2;
	    if (c == 0xe0) {
		lo = 0xa0;
	    } else if (c == 0xed) {
		hi = 0x9f;
	    }
	} else if (c >= 0xf0 && c <= 0xf4) {
	    n = 3;
	    if (c == 0xf0) {
		lo = 0x90;
	    } else if (c == 0xf4) {
		hi = 0x8f;
	    }
	} else {
	    return 0;
	}
	if (i + n >= len || s[i + 1] < lo || s[i + 1] > hi) {
	    return 0;
	}
	for (k = 2; k <= n; k++) {
	    if (s[i + k] < 0x80 || s[i + k] > 0xbf) {
		return 0;
	    }
	}
	i += n + 1;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * Reference --
 *
 *	A plain model of the normaliser: split off the query, decode the
 *	whole path, split it at '/' into segments, refuse any segment that
 *	is not valid UTF-8 (even one a later ".." removes), and resolve them
 *	on a stack.  Slow and simple, so that it can be trusted.
 *
 * Results:
 *	0 with the path in out[] (which must hold 2 * len + 2 bytes) and
 *	its length in *outLenPtr, or 400.
 *
 * Side effects:
 *	Writes out[].
 *
 *----------------------------------------------------------------------
 */

static int
Reference(
    const char *target,
    size_t len,
    char *out,
    size_t *outLenPtr)
{
    const char *path = target, *end = target + len;
    char *dec, *seg;
    size_t decLen = 0, i, o, *stack, depth = 0;
    int trailing = 0;

    if (len == 0) {
	return 400;
    }
    if (target[0] != '/') {
	size_t s = 0;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) "://" */
	while (s < len && ((target[s] >= 'a' && target[s] <= 'z')
		|| (target[s] >= 'A' && target[s] <= 'Z')
		|| (s > 0 && ((target[s] >= '0' && target[s] <= '9')
		|| target[s] == '+' || target[s] == '-'
		|| target[s] == '.')))) {
	    s++;
	}
	if (s == 0 || len - s < 3 || memcmp(target + s, "://", 3) != 0) {
	    return 400;
	}
	path = target + s + 3;
	while (path < end && *path != '/' && *path != '?' && *path != '#') {
	    path++;
	}
	if (path == end || *path != '/') {
	    strcpy(out, "/");
	    *outLenPtr = 1;
	    return 0;
	}
    }
    for (end = path; end < target + len && *end != '?' && *end != '#';
	    end++) {
	/* Find the end of the path. */
    }

    dec = Alloc((size_t) (end - path));
    for (const char *p = path; p < end; p++) {
	unsigned c = (unsigned char) *p;

	if (c == '%') {
	    char hex[3] = {0, 0, 0};

	    if (end - p < 3 || !isxdigit((unsigned char) p[1])
		    || !isxdigit((unsigned char) p[2])) {
		free(dec);
		return 400;
	    }
	    memcpy(hex, p + 1, 2);
	    c = (unsigned) strtoul(hex, NULL, 16);
	    p += 2;
	}
	if (c < 0x20 || c == 0x7f || c == '\\') {
	    free(dec);
	    return 400;
	}
	dec[decLen++] = (char) c;
    }

    /*
     * dec starts with '/'; each segment runs from after a '/' to the
     * next '/' or the end.  The stack holds the start of each kept
     * segment in dec; segments end at a '/' or at decLen.
     */

    stack = (size_t *) Alloc(decLen * sizeof(size_t));
    for (i = 1; i <= decLen; i++) {
	size_t start = i, n;

	while (i < decLen && dec[i] != '/') {
	    i++;
	}
	n = i - start;
	seg = dec + start;
	if (!Utf8Valid((const unsigned char *) seg, n)) {
	    free(stack);
	    free(dec);
	    return 400;
	}
	trailing = (i == decLen) && (n == 0 || (n == 1 && seg[0] == '.')
		|| (n == 2 && seg[0] == '.' && seg[1] == '.'));
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
	    if (depth == 0) {
		free(stack);
		free(dec);
		return 400;
	    }
	    depth--;
	} else if (n > 0 && !(n == 1 && seg[0] == '.')) {
	    stack[depth++] = start;
	}
    }

    o = 0;
    out[o++] = '/';
    for (i = 0; i < depth; i++) {
	size_t start = stack[i];

	while (start < decLen && dec[start] != '/') {
	    out[o++] = dec[start++];
	}
	if (i + 1 < depth || trailing) {
	    out[o++] = '/';
	}
    }
    out[o] = '\0';
    free(stack);
    free(dec);
    if (!Utf8Valid((const unsigned char *) out, o)) {
	return 400;
    }
    *outLenPtr = o;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckContract --
 *
 *	Checks that a successful result has every property dmPath.h
 *	promises: a leading '/', no "." or ".." segment, no empty segment
 *	but a final one, no NUL, control byte or backslash, valid UTF-8.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Reports failures.
 *
 *----------------------------------------------------------------------
 */

static void
CheckContract(
    const char *name,
    const char *out,
    size_t outLen)
{
    size_t i, start;

    if (outLen == 0 || out[0] != '/') {
	Fail(name, "result \"%s\" does not start with '/'",
		Show(out, outLen));
	return;
    }
    if (out[outLen] != '\0') {
	Fail(name, "result \"%s\" is not NUL-terminated", Show(out, outLen));
    }
    for (i = 0; i < outLen; i++) {
	unsigned char c = (unsigned char) out[i];

	if (c < 0x20 || c == 0x7f || c == '\\') {
	    Fail(name, "result \"%s\" holds byte 0x%02x at %zu",
		    Show(out, outLen), c, i);
	    return;
	}
    }
    if (!Utf8Valid((const unsigned char *) out, outLen)) {
	Fail(name, "result \"%s\" is not valid UTF-8", Show(out, outLen));
    }
    for (start = 1; start < outLen; start = i + 1) {
	size_t n;

	for (i = start; i < outLen && out[i] != '/'; i++) {
	    /* Find the end of the segment. */
	}
	n = i - start;
	if (n == 0) {
	    Fail(name, "result \"%s\" has an empty segment at %zu",
		    Show(out, outLen), start);
	} else if ((n == 1 && out[start] == '.')
		|| (n == 2 && out[start] == '.' && out[start + 1] == '.')) {
	    Fail(name, "result \"%s\" has a dot segment at %zu",
		    Show(out, outLen), start);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CheckSizes --
 *
 *	Checks the output size limit for a target whose result is
 *	resultLen bytes long.  A block of len + 1 bytes (the target's own
 *	length) must always do; for a target with nothing to resolve (no
 *	'.', '%' or "//") so must an exact fit of resultLen + 1, since only
 *	dot segments and collapsed slashes need working space.  A block of
 *	resultLen bytes or less must give 414.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Reports failures.
 *
 *----------------------------------------------------------------------
 */

static void
CheckFits(
    const char *name,
    const char *target,
    size_t len,
    size_t outSize,
    const char *result,
    size_t resultLen)
{
    size_t outLen;
    char *out;
    int status = Normalize(target, len, outSize, &out, &outLen);

    if (status != 0) {
	Fail(name, "with outSize %zu: got %d, expected 0", outSize, status);
	return;
    }
    if (outLen != resultLen || memcmp(out, result, resultLen + 1) != 0) {
	Fail(name, "with outSize %zu: got \"%s\", expected \"%s\"",
		outSize, Show(out, outLen), Show(result, resultLen));
    }
    free(out);
}

static void
CheckSizes(
    const char *name,
    const char *target,
    size_t len,
    const char *result,
    size_t resultLen)
{
    size_t shortSizes[3] = {0, 1, resultLen}, outLen, k;
    char *out;
    int status, i, simple = 1;

    for (k = 0; k < len; k++) {
	if (target[k] == '.' || target[k] == '%'
		|| (target[k] == '/' && k + 1 < len && target[k + 1] == '/')) {
	    simple = 0;
	}
    }
    CheckFits(name, target, len, len + 1, result, resultLen);
    if (simple) {
	CheckFits(name, target, len, resultLen + 1, result, resultLen);
    }
    for (i = 0; i < 3; i++) {
	if (shortSizes[i] > resultLen) {
	    continue;
	}
	status = Normalize(target, len, shortSizes[i], &out, &outLen);
	if (status != 414) {
	    Fail(name, "with outSize %zu (too small): got %d, expected 414",
		    shortSizes[i], status);
	    free(out);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunTableCase --
 *
 *	Runs one table case with a roomy output block, then with exact
 *	and short ones.
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
RunTableCase(
    const PathCase *c)
{
    char name[700], *out;
    size_t outLen;
    int status;

    snprintf(name, sizeof(name), "\"%s\"", Show(c->input, c->len));
    BeginCase();
    status = Normalize(c->input, c->len, 2 * c->len + 16, &out, &outLen);
    if (status != c->status) {
	if (status == 0) {
	    Fail(name, "got 0 with \"%s\", expected %d", Show(out, outLen),
		    c->status);
	} else {
	    Fail(name, "got %d, expected %d", status, c->status);
	}
    } else if (status == 0) {
	size_t expectLen = strlen(c->expect);

	if (outLen != expectLen || memcmp(out, c->expect, expectLen) != 0) {
	    Fail(name, "got \"%s\", expected \"%s\"", Show(out, outLen),
		    Show(c->expect, expectLen));
	}
	CheckContract(name, out, outLen);
	CheckSizes(name, c->input, c->len, c->expect, expectLen);
    }
    free(out);
    EndCase();
}

/*
 *----------------------------------------------------------------------
 *
 * RunLongCases --
 *
 *	Cases too large to write out: a long path, a deep climb back to
 *	the root, and one that climbs one step too far.
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
RunLongCases(void)
{
    enum { DEPTH = 20000 };
    char *target = Alloc(5 * DEPTH + 3), *out;
    size_t len, outLen, i;
    int status;

    /* "/aaaa...a": an 80000-byte name. */
    BeginCase();
    target[0] = '/';
    memset(target + 1, 'a', 4 * DEPTH);
    len = 1 + 4 * DEPTH;
    target[len] = '\0';		/* CheckSizes compares the NUL too. */
    status = Normalize(target, len, len + 16, &out, &outLen);
    if (status != 0 || outLen != len || memcmp(out, target, len) != 0) {
	Fail("long name", "got %d, length %zu", status,
		status ? 0 : outLen);
    }
    free(out);
    CheckSizes("long name", target, len, target, len);
    EndCase();

    /* "/a/a/.../a" then as many "/.." : back to "/". */
    BeginCase();
    for (i = 0; i < DEPTH; i++) {
	memcpy(target + 2 * i, "/a", 2);
    }
    len = 2 * DEPTH;
    status = Normalize(target, len, len + 16, &out, &outLen);
    if (status != 0 || outLen != len || memcmp(out, target, len) != 0) {
	Fail("deep path", "got %d", status);
    }
    free(out);
    for (i = 0; i < DEPTH; i++) {
	memcpy(target + len + 3 * i, "/..", 3);
    }
    status = Normalize(target, 5 * DEPTH, 10 * DEPTH + 16, &out, &outLen);
    if (status != 0 || outLen != 1 || strcmp(out, "/") != 0) {
	Fail("deep climb to the root", "got %d", status);
    }
    free(out);
    memcpy(target + 5 * DEPTH, "/..", 3);
    status = Normalize(target, 5 * DEPTH + 3, 10 * DEPTH + 16, &out,
	    &outLen);
    if (status != 400) {
	Fail("deep climb above the root", "got %d, expected 400", status);
	free(out);
    }
    EndCase();

    free(target);
}

/*
 *----------------------------------------------------------------------
 *
 * Random --
 *
 *	A xorshift64* generator, so every run sees the same targets.
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
 * RunRandom --
 *
 *	Normalises many random targets.  Each result must agree with the
 *	reference model, keep the contract, fit an exact-size block, and
 *	normalise to itself.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts each target as a case.
 *
 *----------------------------------------------------------------------
 */

static void
RunRandom(void)
{
    uint64_t state = RANDOM_SEED;
    char target[512], name[700], model[2 * sizeof(target) + 2];
    char *out, *again;
    size_t len, outLen, modelLen, againLen;
    int n, status, modelStatus;

    for (n = 0; n < RANDOM_TARGETS; n++) {
	uint64_t r = Random(&state);
	int count = 1 + (int) (r % 12), k;

	/* Mostly origin-form; now and then absolute-form or neither. */
	len = 0;
	switch ((r >> 8) % 16) {
	case 0:
	    memcpy(target, "http://h", 8);
	    len = 8;
	    break;
	case 1:
	    break;
	default:
	    target[len++] = '/';
	}
	for (k = 0; k < count; k++) {
	    const char *piece = pieces[Random(&state)
		    % (sizeof(pieces) / sizeof(pieces[0]))];
	    size_t pieceLen = strlen(piece);

	    memcpy(target + len, piece, pieceLen);
	    len += pieceLen;
	}
	snprintf(name, sizeof(name), "random \"%s\"", Show(target, len));

	BeginCase();
	status = Normalize(target, len, 2 * len + 16, &out, &outLen);
	modelStatus = Reference(target, len, model, &modelLen);
	if (status != modelStatus) {
	    Fail(name, "got %d \"%s\", the model %d \"%s\"", status,
		    status ? "" : Show(out, outLen), modelStatus,
		    modelStatus ? "" : Show(model, modelLen));
	} else if (status == 0 && (outLen != modelLen
		|| memcmp(out, model, modelLen) != 0)) {
	    Fail(name, "got \"%s\", the model \"%s\"", Show(out, outLen),
		    Show(model, modelLen));
	}
	if (status != 0 && status != 400) {
	    Fail(name, "status %d is neither 0 nor 400", status);
	}
	if (status == 0) {
	    CheckContract(name, out, outLen);
	    CheckSizes(name, target, len, out, outLen);

	    /*
	     * A decoded '%', '?' or '#' means something else when the
	     * result is read as a target again; without them, normalising
	     * must change nothing.
	     */

	    if (strpbrk(out, "%?#") == NULL) {
		status = Normalize(out, outLen, outLen + 16, &again, &againLen);
		if (status != 0 || againLen != outLen
			|| memcmp(again, out, outLen) != 0) {
		    Fail(name, "not idempotent: \"%s\" gives %d \"%s\"",
			    Show(out, outLen), status,
			    status ? "" : Show(again, againLen));
		}
		free(again);
	    }
	}
	free(out);
	EndCase();
    }
}

/*
 *----------------------------------------------------------------------
 *
 * RunWinCases --
 *
 *	DmPathWinSafe on the names Windows would not open as themselves
 *	(streams, wildcards, trailing dots and spaces, device names in any
 *	case and with an extension) and on near misses that are ordinary
 *	names.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Counts and reports cases.
 *
 *----------------------------------------------------------------------
 */

static void
RunWinCases(void)
{
    static const struct {
	const char *path;
	int safe;
    } cases[] = {
	{"/", 1}, {"/index.html", 1}, {"/a/b/c.txt", 1}, {"/dir/", 1},
	{"/.well-known/x", 1}, {"/con.d/x", 0}, {"/console", 1},
	{"/icon", 1}, {"/com10", 1}, {"/lpt", 1}, {"/nul.txt.bak", 0},
	{"/nulx", 1}, {"/auxiliary", 1}, {"/caf\xc3\xa9.txt", 1},
	{"/a:b", 0}, {"/file.txt::$DATA", 0}, {"/c:", 0},
	{"/x?y", 0}, {"/x*", 0}, {"/a<b", 0}, {"/a>b", 0}, {"/a|b", 0},
	{"/a\"b", 0}, {"/secret.txt.", 0}, {"/secret.txt ", 0},
	{"/dir./x", 0}, {"/dir /x", 0}, {"/CON", 0}, {"/con", 0},
	{"/Con.txt", 0}, {"/x/prn", 0}, {"/aux.html", 0}, {"/NUL", 0},
	{"/com1", 0}, {"/COM9.log", 0}, {"/lpt0", 0}, {"/LpT5.x", 0},
	{"/com\xc2\xb9", 0}, {"/lpt\xc2\xb3.txt", 0}, {"/com\xc2\xb4", 1},
	{"/conin$", 0}, {"/CONOUT$.x", 0}, {"/clock$", 0}, {"/con .txt", 0},
	{"/a/b/nul/c", 0}, {"/.hidden", 1}, {"/a.b.c", 1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	const char *p = cases[i].path;
	int got = DmPathWinSafe(p, strlen(p));

	BeginCase();
	if (got != cases[i].safe) {
	    Fail("winsafe", "DmPathWinSafe(\"%s\") = %d, expected %d",
		    Show(p, strlen(p)), got, cases[i].safe);
	}
	EndCase();
    }
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
    size_t i;

    for (i = 0; i < sizeof(pathCases) / sizeof(pathCases[0]); i++) {
	RunTableCase(&pathCases[i]);
    }
    RunLongCases();
    RunWinCases();
    inRandom = 1;
    RunRandom();

    if (printed > MAX_PRINTED) {
	printf("(%d more random failure lines not shown)\n",
		printed - MAX_PRINTED);
    }
    printf("pathUnit: %d passed, %d failed\n", passed, failed);
    return failed > 0;
}
