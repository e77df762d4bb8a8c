/*
 * dmLog.c --
 *
 *	The logs.  The access log has one line per reply, in a format
 *	compiled once (-logformat: common, combined, json, or a string of
 *	%-tokens), written when the reply is done with the bytes that went
 *	out and the time it took.  It goes to a Tcl channel, a file the
 *	server opens (and reopens for logrotate), or a command called with a
 *	dict per reply.  Lines are gathered in a buffer of the server's and
 *	handed over in large writes, at most a tenth of a second after they
 *	were made: a Tcl_Write per line would cost about as much as the rest
 *	of serving a small file.  The error log (-errorlog) tells what went
 *	wrong, and goes to the same kinds of places.
 *
 *	Writing runs Tcl code (a reflected channel, a command), so it is
 *	never done in the middle of a request: only from the timer, from a
 *	Tcl command, or at a safe point after an event was handled.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmAscii.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_LINE_MAX	DM_LOG_LINE_MAX
#define LOG_DELAY_MS	100	/* Longest a line waits to be written. */
#define LOG_RECORDS	256	/* Records gathered for a command before
				 * it is called at the next safe point. */

/*
 * The parts of a format.
 */

enum {
    OP_TEXT,			/* Literal text. */
    OP_REMOTE,			/* %h: the client's address. */
    OP_DASH,			/* %l, %u: "-". */
    OP_TIME,			/* %t: [dd/Mon/yyyy:hh:mm:ss +0000]. */
    OP_REQUEST,			/* %r: the request line. */
    OP_STATUS,			/* %s, %>s. */
    OP_BYTES,			/* %b: body bytes sent. */
    OP_MICROS,			/* %D: microseconds taken. */
    OP_SECONDS,			/* %T: seconds taken. */
    OP_METHOD,			/* %m. */
    OP_TARGET,			/* %U: the request-target as sent. */
    OP_PROTOCOL,		/* %H: HTTP/1.1. */
    OP_PORT,			/* %p: the server's port. */
    OP_HEADER			/* %{Name}i: a request header, or "-". */
};

typedef struct LogOp {
    int kind;
    const char *text;		/* OP_TEXT, or OP_HEADER's lower-case name. */
    size_t len;
} LogOp;

struct DmLogFormat {
    int preset;			/* PRESET_*: ops are not used. */
    int timed;			/* It records the time a reply took. */
    int numOps;
    LogOp *ops;
    char *strings;		/* Holds the texts the ops point to. */
};

/*
 * The named formats have formatters of their own: they are what nearly
 * every server logs, and a loop over ops costs more than the rest of a
 * line.  common is "%h %l %u %t \"%r\" %>s %b", combined adds
 * " \"%{Referer}i\" \"%{User-Agent}i\"".
 */

enum {
    PRESET_NONE, PRESET_COMMON, PRESET_COMBINED, PRESET_JSON
};

static const char *const presets[] = {
    "", "common", "combined", "json", NULL
};

/*
 * Bytes written as they are in a text log line; the rest as \xHH, so a
 * hostile request cannot forge lines or confuse a reader.  A table the
 * compiler fills: one load a byte, and nothing written at run time that
 * threads would share.
 */

#define PLAIN(c) \
    ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')
#define PLAIN4(c) PLAIN(c), PLAIN((c) + 1), PLAIN((c) + 2), PLAIN((c) + 3)
#define PLAIN16(c) PLAIN4(c), PLAIN4((c) + 4), PLAIN4((c) + 8), \
	PLAIN4((c) + 12)
#define PLAIN64(c) PLAIN16(c), PLAIN16((c) + 16), PLAIN16((c) + 32), \
	PLAIN16((c) + 48)

static const unsigned char plain[256] = {
    PLAIN64(0), PLAIN64(64), PLAIN64(128), PLAIN64(192)
};

static void	LogTimerProc(void *clientData);
static void	SinkClosed(void *clientData);

/*
 *----------------------------------------------------------------------
 *
 * DmLogFormatCompile, DmLogFormatFree --
 *
 *	Turn a format (a preset name or a string of %-tokens and text) into
 *	the ops DmLogRequest follows, or free them.
 *
 * Results:
 *	The compiled format, or NULL with an error ({DUSTMOTE VALUE
 *	-logformat}) in interp for an unknown token.
 *
 * Side effects:
 *	Allocates memory.
 *
 *----------------------------------------------------------------------
 */

DmLogFormat *
DmLogFormatCompile(
    Tcl_Interp *interp,
    Tcl_Obj *spec)
{
    static const struct {
	char c;
	int kind;
    } simple[] = {
	{'h', OP_REMOTE}, {'l', OP_DASH}, {'u', OP_DASH}, {'t', OP_TIME},
	{'r', OP_REQUEST}, {'s', OP_STATUS}, {'b', OP_BYTES},
	{'D', OP_MICROS}, {'T', OP_SECONDS}, {'m', OP_METHOD},
	{'U', OP_TARGET}, {'H', OP_PROTOCOL}, {'p', OP_PORT}, {0, 0}
    };
    const char *s = Tcl_GetString(spec), *p;
    DmLogFormat *fmt;
    size_t len;
    char *out;
    int i;

    fmt = (DmLogFormat *) Tcl_Alloc(sizeof(DmLogFormat));
    memset(fmt, 0, sizeof(DmLogFormat));
    for (i = PRESET_COMMON; presets[i] != NULL; i++) {
	if (strcmp(s, presets[i]) == 0) {
	    fmt->preset = i;
	    fmt->timed = (i == PRESET_JSON);
	    return fmt;
	}
    }
    len = strlen(s);
    fmt->ops = (LogOp *) Tcl_Alloc(sizeof(LogOp) * (len + 1));
    fmt->strings = out = Tcl_Alloc(len + 1);
    for (p = s; *p != '\0';) {
	LogOp *op = &fmt->ops[fmt->numOps];

	if (*p != '%' || p[1] == '%') {
	    op->kind = OP_TEXT;
	    op->text = out;
	    do {
		*out++ = *p;
		p += (*p == '%') ? 2 : 1;
	    } while (*p != '\0' && (*p != '%' || p[1] == '%'));
	    op->len = (size_t) (out - op->text);
	    fmt->numOps++;
	    continue;
	}
	p++;
	if (*p == '>' && p[1] == 's') {
	    p++;
	}
	if (*p == '{') {
	    const char *close = strchr(p, '}');

	    if (close == NULL || close == p + 1 || close[1] != 'i') {
		goto bad;
	    }
	    op->kind = OP_HEADER;
	    op->text = out;
	    op->len = (size_t) (close - p - 1);
	    for (p++; p < close; p++) {
		*out++ = (*p >= 'A' && *p <= 'Z') ? (char) (*p + 32) : *p;
	    }
	    *out++ = '\0';
	    p = close + 2;
	    fmt->numOps++;
	    continue;
	}
	for (i = 0; simple[i].c != 0 && simple[i].c != *p; i++) {
	    /* Look the token up. */
	}
	if (simple[i].c == 0) {
	    goto bad;
	}
	op->kind = simple[i].kind;
	fmt->timed |= (op->kind == OP_MICROS || op->kind == OP_SECONDS);
	fmt->numOps++;
	p++;
    }
    return fmt;

  bad:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for -logformat:"
	    " unknown token at \"%.20s\"; must be common, combined, json,"
	    " or text with %%h %%l %%u %%t %%r %%s %%>s %%b %%D %%T %%m %%U"
	    " %%H %%p %%{Name}i %%%%", Tcl_GetString(spec), p - 1));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-logformat", NULL);
    DmLogFormatFree(fmt);
    return NULL;
}

void
DmLogFormatFree(
    DmLogFormat *fmt)
{
    if (fmt != NULL) {
	if (fmt->ops != NULL) {
	    Tcl_Free((char *) fmt->ops);
	    Tcl_Free(fmt->strings);
	}
	Tcl_Free((char *) fmt);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogFormatTimed --
 *
 *	Whether a format records how long replies take (so requests must be
 *	timed).
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
DmLogFormatTimed(
    const DmLogFormat *fmt)
{
    return fmt != NULL && fmt->timed;
}

/*
 *----------------------------------------------------------------------
 *
 * SinkRoom, SinkGrow --
 *
 *	Make room for a line at the end of a sink's buffer.  The buffer
 *	grows rather than being written out here: a write runs Tcl code (a
 *	reflected channel), which must not happen in the middle of a
 *	request.  It is written at the next safe point (DmLogFlushDue) or by
 *	the timer, so it stays near DM_LOG_BUFFER.
 *
 * Results:
 *	Where the line goes, or NULL if memory ran out (the line is lost).
 *
 * Side effects:
 *	May (re)allocate the buffer.
 *
 *----------------------------------------------------------------------
 */

static char *
SinkGrow(
    DmLogSink *sink,
    size_t need)
{
    size_t cap = sink->cap ? 2 * sink->cap : DM_LOG_BUFFER;
    char *grown;

    while (cap - sink->len < need) {
	cap *= 2;
    }
    grown = realloc(sink->buf, cap);
    if (grown == NULL) {
	return NULL;
    }
    sink->buf = grown;
    sink->cap = cap;
    return sink->buf + sink->len;
}

static inline char *
SinkRoom(
    DmLogSink *sink,
    size_t need)
{
    return (sink->cap - sink->len >= need) ? sink->buf + sink->len
	    : SinkGrow(sink, need);
}

/*
 *----------------------------------------------------------------------
 *
 * ArmTimer --
 *
 *	Makes sure the gathered lines are written within LOG_DELAY_MS.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May create a Tcl timer.
 *
 *----------------------------------------------------------------------
 */

static void
ArmTimer(
    DmServer *srv)
{
    if (srv->logTimer == NULL) {
	srv->logTimer = Tcl_CreateTimerHandler(LOG_DELAY_MS, LogTimerProc,
		srv);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Escaped, JsonString --
 *
 *	Copy bytes into a log line: in text formats, bytes other than
 *	printable ASCII, '"' and '\\' as \xHH; in JSON, as a string, with
 *	bytes other than printable ASCII as \u00HH.  Both stop at limit,
 *	never in the middle of an escape, and end a cut value with "...".
 *
 * Results:
 *	The position after what was written.
 *
 * Side effects:
 *	Writes at p (up to limit plus 6 bytes).
 *
 *----------------------------------------------------------------------
 */

static char *
Escaped(
    char *p,
    const char *limit,
    const char *s,
    size_t len)
{
    const char *end = s + len;

    while (s < end && p < limit) {
	const char *run = s;

	while (s < end && plain[(unsigned char) *s]) {
	    s++;
	}
	if (s > run) {
	    size_t n = (size_t) (s - run);

	    if (n > (size_t) (limit - p)) {
		n = (size_t) (limit - p);
		s = run + n;
	    }
	    p = DmAppend(p, run, n);
	    continue;
	}
	*p++ = '\\';
	*p++ = 'x';
	p = DmPutHexByte(p, (unsigned char) *s++);
    }
    if (s < end) {
	p = DM_APPEND_LITERAL(p, "...");
    }
    return p;
}

static char *
JsonString(
    char *p,
    const char *limit,
    const char *s,
    size_t len)
{
    const char *end = s + len;

    if (s == NULL) {
	return DM_APPEND_LITERAL(p, "null");
    }
    *p++ = '"';
    for (; s < end && p < limit; s++) {
	unsigned char c = (unsigned char) *s;

	if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
	    *p++ = (char) c;
	} else if (c == '"' || c == '\\') {
	    *p++ = '\\';
	    *p++ = (char) c;
	} else {
	    p = DmPutHexByte(DM_APPEND_LITERAL(p, "\\u00"), c);
	}
    }
    if (s < end) {
	p = DM_APPEND_LITERAL(p, "...");
    }
    *p++ = '"';
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * LogInfo --
 *
 *	What a log line can say about a request, found once.
 *
 *----------------------------------------------------------------------
 */

typedef struct LogInfo {
    const char *peer;
    const DmRequest *req;	/* NULL when no request was read. */
    DmSpan line, method, target, protocol;
    int status;
    uint64_t bytes;
    int64_t micros;		/* -1 if not timed. */
} LogInfo;

static void
FillInfo(
    LogInfo *info,
    const char *peer,
    const DmRequest *req,
    int status,
    uint64_t bytes,
    int64_t micros)
{
    memset(info, 0, sizeof(*info));
    info->peer = peer;
    info->status = status;
    info->bytes = bytes;
    info->micros = micros;
    if (req != NULL && req->requestLine.len > 0) {
	info->req = req;
	info->line = req->requestLine;
	if (req->methodName.ptr != NULL) {
	    info->method = req->methodName;
	    info->target = req->target;
	    info->protocol.ptr = req->requestLine.ptr + req->requestLine.len
		    - 8;
	    info->protocol.len = 8;
	} else {
	    /*
	     * A refused line still says what was asked: its words, split
	     * at the first and last space.
	     */

	    const char *p = req->requestLine.ptr;
	    const char *end = p + req->requestLine.len;
	    const char *first = memchr(p, ' ', req->requestLine.len), *last;

	    for (last = end; last > p && last[-1] != ' '; last--) {
		/* Back to the last space. */
	    }
	    info->method.ptr = p;
	    info->method.len = (size_t) ((first ? first : end) - p);
	    if (first != NULL) {
		info->target.ptr = first + 1;
		info->target.len = (size_t) ((last - 1 > first ? last - 1
			: end) - info->target.ptr);
		if (last - 1 > first) {
		    info->protocol.ptr = last;
		    info->protocol.len = (size_t) (end - last);
		}
	    }
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * HeaderValue --
 *
 *	A request header for a log line: the first field of that name.
 *
 * Results:
 *	Its value, or a span with ptr NULL.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static DmSpan
HeaderValue(
    const LogInfo *info,
    const char *lowerName)
{
    const DmField *f = (info->req && info->req->methodName.ptr)
	    ? DmFindField(info->req, lowerName) : NULL;
    DmSpan none = {NULL, 0};

    return f ? f->value : none;
}

/*
 *----------------------------------------------------------------------
 *
 * HostServed --
 *
 *	The host a request was served for, port included: its Host field,
 *	or the host of an absolute-form target (see DmParseRequest).
 *
 * Results:
 *	The span, empty when there was neither (or no request).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static DmSpan
HostServed(
    const LogInfo *info)
{
    DmSpan none = {NULL, 0};

    return (info->req != NULL) ? info->req->host : none;
}

/*
 *----------------------------------------------------------------------
 *
 * FormatText, FormatCommon, FormatJson --
 *
 *	Write one log line (with its newline) in a format given as text, in
 *	the common or combined format, or as a JSON object.
 *
 * Results:
 *	The position after the line.
 *
 * Side effects:
 *	Writes at p, at most LOG_LINE_MAX bytes.
 *
 *----------------------------------------------------------------------
 */

static char *
FormatText(
    DmServer *srv,
    const DmLogFormat *fmt,
    const LogInfo *info,
    char *p)
{
    const char *limit = p + LOG_LINE_MAX - 128;
    int i;

    for (i = 0; i < fmt->numOps && p < limit; i++) {
	const LogOp *op = &fmt->ops[i];
	DmSpan v;

	switch (op->kind) {
	case OP_TEXT:
	    p = DmAppend(p, op->text, (op->len < (size_t) (limit - p))
		    ? op->len : (size_t) (limit - p));
	    break;
	case OP_REMOTE:
	    p = DmAppend(p, info->peer, strlen(info->peer));
	    break;
	case OP_DASH:
	    *p++ = '-';
	    break;
	case OP_TIME:
	    *p++ = '[';
	    p = DmAppend(p, srv->logDate, DM_LOG_DATE_LEN);
	    *p++ = ']';
	    break;
	case OP_REQUEST:
	    p = info->line.ptr ? Escaped(p, limit, info->line.ptr,
		    info->line.len) : DM_APPEND_LITERAL(p, "-");
	    break;
	case OP_STATUS:
	    p = DmAppendUnsigned(p, (uint64_t) info->status);
	    break;
	case OP_BYTES:
	    p = DmAppendUnsigned(p, info->bytes);
	    break;
	case OP_MICROS:
	case OP_SECONDS:
	    p = DmAppendUnsigned(p, (uint64_t) (info->micros < 0 ? 0
		    : (op->kind == OP_MICROS) ? info->micros
		    : info->micros / 1000000));
	    break;
	case OP_PORT:
	    p = DmAppendUnsigned(p, (uint64_t) srv->boundPort);
	    break;
	default:
	    v = (op->kind == OP_METHOD) ? info->method
		    : (op->kind == OP_TARGET) ? info->target
		    : (op->kind == OP_PROTOCOL) ? info->protocol
		    : HeaderValue(info, op->text);
	    p = v.ptr ? Escaped(p, limit, v.ptr, v.len)
		    : DM_APPEND_LITERAL(p, "-");
	    break;
	}
    }
    *p++ = '\n';
    return p;
}

static char *
FormatCommon(
    DmServer *srv,
    const LogInfo *info,
    int combined,
    char *p)
{
    const char *limit = p + LOG_LINE_MAX - 128;

    p = DmAppend(p, info->peer, strlen(info->peer));
    p = DM_APPEND_LITERAL(p, " - - [");
    p = DmAppend(p, srv->logDate, DM_LOG_DATE_LEN);
    p = DM_APPEND_LITERAL(p, "] \"");
    p = info->line.ptr ? Escaped(p, limit, info->line.ptr, info->line.len)
	    : DM_APPEND_LITERAL(p, "-");
    p = DM_APPEND_LITERAL(p, "\" ");
    p = DmAppendUnsigned(p, (uint64_t) info->status);
    *p++ = ' ';
    p = DmAppendUnsigned(p, info->bytes);
    if (combined) {
	DmSpan v;
	int k;

	for (k = 0; k < 2; k++) {
	    v = HeaderValue(info, k ? "user-agent" : "referer");
	    p = DM_APPEND_LITERAL(p, " \"");
	    p = v.ptr ? Escaped(p, limit + 64, v.ptr, v.len)
		    : DM_APPEND_LITERAL(p, "-");
	    *p++ = '"';
	}
    }
    *p++ = '\n';
    return p;
}

static char *
FormatJson(
    DmServer *srv,
    const LogInfo *info,
    char *p)
{
    const char *limit = p + LOG_LINE_MAX - 160;
    DmSpan ua = HeaderValue(info, "user-agent");
    DmSpan ref = HeaderValue(info, "referer");
    DmSpan host = HostServed(info);

    p = DM_APPEND_LITERAL(p, "{\"time\":\"");
    p = DmAppend(p, srv->isoDate, DM_ISO_DATE_LEN);
    p = DM_APPEND_LITERAL(p, "\",\"remote\":");
    p = JsonString(p, limit, info->peer, strlen(info->peer));
    p = DM_APPEND_LITERAL(p, ",\"method\":");
    p = JsonString(p, limit, info->method.ptr, info->method.len);
    p = DM_APPEND_LITERAL(p, ",\"target\":");
    p = JsonString(p, limit, info->target.ptr, info->target.len);
    p = DM_APPEND_LITERAL(p, ",\"protocol\":");
    p = JsonString(p, limit, info->protocol.ptr, info->protocol.len);
    p = DM_APPEND_LITERAL(p, ",\"status\":");
    p = DmAppendUnsigned(p, (uint64_t) info->status);
    p = DM_APPEND_LITERAL(p, ",\"bytes\":");
    p = DmAppendUnsigned(p, info->bytes);
    p = DM_APPEND_LITERAL(p, ",\"duration_us\":");
    p = DmAppendUnsigned(p, (uint64_t) (info->micros < 0 ? 0 : info->micros));
    p = DM_APPEND_LITERAL(p, ",\"host\":");
    p = JsonString(p, limit, host.ptr, host.len);
    p = DM_APPEND_LITERAL(p, ",\"referer\":");
    p = JsonString(p, limit, ref.ptr, ref.len);
    p = DM_APPEND_LITERAL(p, ",\"user_agent\":");
    p = JsonString(p, limit, ua.ptr, ua.len);
    p = DM_APPEND_LITERAL(p, "}\n");
    return p;
}

/*
 *----------------------------------------------------------------------
 *
 * RecordDict --
 *
 *	One reply as a dict, for a command log: remote, time (seconds),
 *	request, method, target, protocol, status, bytes, duration
 *	(microseconds, -1 if not timed), host, referer, useragent.
 *
 * Results:
 *	A new dict object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
RecordDict(
    DmServer *srv,
    const LogInfo *info)
{
    Tcl_Obj *d = Tcl_NewDictObj();
    DmSpan spans[7];
    static const char *const names[7] = {
	"request", "method", "target", "protocol", "host", "referer",
	"useragent"
    };
    int i;

    spans[0] = info->line;
    spans[1] = info->method;
    spans[2] = info->target;
    spans[3] = info->protocol;
    spans[4] = HostServed(info);
    spans[5] = HeaderValue(info, "referer");
    spans[6] = HeaderValue(info, "user-agent");
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("remote", -1),
	    Tcl_NewStringObj(info->peer, -1));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("time", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) srv->dateSecond));
    for (i = 0; i < 7; i++) {
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj(names[i], -1),
		DmLatin1Obj(spans[i].ptr ? spans[i].ptr : "", spans[i].len));
    }
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("status", -1),
	    Tcl_NewIntObj(info->status));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("bytes", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) info->bytes));
    Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("duration", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) info->micros));
    return d;
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogRequest --
 *
 *	Adds the access log's record of one reply: a line in the server's
 *	format, or a dict for a command.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the access log's buffer; may arm the timer that writes it.
 *
 *----------------------------------------------------------------------
 */

void
DmLogRequest(
    DmServer *srv,
    const char *peer,
    const DmRequest *req,	/* NULL, or a request line that may be
				 * empty, when none was parsed. */
    int status,
    uint64_t bytes,
    int64_t micros)		/* Time taken, -1 if not known. */
{
    DmLogSink *sink = &srv->accessSink;
    LogInfo info;
    char *p;

    if (sink->kind == DM_SINK_NONE) {
	return;
    }
    DmReplyClock(srv);
    FillInfo(&info, peer, req, status, bytes, micros);
    if (sink->kind == DM_SINK_COMMAND) {
	if (sink->records == NULL) {
	    sink->records = Tcl_NewObj();
	    Tcl_IncrRefCount(sink->records);
	}
	Tcl_ListObjAppendElement(NULL, sink->records, RecordDict(srv, &info));
	sink->len++;
    } else {
	if ((p = SinkRoom(sink, LOG_LINE_MAX)) == NULL) {
	    return;
	}
	switch (srv->logFormat->preset) {
	case PRESET_COMMON:
	case PRESET_COMBINED:
	    p = FormatCommon(srv, &info,
		    srv->logFormat->preset == PRESET_COMBINED, p);
	    break;
	case PRESET_JSON:
	    p = FormatJson(srv, &info, p);
	    break;
	default:
	    p = FormatText(srv, srv->logFormat, &info, p);
	    break;
	}
	sink->len = (size_t) (p - sink->buf);
    }
    ArmTimer(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogReply --
 *
 *	A reply is done, or cut short: it is counted for stats, and logged
 *	with the body bytes that actually went out and the time it took.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmLogRequest.
 *
 *----------------------------------------------------------------------
 */

void
DmLogReply(
    DmConn *conn)
{
    const DmRequest *req = conn->logReq;
    DmServer *srv = conn->srv;

    if (conn->replyStatus >= 100 && conn->replyStatus < 600) {
	srv->responses[conn->replyStatus]++;
    }
    srv->bytesSent += conn->replySent;
    if (srv->accessSink.kind == DM_SINK_NONE) {
	return;
    }
    if (req == NULL && conn->logSaved != NULL) {
	req = &conn->logSaved->req;
    }
    DmLogRequest(srv, conn->peer, req, conn->replyStatus,
	    (conn->replySent > conn->replyHead)
	    ? conn->replySent - conn->replyHead : 0,
	    conn->replyStart ? DmNowUs() - conn->replyStart : -1);
}

/*
 *----------------------------------------------------------------------
 *
 * SinkWrite --
 *
 *	Hands a sink's lines to its channel, or its records to its command
 *	(one call each; an error goes to the background error handler).
 *	What is gathered is taken out of the sink first: the write may run
 *	Tcl code that logs more, changes the log, or closes the server, and
 *	each of those then finds a sink in order; what it adds is written
 *	next time, so the channel never sees a write inside a write.  The
 *	caller is inside DmEnter, so the sink's memory outlives the server
 *	being released meanwhile.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to a Tcl channel, or runs a command.
 *
 *----------------------------------------------------------------------
 */

static void
SinkWrite(
    DmLogSink *sink)
{
    if (sink->writing || sink->len == 0) {
	return;
    }
    sink->writing = 1;
    if (sink->kind == DM_SINK_COMMAND) {
	Tcl_Interp *interp = sink->srv->interp;
	Tcl_Obj *records = sink->records, *command = sink->target, **r;
	Tcl_Size n, i;

	sink->records = NULL;
	sink->len = 0;
	Tcl_IncrRefCount(command);
	Tcl_ListObjGetElements(NULL, records, &n, &r);
	Tcl_Preserve(interp);
	for (i = 0; i < n && !Tcl_InterpDeleted(interp); i++) {
	    Tcl_Obj *cmd = Tcl_DuplicateObj(command);
	    int code;

	    Tcl_IncrRefCount(cmd);
	    Tcl_ListObjAppendElement(NULL, cmd, r[i]);
	    code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL);
	    if (code != TCL_OK) {
		Tcl_BackgroundException(interp, code);
	    }
	    Tcl_DecrRefCount(cmd);
	}
	Tcl_ResetResult(interp);
	Tcl_Release(interp);
	Tcl_DecrRefCount(command);
	Tcl_DecrRefCount(records);
    } else if (sink->chan != NULL) {
	char *buf = sink->buf;
	size_t len = sink->len, cap = sink->cap;

	sink->buf = NULL;
	sink->len = sink->cap = 0;
	if (sink->kind == DM_SINK_FILE) {
	    /*
	     * One write a batch, appended whole: seen at once by tail -f,
	     * and never mixed with the lines of another process logging to
	     * the same file (the launcher's workers).
	     */

	    Tcl_WriteRaw(sink->chan, buf, (Tcl_Size) len);
	} else {
	    Tcl_Write(sink->chan, buf, (Tcl_Size) len);
	}
	if (sink->buf == NULL && cap <= DM_LOG_BUFFER && !sink->released) {
	    sink->buf = buf;		/* Kept for the next lines. */
	    sink->cap = cap;
	} else {
	    free(buf);			/* Lines came meanwhile, a burst grew
					 * it, or the server went: not kept. */
	}
    } else {
	sink->len = 0;
    }
    sink->writing = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogFlush --
 *
 *	Writes what the logs gathered (DmLogFlushDue, in dmInt.h, calls it
 *	when the access log's buffer is close to full or an error was
 *	logged: errors are rare and worth seeing at once).  Callers are at a
 *	safe point: no connection of theirs holds anything in the scratch
 *	buffer.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to Tcl channels or runs commands; cancels the timer.
 *
 *----------------------------------------------------------------------
 */

void
DmLogFlush(
    DmServer *srv)
{
    DmEnter();
    if (srv->logTimer != NULL) {
	Tcl_DeleteTimerHandler(srv->logTimer);
	srv->logTimer = NULL;
    }
    SinkWrite(&srv->accessSink);
    SinkWrite(&srv->errorSink);
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * LogTimerProc --
 *
 *	Writes out what waited long enough.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmLogFlush.
 *
 *----------------------------------------------------------------------
 */

static void
LogTimerProc(
    void *clientData)
{
    DmServer *srv = clientData;

    srv->logTimer = NULL;
    DmLogFlush(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogTarget --
 *
 *	Decides what a -accesslog or -errorlog value names: an open channel
 *	(by name), else a command prefix (its first word names a command),
 *	else a file name, which must have a '/' or a '.' in it (so that a
 *	mistyped channel name is not taken for a file).  An empty value is
 *	no log.
 *
 * Results:
 *	A standard Tcl result; *kindPtr set to DM_SINK_*, and *chanPtr for
 *	a channel.  A channel that is not writable is an error.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmLogTarget(
    Tcl_Interp *interp,
    const char *option,
    Tcl_Obj *value,
    int *kindPtr,
    Tcl_Channel *chanPtr)
{
    Tcl_Size len, n;
    Tcl_Obj **words;
    Tcl_CmdInfo info;
    int mode;
    const char *s = Tcl_GetStringFromObj(value, &len);

    *chanPtr = NULL;
    if (len == 0) {
	*kindPtr = DM_SINK_NONE;
	return TCL_OK;
    }
    if ((*chanPtr = Tcl_GetChannel(interp, s, &mode)) != NULL) {
	Tcl_ResetResult(interp);
	if (!(mode & TCL_WRITABLE)) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for %s:"
		    " channel is not writable", s, option));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", option, NULL);
	    return TCL_ERROR;
	}
	*kindPtr = DM_SINK_CHANNEL;
	return TCL_OK;
    }
    Tcl_ResetResult(interp);
    if (Tcl_ListObjGetElements(NULL, value, &n, &words) == TCL_OK && n > 0
	    && Tcl_GetCommandInfo(interp, Tcl_GetString(words[0]), &info)) {
	*kindPtr = DM_SINK_COMMAND;
	return TCL_OK;
    }
    if (strchr(s, '/') == NULL && strchr(s, '.') == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for %s:"
		" not a channel, a command or a file name (a file name has a"
		" \"/\" or a \".\" in it)", s, option));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", option, NULL);
	return TCL_ERROR;
    }
    *kindPtr = DM_SINK_FILE;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogSetTarget --
 *
 *	Points a sink at a target (a channel, a file to open for append, a
 *	command, or none), after what it gathered was written.  A file is
 *	the server's own channel; a channel given by name is held by
 *	pointer, with a close handler that forgets it.
 *
 * Results:
 *	A standard Tcl result: TCL_ERROR if a file cannot be opened (the
 *	sink is then unchanged).
 *
 * Side effects:
 *	Opens or closes files; moves close handlers.
 *
 *----------------------------------------------------------------------
 */

int
DmLogSetTarget(
    Tcl_Interp *interp,
    DmLogSink *sink,
    int kind,
    Tcl_Channel chan,
    Tcl_Obj *value)
{
    Tcl_Channel file = NULL;

    if (kind == DM_SINK_FILE) {
	/*
	 * Kept as an absolute name, so that reopenlog opens the same file
	 * whatever the current directory is by then.
	 */

	Tcl_Obj *absolute = Tcl_FSGetNormalizedPath(NULL, value);

	if (absolute != NULL) {
	    value = absolute;
	}
	file = Tcl_FSOpenFileChannel(interp, value, "a", 0644);
	if (file == NULL) {
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "LOG", Tcl_ErrnoId(), NULL);
	    return TCL_ERROR;
	}
	Tcl_SetChannelOption(NULL, file, "-translation", "binary");
	Tcl_SetChannelOption(NULL, file, "-buffering", "full");
	chan = file;
    }
    if (sink->kind == DM_SINK_CHANNEL && sink->chan != NULL) {
	Tcl_DeleteCloseHandler(sink->chan, SinkClosed, sink);
    } else if (sink->kind == DM_SINK_FILE && sink->chan != NULL) {
	Tcl_Close(NULL, sink->chan);
    }
    if (sink->records != NULL) {
	Tcl_DecrRefCount(sink->records);
	sink->records = NULL;
    }
    if (sink->target != NULL) {
	Tcl_DecrRefCount(sink->target);
    }
    sink->len = 0;
    sink->kind = kind;
    sink->flushAt = (kind == DM_SINK_COMMAND) ? LOG_RECORDS
	    : DM_LOG_BUFFER - DM_LOG_LINE_MAX;
    sink->chan = chan;
    sink->target = value;
    if (value != NULL) {
	Tcl_IncrRefCount(value);
    }
    if (kind == DM_SINK_CHANNEL) {
	Tcl_CreateCloseHandler(chan, SinkClosed, sink);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogReopen --
 *
 *	Closes and opens again the log files of a server (the access log's
 *	and the error log's, when they are files), for logrotate.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Writes what was gathered; reopens files.
 *
 *----------------------------------------------------------------------
 */

int
DmLogReopen(
    Tcl_Interp *interp,
    DmServer *srv)
{
    DmLogSink *sinks[2];
    int i;

    DmLogFlush(srv);
    sinks[0] = &srv->accessSink;
    sinks[1] = &srv->errorSink;
    for (i = 0; i < 2; i++) {
	if (sinks[i]->kind == DM_SINK_FILE) {
	    Tcl_Obj *path = sinks[i]->target;
	    int code;

	    Tcl_IncrRefCount(path);
	    code = DmLogSetTarget(interp, sinks[i], DM_SINK_FILE, NULL, path);
	    Tcl_DecrRefCount(path);
	    if (code != TCL_OK) {
		return TCL_ERROR;
	    }
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * SinkClosed --
 *
 *	A log channel is being closed from Tcl: the lines gathered for it
 *	go out first, then the log stops (until configured again).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes to the channel; forgets it.
 *
 *----------------------------------------------------------------------
 */

static void
SinkClosed(
    void *clientData)
{
    DmLogSink *sink = clientData;

    DmEnter();
    SinkWrite(sink);
    sink->chan = NULL;
    sink->kind = DM_SINK_NONE;
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogEvent --
 *
 *	Adds a line about something that went wrong for the error log:
 *	"[date] peer: message" (for a command, the line is its argument).
 *	It is written when the event that caused it has been handled,
 *	never in the middle of a request.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the error log's buffer; may arm the timer that writes it.
 *
 *----------------------------------------------------------------------
 */

void
DmLogEvent(
    DmServer *srv,
    const char *peer,		/* The client concerned, or "-". */
    const char *format,		/* printf-style message and arguments. */
    ...)
{
    DmLogSink *sink = &srv->errorSink;
    char raw[1024], line[4 * 1024];
    va_list ap;
    int n, i, rawLen, max = (int) sizeof(raw);

    if (sink->kind == DM_SINK_NONE) {
	return;
    }
    DmReplyClock(srv);
    n = snprintf(raw, (size_t) max, "[%s] %s: ", srv->logDate, peer);
    va_start(ap, format);
    n += vsnprintf(raw + n, (size_t) (max - n - 1), format, ap);
    va_end(ap);
    if (n > max - 2) {
	n = max - 2;
    }

    /*
     * A message may quote what a client sent (a handler's error, say):
     * control characters are escaped, so it stays one line and cannot
     * pass for another.
     */

    rawLen = n;
    for (i = 0, n = 0; i < rawLen; i++) {
	unsigned char c = (unsigned char) raw[i];

	if (c < 0x20 || c == 0x7f) {
	    n += sprintf(line + n, "\\x%02x", c);
	} else {
	    line[n++] = (char) c;
	}
    }
    if (sink->kind == DM_SINK_COMMAND) {
	if (sink->records == NULL) {
	    sink->records = Tcl_NewObj();
	    Tcl_IncrRefCount(sink->records);
	}
	Tcl_ListObjAppendElement(NULL, sink->records,
		DmLatin1Obj(line, (size_t) n));
	sink->len++;
    } else {
	char *p = SinkRoom(sink, (size_t) n + 1);

	if (p == NULL) {
	    return;
	}
	memcpy(p, line, (size_t) n);
	p[n] = '\n';
	sink->len += (size_t) n + 1;
    }
    ArmTimer(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmLogSinkFree --
 *
 *	Lets go of a sink when its server is released: its target (a file
 *	of the server's is closed) and what it gathered.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

void
DmLogSinkFree(
    DmLogSink *sink)
{
    DmLogSetTarget(NULL, sink, DM_SINK_NONE, NULL, NULL);
    free(sink->buf);
    sink->buf = NULL;
    sink->len = sink->cap = 0;
    sink->released = 1;		/* A write under way keeps nothing. */
}
