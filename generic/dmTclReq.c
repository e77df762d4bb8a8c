/*
 * dmTclReq.c --
 *
 *	The bridge between requests and Tcl code: a request that a route or
 *	a filter applies to becomes an exchange, which carries it through
 *	the before-filters, its handler (Tcl code, a takeover, or the static
 *	files) and the after-filters, to its reply.
 *
 *	Tcl code may do anything: run the event loop, close the server,
 *	answer this request or another one, fail.  So before it runs, what
 *	input the connection still has is copied aside and the connection
 *	takes no events (DmConnBusy); the code gets the request as a dict of
 *	copies; what the C side needs afterwards lives in the exchange.  The
 *	exchange's memory is retired, never freed while a call may return
 *	to it, and it knows when its connection is gone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

struct DmExchange {
    DmConn *conn;		/* NULL once the connection is gone. */
    DmServer *srv;
    DmSavedRequest *saved;	/* The request, for what follows Tcl code. */
    char path[DM_PATH_MAX];	/* The normalised path. */
    size_t pathLen;
    Tcl_Obj *request;		/* The request dict handlers get. */
    Tcl_Obj *handler;		/* The route's command, or NULL: static. */
    int takeover;
    Tcl_Obj *before, *after;	/* Filter commands that apply, or NULL. */
    Tcl_Obj *allow;		/* Routes take the path, not the method:
				 * their methods, for a 405. */
    int filtering;		/* Its reply is in the after-filters. */
    uint64_t id;		/* For "$server respond". */
    int held;			/* Waits for "$server respond". */
    int answered;		/* It has its answer: another is an error. */
    int done;			/* Ended: its memory is retired. */
    Tcl_Obj *pending;		/* An answer given while the handler ran. */
    DmBody body;		/* The request body, for a handler. */
    Tcl_Obj *files;		/* Files removed when it ends (the parts
				 * dustmote::formdata wrote), or NULL. */
};

/*
 * Objects every request dict uses as keys, made once per thread.
 */

enum {
    KEY_METHOD, KEY_PATH, KEY_TARGET, KEY_QUERY, KEY_VERSION, KEY_HEADERS,
    KEY_PEER, KEY_PORT, KEY_PARAMS, KEY_ID, KEY_HOST, KEY_ROOT, KEY_BODY,
    KEY_BODYFILE, KEY_STATUS, KEY_FILE, KEY_CHANNEL, KEY_SIZE, KEY_SCHEME,
    KEY_TLS, KEY_COUNT
};

static const char *const keyNames[KEY_COUNT] = {
    "method", "path", "target", "query", "version", "headers", "peer",
    "port", "params", "id", "host", "root", "body", "bodyfile", "status",
    "file", "channel", "size", "scheme", "tls"
};

typedef struct ThreadData {
    Tcl_Obj *keys[KEY_COUNT];
    Tcl_Obj *versions[2];	/* "HTTP/1.0", "HTTP/1.1". */
    Tcl_Encoding utf8, latin1;
    Tcl_HashTable exchanges;	/* Live exchanges, by id. */
    uint64_t lastId;		/* The last id given. */
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static int	FitsInBytes(const char *s, Tcl_Size len);
static int	IsAscii(const char *s, Tcl_Size len);
static int	Dispatch(DmConn *conn, DmExchange *ex);
static void	ExchangeFree(void *ptr);
static void	Unhold(DmExchange *ex);

/*
 *----------------------------------------------------------------------
 *
 * GetThreadData, ThreadExit --
 *
 *	The thread's key objects and encodings, made on first use and let
 *	go when the thread ends.
 *
 * Results:
 *	The thread data.
 *
 * Side effects:
 *	May create objects and look up encodings.
 *
 *----------------------------------------------------------------------
 */

static void
ThreadExit(
    void *clientData)
{
    ThreadData *tsdPtr = clientData;
    int i;

    for (i = 0; i < KEY_COUNT; i++) {
	Tcl_DecrRefCount(tsdPtr->keys[i]);
    }
    Tcl_DecrRefCount(tsdPtr->versions[0]);
    Tcl_DecrRefCount(tsdPtr->versions[1]);
    Tcl_FreeEncoding(tsdPtr->utf8);
    Tcl_FreeEncoding(tsdPtr->latin1);
    Tcl_DeleteHashTable(&tsdPtr->exchanges);
    tsdPtr->utf8 = NULL;
}

static ThreadData *
GetThreadData(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    int i;

    if (tsdPtr->utf8 == NULL) {
	for (i = 0; i < KEY_COUNT; i++) {
	    tsdPtr->keys[i] = Tcl_NewStringObj(keyNames[i], -1);
	    Tcl_IncrRefCount(tsdPtr->keys[i]);
	}
	tsdPtr->versions[0] = Tcl_NewStringObj("HTTP/1.0", -1);
	tsdPtr->versions[1] = Tcl_NewStringObj("HTTP/1.1", -1);
	Tcl_IncrRefCount(tsdPtr->versions[0]);
	Tcl_IncrRefCount(tsdPtr->versions[1]);
	tsdPtr->utf8 = Tcl_GetEncoding(NULL, "utf-8");
	tsdPtr->latin1 = Tcl_GetEncoding(NULL, "iso8859-1");
	Tcl_InitHashTable(&tsdPtr->exchanges, TCL_ONE_WORD_KEYS);
	Tcl_CreateThreadExitHandler(ThreadExit, tsdPtr);
    }
    return tsdPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * DmKey --
 *
 *	One of the shared key objects, by name index.
 *
 * Results:
 *	The object (not to be changed).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static inline Tcl_Obj *
Key(
    int which)
{
    return GetThreadData()->keys[which];
}

/*
 *----------------------------------------------------------------------
 *
 * DmUtf8Obj, DmLatin1Obj --
 *
 *	A string object from bytes in UTF-8 (paths, query strings), or in
 *	ISO 8859-1 (header values, which are octets: each byte becomes the
 *	character of that code, so nothing is lost).  Bytes that are not
 *	valid UTF-8 are taken as ISO 8859-1 too.
 *
 * Results:
 *	A new object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
BytesObj(
    const char *bytes,
    size_t len,
    int latin1)
{
    Tcl_DString ds;
    Tcl_Obj *obj;
    size_t i;

    for (i = 0; i < len; i++) {
	if ((unsigned char) bytes[i] >= 0x80 || bytes[i] == '\0') {
	    break;
	}
    }
    if (i == len) {
	return Tcl_NewStringObj(bytes, (Tcl_Size) len);	/* ASCII. */
    }
    Tcl_ExternalToUtfDString(latin1 ? GetThreadData()->latin1
	    : GetThreadData()->utf8, bytes, (Tcl_Size) len, &ds);
    obj = Tcl_NewStringObj(Tcl_DStringValue(&ds), Tcl_DStringLength(&ds));
    Tcl_DStringFree(&ds);
    return obj;
}

Tcl_Obj *
DmUtf8Obj(
    const char *bytes,
    size_t len)
{
    return BytesObj(bytes, len, 0);
}

Tcl_Obj *
DmLatin1Obj(
    const char *bytes,
    size_t len)
{
    return BytesObj(bytes, len, 1);
}

/*
 *----------------------------------------------------------------------
 *
 * LowerObj --
 *
 *	A header name or host in lower case (ASCII letters only: the rest
 *	are octets, kept as ISO 8859-1 characters).
 *
 * Results:
 *	A new object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
LowerObj(
    const char *bytes,
    size_t len)
{
    Tcl_Obj *obj = BytesObj(bytes, len, 1);
    Tcl_Size n, k;
    char *s = Tcl_GetStringFromObj(obj, &n);

    /*
     * A new object with only a string form: changed in place.  Bytes of
     * characters beyond ASCII are all 0x80 or more, so untouched.
     */

    for (k = 0; k < n; k++) {
	if (s[k] >= 'A' && s[k] <= 'Z') {
	    s[k] += 32;
	}
    }
    return obj;
}

/*
 *----------------------------------------------------------------------
 *
 * DmBytesOf --
 *
 *	The bytes a value stands for on the wire: a byte array (binary data,
 *	read with -translation binary or made by "binary format") as it is,
 *	anything else as the UTF-8 encoding of its string.  A byte array
 *	that also got a string form (it was printed, say) is still binary,
 *	unless the string holds a character above U+00FF: then the byte
 *	array was made from text, losing those characters, and the string is
 *	what was meant.
 *
 * Results:
 *	The bytes, in *dsPtr (which the caller frees).
 *
 * Side effects:
 *	Fills *dsPtr.
 *
 *----------------------------------------------------------------------
 */

void
DmBytesOf(
    Tcl_Obj *obj,
    Tcl_DString *dsPtr)
{
    Tcl_Size len;
    const char *s;

    Tcl_DStringInit(dsPtr);
    if (obj->typePtr == dmByteArrayType
	    && (obj->bytes == NULL || FitsInBytes(obj->bytes, obj->length))) {
	const unsigned char *b = Tcl_GetByteArrayFromObj(obj, &len);

	Tcl_DStringAppend(dsPtr, (const char *) b, len);
	return;
    }
    s = Tcl_GetStringFromObj(obj, &len);
    if (IsAscii(s, len)) {
	Tcl_DStringAppend(dsPtr, s, len);	/* The same in UTF-8. */
	return;
    }
    Tcl_UtfToExternalDString(GetThreadData()->utf8, s, len, dsPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * IsAscii --
 *
 *	Whether a string is all ASCII (Tcl's own form of NUL, C0 80, is
 *	not).
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
IsAscii(
    const char *s,
    Tcl_Size len)
{
    Tcl_Size i;

    for (i = 0; i < len; i++) {
	if ((unsigned char) s[i] >= 0x80) {
	    return 0;
	}
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * FitsInBytes --
 *
 *	Whether a string holds no character above U+00FF.
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
FitsInBytes(
    const char *s,
    Tcl_Size len)
{
    Tcl_Size i;

    for (i = 0; i < len; ) {
	Tcl_UniChar ch = 0;

	i += Tcl_UtfToUniChar(s + i, &ch);
	if (ch > 0xff) {
	    return 0;
	}
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * QueryList --
 *
 *	The query of a target as a list of keys and values, decoded
 *	(percent escapes, '+' as a space, UTF-8), in the order sent,
 *	repeated keys kept.
 *
 * Results:
 *	A new list object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
QueryList(
    const char *target,
    size_t len)
{
    const char *q = memchr(target, '?', len), *end = target + len, *hash;

    if (q == NULL) {
	return Tcl_NewObj();
    }
    q++;
    hash = memchr(q, '#', (size_t) (end - q));
    return DmFormList(q, hash ? hash : end);
}

/*
 *----------------------------------------------------------------------
 *
 * HeaderList --
 *
 *	Every header field of a request, in order, as a list of lower-case
 *	names and values.
 *
 * Results:
 *	A new list object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
HeaderList(
    const DmRequest *req)
{
    Tcl_Obj *list = Tcl_NewObj();
    int i;

    for (i = 0; req->fields != NULL && i < req->numHeaders; i++) {
	const DmField *f = &req->fields[i];

	Tcl_ListObjAppendElement(NULL, list, LowerObj(f->name.ptr,
		f->name.len));
	Tcl_ListObjAppendElement(NULL, list,
		DmLatin1Obj(f->value.ptr, f->value.len));
    }
    return list;
}

/*
 *----------------------------------------------------------------------
 *
 * BuildRequest --
 *
 *	The request dict a handler or filter gets: every value a copy.
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
BuildRequest(
    DmConn *conn,
    DmExchange *ex,
    const DmRequest *req,
    Tcl_Obj *params)
{
    ThreadData *tsdPtr = GetThreadData();
    Tcl_Obj *const *keys = tsdPtr->keys;
    Tcl_Obj *kv[30];
    const char *h = req->host.ptr, *colon;
    size_t hostLen = h ? req->host.len : 0;
    int n = 0;

    /*
     * The host without its port (an IPv6 literal keeps its brackets).
     */

    if (hostLen > 0 && h[0] != '['
	    && (colon = memchr(h, ':', hostLen)) != NULL) {
	hostLen = (size_t) (colon - h);
    } else if (hostLen > 0 && h[0] == '['
	    && (colon = memchr(h, ']', hostLen)) != NULL) {
	hostLen = (size_t) (colon - h) + 1;
    }

    /*
     * Made as a list of keys and values: a dict to any Tcl code that
     * reads it, and cheaper when none does.
     */

#define PUT(key, value) (kv[n++] = keys[key], kv[n++] = (value))
    PUT(KEY_METHOD, Tcl_NewStringObj(req->methodName.ptr,
	    (Tcl_Size) req->methodName.len));
    PUT(KEY_PATH, DmUtf8Obj(ex->path, ex->pathLen));
    PUT(KEY_TARGET, DmLatin1Obj(req->target.ptr, req->target.len));
    PUT(KEY_QUERY, QueryList(req->target.ptr, req->target.len));
    PUT(KEY_VERSION, tsdPtr->versions[req->versionMinor ? 1 : 0]);
    PUT(KEY_HEADERS, HeaderList(req));
    PUT(KEY_PEER, Tcl_NewStringObj(conn->peer, -1));
    PUT(KEY_PORT, Tcl_NewIntObj(conn->peerPort));
    PUT(KEY_PARAMS, params ? params : Tcl_NewObj());
    PUT(KEY_ID, Tcl_NewWideIntObj((Tcl_WideInt) ex->id));
    PUT(KEY_HOST, LowerObj(h ? h : "", hostLen));
    PUT(KEY_ROOT, DmRootFor(conn->srv, req)->path);
    PUT(KEY_BODY, Tcl_NewObj());
    PUT(KEY_SCHEME, Tcl_NewStringObj(conn->tls ? "https" : "http", -1));
    if (conn->tls != NULL) {
	const char *protocol, *cipher, *serverName;
	Tcl_Obj *info[6];

	DmTlsInfo(conn->tls, &protocol, &cipher, &serverName);
	info[0] = Tcl_NewStringObj("protocol", -1);
	info[1] = Tcl_NewStringObj(protocol, -1);
	info[2] = Tcl_NewStringObj("cipher", -1);
	info[3] = Tcl_NewStringObj(cipher, -1);
	info[4] = Tcl_NewStringObj("servername", -1);
	info[5] = Tcl_NewStringObj(serverName, -1);
	PUT(KEY_TLS, Tcl_NewListObj(6, info));
    }
#undef PUT
    return Tcl_NewListObj(n, kv);
}

/*
 *----------------------------------------------------------------------
 *
 * AllowList --
 *
 *	The value of a 405's Allow field from the methods routes take: each
 *	once, HEAD with GET.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *dsPtr (initialised here).
 *
 *----------------------------------------------------------------------
 */

static void
AllowList(
    Tcl_Obj *methods,
    Tcl_DString *dsPtr)
{
    Tcl_HashTable seen;
    Tcl_Obj **m;
    Tcl_Size n, i;
    int isNew;

    Tcl_DStringInit(dsPtr);
    Tcl_InitHashTable(&seen, TCL_STRING_KEYS);
    Tcl_ListObjGetElements(NULL, methods, &n, &m);
    for (i = 0; i < n; i++) {
	const char *name = Tcl_GetString(m[i]);
	int k;

	for (k = 0; k < 1 + (strcmp(name, "GET") == 0); k++) {
	    Tcl_CreateHashEntry(&seen, k ? "HEAD" : name, &isNew);
	    if (isNew) {
		if (Tcl_DStringLength(dsPtr) > 0) {
		    Tcl_DStringAppend(dsPtr, ", ", 2);
		}
		Tcl_DStringAppend(dsPtr, k ? "HEAD" : name, -1);
	    }
	}
    }
    Tcl_DeleteHashTable(&seen);
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeStart --
 *
 *	Decides whether routes or filters apply to a parsed request and, if
 *	so, starts its exchange: a request whose handler wants a body
 *	collects it first (dmBody.c); every other one goes to Tcl code at
 *	once.  head[0..len) is the input from the request's head on.
 *
 * Results:
 *	DM_NOT_ROUTED if nothing applies (the caller serves the static
 *	files, unseen); otherwise as HandleRequest in dmConn.c: bytes
 *	consumed, DM_STASHED, or -1.
 *
 * Side effects:
 *	Anything Tcl code does.
 *
 *----------------------------------------------------------------------
 */

long
DmExchangeStart(
    DmConn *conn,
    DmRequest *req,
    const char *path,
    size_t pathLen,
    const char *head,
    size_t headLen,
    size_t len)
{
    DmServer *srv = conn->srv;
    DmMatch m;
    DmExchange *ex;

    DmPipelineMatch(srv->pipeline, req, path, pathLen, &m);
    if (m.allow != NULL && m.before == NULL && m.after == NULL) {
	/*
	 * Routes take this path, but not this method.  Its body is
	 * skipped, as for the static files.
	 */

	Tcl_DString allow;
	int r;

	DmConnSkipBody(conn, req, len > headLen);
	AllowList(m.allow, &allow);
	Tcl_DecrRefCount(m.allow);
	r = DmConnError(conn, 405, req, "Allow", Tcl_DStringValue(&allow),
		(size_t) Tcl_DStringLength(&allow));
	Tcl_DStringFree(&allow);
	return (r < 0) ? -1 : (long) headLen;
    }
    if (m.handler == NULL && m.before == NULL && m.after == NULL) {
	return DM_NOT_ROUTED;
    }

    ex = (DmExchange *) Tcl_Alloc(sizeof(DmExchange));
    memset(ex, 0, sizeof(DmExchange));
    ex->conn = conn;
    ex->srv = srv;
    ex->id = ++GetThreadData()->lastId;
    ex->saved = DmSaveRequest(req);
    memcpy(ex->path, path, pathLen + 1);
    ex->pathLen = pathLen;
    ex->handler = m.handler;
    ex->takeover = m.takeover;
    if (ex->handler != NULL) {
	Tcl_IncrRefCount(ex->handler);
    }
    ex->before = m.before;
    ex->after = m.after;
    if (ex->before != NULL) {
	Tcl_IncrRefCount(ex->before);
    }
    if (ex->after != NULL) {
	Tcl_IncrRefCount(ex->after);
    }
    if (m.allow != NULL) {
	ex->allow = m.allow;		/* For a 405 after the filters. */
	Tcl_IncrRefCount(ex->allow);
    }
    ex->request = BuildRequest(conn, ex, req, m.params);
    Tcl_IncrRefCount(ex->request);
    ex->body.spoolFd = -1;
    conn->ex = ex;
    {
	int isNew;

	Tcl_SetHashValue(Tcl_CreateHashEntry(&GetThreadData()->exchanges,
		(char *) (intptr_t) ex->id, &isNew), ex);
    }
    if (ex->saved == NULL) {
	DmConnDestroy(conn);
	return -1;
    }

    /*
     * A handler's body is collected first; the static files and a
     * takeover leave it where it is (skipped by the one, read by the
     * other).
     */

    if (ex->handler != NULL && !ex->takeover
	    && req->bodyKind != DM_BODY_NONE
	    && !(req->bodyKind == DM_BODY_LENGTH
	    && req->contentLength == 0)) {
	int r = DmBodyBegin(conn, &ex->body, req, len > headLen);

	if (r <= 0) {
	    return (r < 0) ? -1 : (long) len;
	}
	return (long) headLen;
    }
    if (ex->handler == NULL) {
	DmConnSkipBody(conn, &ex->saved->req, len > headLen);
    }
    return DmExchangeRun(conn, head + headLen, len - headLen);
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeBody --
 *
 *	Feeds input to the body being collected for a handler; once it is
 *	whole, runs the exchange with what follows.
 *
 * Results:
 *	Bytes consumed, DM_STASHED, or -1 if the connection was destroyed.
 *
 * Side effects:
 *	See DmBodyFeed and DmExchangeRun.
 *
 *----------------------------------------------------------------------
 */

long
DmExchangeBody(
    DmConn *conn,
    const char *buf,
    size_t len)
{
    DmExchange *ex = conn->ex;
    long used = DmBodyFeed(conn, &ex->body, buf, len);

    if (ex->body.status != 0) {
	/*
	 * Malformed (400), too long (413), or not stored (500): answered,
	 * and the connection closes, since the body's end is not known.
	 */

	if (ex->body.status == 500) {
	    DmLogEvent(conn->srv, conn->peer, "cannot keep a request body:"
		    " %s", Tcl_ErrnoMsg(Tcl_GetErrno()));
	}
	return DmExchangeAnswer(ex, NULL, ex->body.status) < 0 ? -1
		: (long) len;
    }
    if (!ex->body.done) {
	return used;
    }
    DmBodyFinish(&ex->body, ex->request);
    return DmExchangeRun(conn, buf + used, len - (size_t) used);
}

/*
 *----------------------------------------------------------------------
 *
 * CallTcl --
 *
 *	Runs "{*}command ?arg ...?" at global level for an exchange.  An
 *	error goes to the background error handler (bgerror, with its
 *	errorInfo) and to the error log.
 *
 * Results:
 *	The result object (with a reference the caller drops), or NULL
 *	after an error.
 *
 * Side effects:
 *	Anything the command does.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
CallTcl(
    DmExchange *ex,
    Tcl_Obj *command,
    Tcl_Obj *arg1,
    Tcl_Obj *arg2)
{
    Tcl_Interp *interp = ex->srv->interp;
    Tcl_Obj **words, *cmd, *result;
    Tcl_Size n;
    int code;

    if (Tcl_InterpDeleted(interp)) {
	return NULL;
    }
    if (Tcl_ListObjGetElements(interp, command, &n, &words) != TCL_OK) {
	code = TCL_ERROR;
    } else {
	cmd = Tcl_NewListObj(n, words);
	Tcl_IncrRefCount(cmd);
	if (arg1 != NULL) {
	    Tcl_ListObjAppendElement(NULL, cmd, arg1);
	}
	if (arg2 != NULL) {
	    Tcl_ListObjAppendElement(NULL, cmd, arg2);
	}
	Tcl_Preserve(interp);
	code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_GLOBAL | TCL_EVAL_DIRECT);
	Tcl_DecrRefCount(cmd);
	Tcl_Release(interp);
    }
    if (code == TCL_OK || code == TCL_RETURN) {
	result = Tcl_GetObjResult(interp);
	Tcl_IncrRefCount(result);
	Tcl_ResetResult(interp);
	return result;
    }
    if (code != TCL_ERROR) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("command returned %s",
		code == TCL_BREAK ? "break" : code == TCL_CONTINUE
		? "continue" : "an unknown code"));
	code = TCL_ERROR;
    }
    DmLogEvent(ex->srv, ex->conn ? ex->conn->peer : "-",
	    "error in %s for %.*s: %s", (command == ex->handler) ? "handler"
	    : "filter", (int) ex->saved->req.requestLine.len,
	    ex->saved->req.requestLine.ptr,
	    Tcl_GetString(Tcl_GetObjResult(interp)));
    Tcl_BackgroundException(interp, code);
    Tcl_ResetResult(interp);
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeRun --
 *
 *	Runs a request's Tcl side: the before-filters (the first to return
 *	a response answers), then its handler: a command, a takeover, or the
 *	static files.  rest[0..restLen) is the input after the request,
 *	copied aside first.
 *
 * Results:
 *	DM_STASHED, or -1 if the connection is gone.
 *
 * Side effects:
 *	Anything the Tcl code does; the reply is sent or held.
 *
 *----------------------------------------------------------------------
 */

long
DmExchangeRun(
    DmConn *conn,
    const char *rest,
    size_t restLen)
{
    DmExchange *ex = conn->ex;
    int r;

    if (DmConnStash(conn, rest, restLen) < 0) {
	return -1;
    }
    DmConnBusy(conn);
    r = Dispatch(conn, ex);
    if (ex->conn == NULL) {
	return -1;			/* Gone while Tcl code ran. */
    }
    DmConnIdle(conn);
    return (r < 0) ? -1 : DM_STASHED;
}

/*
 *----------------------------------------------------------------------
 *
 * Dispatch --
 *
 *	The body of DmExchangeRun, with the connection busy.
 *
 * Results:
 *	0, or -1 if the connection is gone.
 *
 * Side effects:
 *	See DmExchangeRun.
 *
 *----------------------------------------------------------------------
 */

static int
Dispatch(
    DmConn *conn,
    DmExchange *ex)
{
    Tcl_Obj *response = NULL, **filters;
    Tcl_Size n, i;
    int failed = 0, r;

    if (ex->before != NULL) {
	Tcl_ListObjGetElements(NULL, ex->before, &n, &filters);
	for (i = 0; i < n && response == NULL && !failed && !ex->answered;
		i++) {
	    Tcl_Obj *r = CallTcl(ex, filters[i], ex->request, NULL);
	    Tcl_Size len;

	    if (ex->conn == NULL) {
		if (r != NULL) {
		    Tcl_DecrRefCount(r);
		}
		return -1;
	    }
	    if (r == NULL) {
		failed = 1;
	    } else if (Tcl_ListObjLength(NULL, r, &len) == TCL_OK
		    && len == 0) {
		Tcl_DecrRefCount(r);	/* Goes on. */
	    } else {
		response = r;
	    }
	}
	if (ex->pending != NULL) {
	    /*
	     * A filter answered with "respond": that answer goes.
	     */

	    if (response != NULL) {
		Tcl_DecrRefCount(response);
	    }
	    response = ex->pending;
	    ex->pending = NULL;
	    failed = 0;
	}
    }
    if (failed) {
	return DmExchangeAnswer(ex, NULL, 500);
    }
    if (response == NULL && ex->allow != NULL) {
	Tcl_DString allow;

	AllowList(ex->allow, &allow);
	r = DmConnError(conn, 405, &ex->saved->req, "Allow",
		Tcl_DStringValue(&allow), (size_t) Tcl_DStringLength(&allow));
	Tcl_DStringFree(&allow);
	return r;
    }
    if (response == NULL && ex->handler == NULL) {
	ex->answered = 1;
	return DmStaticHandle(conn, &ex->saved->req, ex->path, ex->pathLen);
    }
    if (response == NULL && ex->takeover) {
	return DmTakeover(conn, ex->saved, ex->handler, ex->request);
    }
    if (response == NULL) {
	Tcl_Obj *result = CallTcl(ex, ex->handler, ex->request, NULL);
	Tcl_Size len = 0;
	int empty = (result != NULL
		&& Tcl_ListObjLength(NULL, result, &len) == TCL_OK
		&& len == 0);

	if (ex->conn == NULL) {
	    if (result != NULL) {
		Tcl_DecrRefCount(result);
	    }
	    return -1;
	}
	if (ex->pending != NULL) {
	    /*
	     * It answered with "respond" while it ran; a result besides
	     * that is a second answer.
	     */

	    if (result != NULL && !empty) {
		Tcl_Interp *interp = ex->srv->interp;

		Tcl_SetObjResult(interp, Tcl_ObjPrintf("request %"
			TCL_LL_MODIFIER "d was answered twice: by \"respond\""
			" and by its handler's result", (Tcl_WideInt) ex->id));
		Tcl_SetErrorCode(interp, "DUSTMOTE", "RESPOND", "TWICE",
			NULL);
		Tcl_BackgroundException(interp, TCL_ERROR);
		Tcl_ResetResult(interp);
	    }
	    if (result != NULL) {
		Tcl_DecrRefCount(result);
	    }
	    response = ex->pending;
	    ex->pending = NULL;
	} else if (result == NULL) {
	    return DmExchangeAnswer(ex, NULL, 500);
	} else if (empty) {
	    Tcl_DecrRefCount(result);
	    if (ex->srv->closing) {
		return DmExchangeAnswer(ex, NULL, 503);	/* None can come. */
	    }
	    DmExchangeHold(ex);		/* "$server respond" answers. */
	    return 0;
	} else {
	    response = result;
	}
    }
    r = DmExchangeAnswer(ex, response, 0);
    Tcl_DecrRefCount(response);
    return r;
}

/*
 * A handler's response, checked.
 */

enum {
    BODY_NONE, BODY_BYTES, BODY_FILE, BODY_CHANNEL
};

typedef struct Response {
    int status;
    Tcl_DString fields;		/* "Name: value\r\n" lines to send. */
    int hasType, hasServer, hasModified, hasETag;
    int kind;			/* BODY_*. */
    Tcl_DString bytes;		/* BODY_BYTES. */
    Tcl_Obj *file;		/* BODY_FILE: the path. */
    Tcl_Channel chan;		/* BODY_CHANNEL. */
    Tcl_WideInt size;		/* Its length, or -1 if unknown. */
} Response;

/*
 *----------------------------------------------------------------------
 *
 * ResponseError --
 *
 *	How ParseResponse reports a bad response.
 *
 * Results:
 *	TCL_ERROR.
 *
 * Side effects:
 *	Sets the interpreter's result and error code.
 *
 *----------------------------------------------------------------------
 */

static int
ResponseError(
    Tcl_Interp *interp,
    Tcl_Obj *msg)
{
    Tcl_SetObjResult(interp, msg);
    Tcl_SetErrorCode(interp, "DUSTMOTE", "RESPONSE", NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseResponse --
 *
 *	Checks a response dict: status (200 by default, 200 to 599),
 *	headers (names that are tokens; values without control characters,
 *	each character at most U+00FF), and at most one of body, file (a
 *	path) and channel (a readable channel, with size if its length is
 *	known).  Content-Length, Transfer-Encoding and Connection fields are
 *	left out: the server frames every reply itself.
 *
 * Results:
 *	A standard Tcl result; on error, the message and -errorcode
 *	{DUSTMOTE RESPONSE} in the interpreter.
 *
 * Side effects:
 *	Fills *r, whose strings the caller frees with FreeResponse.
 *
 *----------------------------------------------------------------------
 */

static void
FreeResponse(
    Response *r)
{
    Tcl_DStringFree(&r->fields);
    Tcl_DStringFree(&r->bytes);
}

static int
ParseResponse(
    Tcl_Interp *interp,
    Tcl_Obj *dict,
    Response *r)
{
    Tcl_Obj *v, **h, **pairs, *found[KEY_COUNT];
    Tcl_Size n, i;
    int kinds = 0, status = 200, k;

    memset(r, 0, sizeof(*r));
    Tcl_DStringInit(&r->fields);
    Tcl_DStringInit(&r->bytes);
    r->size = -1;

    /*
     * Read as a list of keys and values (the last of a repeated key
     * counts, as in a dict): most responses are made with [list], and
     * a hash table for a few keys would cost more than the scan.
     */

    if (Tcl_ListObjGetElements(NULL, dict, &n, &pairs) != TCL_OK || n % 2) {
	return ResponseError(interp, Tcl_ObjPrintf(
		"bad response \"%.200s\": must be a dict", Tcl_GetString(dict)));
    }
    memset(found, 0, sizeof(found));
    for (i = 0; i < n; i += 2) {
	static const int responseKeys[] = {
	    KEY_STATUS, KEY_HEADERS, KEY_BODY, KEY_FILE, KEY_CHANNEL, KEY_SIZE
	};
	const char *key = Tcl_GetString(pairs[i]);

	for (k = 0; k < (int) (sizeof(responseKeys) / sizeof(int)); k++) {
	    if (strcmp(key, keyNames[responseKeys[k]]) == 0) {
		found[responseKeys[k]] = pairs[i + 1];
		break;
	    }
	}
    }
    if ((v = found[KEY_STATUS]) != NULL && (Tcl_GetIntFromObj(NULL, v, &status) != TCL_OK
	    || status < 200 || status > 599)) {
	return ResponseError(interp, Tcl_ObjPrintf("bad status \"%s\" in"
		" response: must be an integer from 200 to 599",
		Tcl_GetString(v)));
    }
    r->status = status;
    if ((v = found[KEY_HEADERS]) != NULL) {
	if (Tcl_ListObjGetElements(NULL, v, &n, &h) != TCL_OK || n % 2) {
	    return ResponseError(interp, Tcl_NewStringObj("bad headers in"
		    " response: must be a list of names and values", -1));
	}
	for (i = 0; i < n; i += 2) {
	    Tcl_Size nameLen, valueLen, k;
	    const char *name = Tcl_GetStringFromObj(h[i], &nameLen);
	    const char *value = Tcl_GetStringFromObj(h[i + 1], &valueLen);
	    Tcl_DString ds;

	    if (nameLen == 0 || !DmIsToken(name, (size_t) nameLen)) {
		return ResponseError(interp, Tcl_ObjPrintf("bad header name"
			" \"%s\" in response", name));
	    }
	    /*
	     * Each character is sent as the byte of its code, so none may
	     * be above U+00FF, nor a control character.
	     */

	    Tcl_DStringInit(&ds);
	    for (k = 0; k < valueLen; ) {
		Tcl_UniChar ch = 0;
		char byte;

		k += Tcl_UtfToUniChar(value + k, &ch);
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f || ch > 0xff) {
		    Tcl_DStringFree(&ds);
		    return ResponseError(interp, Tcl_ObjPrintf("bad value for"
			    " header \"%s\" in response: control characters"
			    " and characters above U+00FF cannot be sent",
			    name));
		}
		byte = (char) ch;
		Tcl_DStringAppend(&ds, &byte, 1);
	    }
	    if (strcasecmp(name, "content-length") == 0
		    || strcasecmp(name, "transfer-encoding") == 0
		    || strcasecmp(name, "connection") == 0
		    || strcasecmp(name, "date") == 0) {
		Tcl_DStringFree(&ds);
		continue;
	    }
	    r->hasType |= (strcasecmp(name, "content-type") == 0);
	    r->hasServer |= (strcasecmp(name, "server") == 0);
	    r->hasModified |= (strcasecmp(name, "last-modified") == 0);
	    r->hasETag |= (strcasecmp(name, "etag") == 0);
	    Tcl_DStringAppend(&r->fields, name, nameLen);
	    Tcl_DStringAppend(&r->fields, ": ", 2);
	    Tcl_DStringAppend(&r->fields, Tcl_DStringValue(&ds),
		    Tcl_DStringLength(&ds));
	    Tcl_DStringAppend(&r->fields, "\r\n", 2);
	    Tcl_DStringFree(&ds);
	}
    }
    if ((v = found[KEY_BODY]) != NULL) {
	kinds++;
	r->kind = BODY_BYTES;
	Tcl_DStringFree(&r->bytes);
	DmBytesOf(v, &r->bytes);
    }
    if ((v = found[KEY_FILE]) != NULL) {
	kinds++;
	r->kind = BODY_FILE;
	r->file = v;
    }
    if ((v = found[KEY_CHANNEL]) != NULL) {
	int mode;

	kinds++;
	r->kind = BODY_CHANNEL;
	r->chan = Tcl_GetChannel(interp, Tcl_GetString(v), &mode);
	if (r->chan == NULL) {
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "RESPONSE", NULL);
	    return TCL_ERROR;
	}
	if (!(mode & TCL_READABLE)) {
	    return ResponseError(interp, Tcl_ObjPrintf("channel \"%s\" in"
		    " response is not readable", Tcl_GetString(v)));
	}
    }
    if (kinds > 1) {
	return ResponseError(interp, Tcl_NewStringObj("a response has at"
		" most one of body, file and channel", -1));
    }
    if ((v = found[KEY_SIZE]) != NULL && (Tcl_GetWideIntFromObj(NULL, v, &r->size) != TCL_OK
	    || r->size < 0)) {
	return ResponseError(interp, Tcl_ObjPrintf("bad size \"%s\" in"
		" response: must be a non-negative integer", Tcl_GetString(v)));
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * FileConditions --
 *
 *	Gives a file a handler answers with (status 200, no ETag or
 *	Last-Modified of the handler's own) what a static file has: its
 *	entity-tag and Accept-Ranges, the preconditions (304, 412) and a
 *	single range (206, 416); several ranges get the whole file.
 *
 * Results:
 *	0, or 412 or 416 to answer with instead (for 416, r->bytes holds
 *	the Content-Range value).
 *
 * Side effects:
 *	Appends fields to r->fields; may set r->status to 304 or 206 and
 *	*offsetPtr and *lengthPtr to the range.
 *
 *----------------------------------------------------------------------
 */

static int
FileConditions(
    DmConn *conn,
    const DmRequest *req,
    Response *r,
    const DmFileInfo *infoPtr,
    uint64_t *offsetPtr,
    uint64_t *lengthPtr)
{
    char etag[DM_ETAG_MAX], text[80];
    DmByteRange ranges[DM_MAX_RANGES];
    DmValidator v;
    size_t textLen;
    int n;

    v.etagLen = DmFormatETag(infoPtr->mtimeNs, infoPtr->size, infoPtr->ino,
	    infoPtr->dev, etag);
    v.etag = etag;
    v.mtime = infoPtr->mtime;
    Tcl_DStringAppend(&r->fields, "ETag: ", -1);
    Tcl_DStringAppend(&r->fields, etag, (Tcl_Size) v.etagLen);
    Tcl_DStringAppend(&r->fields, "\r\nAccept-Ranges: bytes\r\n", -1);
    switch (DmFileDecide(conn->srv, req, &v, infoPtr->size, ranges, &n, text,
	    &textLen)) {
    case 412:
	return 412;
    case 416:
	Tcl_DStringFree(&r->bytes);
	Tcl_DStringAppend(&r->bytes, text, (Tcl_Size) textLen);
	return 416;
    case 304:
	r->status = 304;
	break;
    case 206:
	if (n == 1) {
	    r->status = 206;
	    *offsetPtr = ranges[0].first;
	    *lengthPtr = ranges[0].last - ranges[0].first + 1;
	    Tcl_DStringAppend(&r->fields, "Content-Range: ", -1);
	    Tcl_DStringAppend(&r->fields, text, (Tcl_Size) textLen);
	    Tcl_DStringAppend(&r->fields, "\r\n", 2);
	}
	break;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * SendResponse --
 *
 *	Sends a checked response: its head (with the server's Date and
 *	Server, the framing, and the handler's fields) and its body, from
 *	memory, from a file by sendfile, or pumped from a channel.  HEAD
 *	gets the head only; 204 and 304 have no body.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply; a channel belongs to the server from now on and is
 *	closed when done.
 *
 *----------------------------------------------------------------------
 */

static int
SendResponse(
    DmConn *conn,
    DmExchange *ex,
    Response *r)
{
    DmServer *srv = conn->srv;
    const DmRequest *req = &ex->saved->req;
    int headOnly = (req->method == DM_METHOD_HEAD);
    int noBody = (r->status == 204 || r->status == 304);
    int framing = DM_FRAME_LENGTH, fd = -1, result;
    uint64_t length = 0, offset = 0;
    Tcl_DString head;
    DmFileInfo info;

    switch (r->kind) {
    case BODY_BYTES:
	length = (uint64_t) Tcl_DStringLength(&r->bytes);
	if (!r->hasType) {
	    Tcl_DStringAppend(&r->fields,
		    "Content-Type: text/plain; charset=utf-8\r\n", -1);
	}
	break;
    case BODY_FILE: {
	int status;

	fd = DmOpenFileObj(r->file, &info, &status);
	if (fd < 0) {
	    DmLogEvent(srv, conn->peer, "cannot send file \"%s\" for %.*s",
		    Tcl_GetString(r->file), (int) req->requestLine.len,
		    req->requestLine.ptr);
	    return DmConnError(conn, status, req, NULL, NULL, 0);
	}
	length = info.size;
	if (r->status == 200 && !r->hasModified && !r->hasETag) {
	    int status = FileConditions(conn, req, r, &info, &offset,
		    &length);

	    if (status >= 400) {
		DmFileClose(fd);
		return DmConnError(conn, status, req,
			status == 416 ? "Content-Range" : NULL,
			Tcl_DStringValue(&r->bytes),
			(size_t) Tcl_DStringLength(&r->bytes));
	    }
	    noBody = (r->status == 304);
	}
	if (!r->hasType && r->status != 304) {
	    Tcl_Size pathLen;
	    const char *path = Tcl_GetStringFromObj(r->file, &pathLen);
	    size_t typeLen;
	    const char *type = DmMimeHeader(path, (size_t) pathLen, &typeLen);

	    Tcl_DStringAppend(&r->fields, type, (Tcl_Size) typeLen);
	}
	if (!r->hasModified) {
	    char date[DM_HTTP_DATE_LEN + 1];

	    DmReplyClock(srv);
	    DmFormatHttpDate(info.mtime > srv->dateSecond ? srv->dateSecond
		    : info.mtime, date);
	    Tcl_DStringAppend(&r->fields, "Last-Modified: ", -1);
	    Tcl_DStringAppend(&r->fields, date, DM_HTTP_DATE_LEN);
	    Tcl_DStringAppend(&r->fields, "\r\n", 2);
	}
	break;
    }
    case BODY_CHANNEL:
	if (!r->hasType) {
	    Tcl_DStringAppend(&r->fields,
		    "Content-Type: application/octet-stream\r\n", -1);
	}
	if (r->size >= 0) {
	    length = (uint64_t) r->size;
	} else {
	    framing = req->versionMinor ? DM_FRAME_CHUNKED : DM_FRAME_CLOSE;
	}
	break;
    default:
	break;
    }
    if (noBody) {
	framing = DM_FRAME_NONE;
    }
    Tcl_DStringInit(&head);
    DmReplyBuildHead(srv, r->status, Tcl_DStringValue(&r->fields),
	    (size_t) Tcl_DStringLength(&r->fields), !r->hasServer, framing,
	    length, DmConnHeader(conn, req->keepAlive, req->versionMinor,
	    framing == DM_FRAME_CLOSE), &head);
    if (headOnly || noBody) {
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	if (r->kind == BODY_CHANNEL) {
	    DmConnTakeChannel(NULL, srv->interp, r->chan, -1, 0);
	}
	result = DmConnQueue(conn, req, r->status, Tcl_DStringValue(&head),
		(size_t) Tcl_DStringLength(&head), NULL, 0, -1, 0, 0);
    } else if (r->kind == BODY_FILE) {
	conn->filePath = strdup(Tcl_GetString(r->file));
	result = DmConnQueue(conn, req, r->status, Tcl_DStringValue(&head),
		(size_t) Tcl_DStringLength(&head), NULL, 0, fd, offset,
		length);
    } else if (r->kind == BODY_CHANNEL) {
	DmConnTakeChannel(conn, srv->interp, r->chan,
		(r->size >= 0) ? r->size : -1, framing == DM_FRAME_CHUNKED);
	result = DmConnQueue(conn, req, r->status, Tcl_DStringValue(&head),
		(size_t) Tcl_DStringLength(&head), NULL, 0, -1, 0, 0);
    } else {
	result = DmConnQueue(conn, req, r->status, Tcl_DStringValue(&head),
		(size_t) Tcl_DStringLength(&head), Tcl_DStringValue(&r->bytes),
		(size_t) Tcl_DStringLength(&r->bytes), -1, 0, 0);
    }
    Tcl_DStringFree(&head);
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeAnswer --
 *
 *	Answers an exchange: with a response dict, or with an error status
 *	(response NULL).  A response that does not check out is a handler
 *	error: reported as such, and answered 500.
 *
 * Results:
 *	0 if the connection is still open, -1 if it is gone.
 *
 * Side effects:
 *	Sends the reply.
 *
 *----------------------------------------------------------------------
 */

int
DmExchangeAnswer(
    DmExchange *ex,
    Tcl_Obj *response,
    int status)
{
    DmConn *conn = ex->conn;
    Tcl_Interp *interp = ex->srv->interp;
    Response r;
    int result;

    ex->answered = 1;
    if (conn == NULL) {
	return -1;
    }
    Unhold(ex);
    if (response != NULL) {
	if (ParseResponse(interp, response, &r) == TCL_OK) {
	    result = SendResponse(conn, ex, &r);
	    FreeResponse(&r);
	    return result;
	}
	FreeResponse(&r);
	DmLogEvent(ex->srv, conn->peer, "bad response for %.*s: %s",
		(int) ex->saved->req.requestLine.len,
		ex->saved->req.requestLine.ptr,
		Tcl_GetString(Tcl_GetObjResult(interp)));
	Tcl_BackgroundException(interp, TCL_ERROR);
	Tcl_ResetResult(interp);
	status = 500;
    }
    return DmConnError(conn, status, &ex->saved->req, NULL, NULL, 0);
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeHold, Unhold --
 *
 *	Put an exchange whose handler returned nothing into the server's
 *	held requests (its connection waits, -handlertimeout running), or
 *	take it out.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes the connection's state.
 *
 *----------------------------------------------------------------------
 */

void
DmExchangeHold(
    DmExchange *ex)
{
    ex->held = 1;
    ex->conn->state = DM_CONN_HELD;
}

static void
Unhold(
    DmExchange *ex)
{
    if (ex->held) {
	ex->held = 0;
	if (ex->conn != NULL) {
	    DmConnTimerUnlink(ex->conn);
	    ex->conn->state = DM_CONN_READ;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeTimeout --
 *
 *	A held request was not answered within -handlertimeout, or the
 *	server is closing: it gets 503.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sends the reply; logs the timeout.
 *
 *----------------------------------------------------------------------
 */

void
DmExchangeTimeout(
    DmExchange *ex)
{
    DmConn *conn = ex->conn;

    if (!ex->srv->closing) {
	DmLogEvent(ex->srv, conn->peer, "no answer to %.*s within %d ms",
		(int) ex->saved->req.requestLine.len,
		ex->saved->req.requestLine.ptr,
		ex->srv->config.timeouts[DM_TIMER_HANDLER]);
    }
    DmExchangeAnswer(ex, NULL, 503);
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeStalled --
 *
 *	The body for a handler did not arrive within -headtimeout: 408.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sends the reply; ends the exchange.
 *
 *----------------------------------------------------------------------
 */

void
DmExchangeStalled(
    DmConn *conn)
{
    DmExchange *ex = conn->ex;

    DmExchangeAnswer(ex, NULL, 408);
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeDone, DmExchangeOrphan --
 *
 *	An exchange ends: its reply is done, or its connection is gone (a
 *	later "respond" to it is an error).  The memory is retired.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Removes a spooled body; frees the exchange later.
 *
 *----------------------------------------------------------------------
 */

static void
ExchangeEnd(
    DmExchange *ex)
{
    Tcl_HashEntry *hPtr;

    if (ex->done) {
	return;
    }
    ex->done = 1;
    ex->held = 0;
    hPtr = Tcl_FindHashEntry(&GetThreadData()->exchanges,
	    (char *) (intptr_t) ex->id);
    if (hPtr != NULL) {
	Tcl_DeleteHashEntry(hPtr);
    }
    DmBodyFree(&ex->body);
    if (ex->files != NULL) {
	Tcl_Obj **f;
	Tcl_Size n, i;

	Tcl_ListObjGetElements(NULL, ex->files, &n, &f);
	for (i = 0; i < n; i++) {
	    DmFileRemove(Tcl_GetString(f[i]));
	}
    }
    DmRetire(ExchangeFree, ex);
}

void
DmExchangeDone(
    DmExchange *ex)
{
    ExchangeEnd(ex);
}

void
DmExchangeOrphan(
    DmExchange *ex)
{
    ex->conn = NULL;
    ExchangeEnd(ex);
}

static void
ExchangeFree(
    void *ptr)
{
    DmExchange *ex = ptr;
    Tcl_Obj *objs[7];
    int i;

    objs[0] = ex->request;
    objs[1] = ex->handler;
    objs[2] = ex->before;
    objs[3] = ex->after;
    objs[4] = ex->allow;
    objs[5] = ex->pending;
    objs[6] = ex->files;
    for (i = 0; i < 7; i++) {
	if (objs[i] != NULL) {
	    Tcl_DecrRefCount(objs[i]);
	}
    }
    DmFreeSavedRequest(ex->saved);
    Tcl_Free((char *) ex);
}

/*
 *----------------------------------------------------------------------
 *
 * DmRespond --
 *
 *	Implements "$server respond id response": answers a request whose
 *	handler returned nothing (or is still running).
 *
 * Results:
 *	A standard Tcl result: an error for an unknown id (never given, its
 *	client gone, or answered and done), for one answered already, and
 *	for a malformed response.
 *
 * Side effects:
 *	Sends the reply, then goes on with the connection's next request.
 *
 *----------------------------------------------------------------------
 */

int
DmRespond(
    DmServer *srv,
    Tcl_Interp *interp,
    Tcl_Obj *idObj,
    Tcl_Obj *response)
{
    Tcl_WideInt id;
    Tcl_HashEntry *hPtr = NULL;
    DmExchange *ex;
    DmConn *conn;
    Response r;

    if (Tcl_GetWideIntFromObj(NULL, idObj, &id) == TCL_OK) {
	hPtr = Tcl_FindHashEntry(&GetThreadData()->exchanges,
		(char *) (intptr_t) id);
    }
    ex = hPtr ? Tcl_GetHashValue(hPtr) : NULL;
    if (ex == NULL || ex->srv != srv || ex->takeover
	    || ex->handler == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"no request \"%s\" waits for an answer", Tcl_GetString(idObj)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "RESPOND", "UNKNOWN", NULL);
	return TCL_ERROR;
    }
    if (ex->answered) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"request %s was answered already", Tcl_GetString(idObj)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "RESPOND", "TWICE", NULL);
	return TCL_ERROR;
    }
    if (ParseResponse(interp, response, &r) != TCL_OK) {
	FreeResponse(&r);
	return TCL_ERROR;
    }
    FreeResponse(&r);
    conn = ex->conn;
    if (conn->busy) {
	/*
	 * From inside its own handler (or a filter): sent when that
	 * returns.
	 */

	ex->answered = 1;
	ex->pending = response;
	Tcl_IncrRefCount(response);
	return TCL_OK;
    }
    if (DmExchangeAnswer(ex, response, 0) == 0) {
	DmConnResume(conn);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeFilter --
 *
 *	Runs the after-filters on a reply about to be sent (DmConnQueue
 *	calls this instead of sending): each gets the request dict and the
 *	response head as {status N headers {name value ...}}, and returns
 *	that dict with fields added or changed (an empty result changes
 *	nothing).  The framing fields (Content-Length, Transfer-Encoding,
 *	Connection) and Date stay the server's, and so does the status.  The
 *	reply's body is copied first: it may be in the scratch buffer or
 *	the cache, which Tcl code can change.
 *
 * Results:
 *	As DmConnQueue.
 *
 * Side effects:
 *	Runs Tcl code; sends the reply with the head the filters made.
 *
 *----------------------------------------------------------------------
 */

int
DmExchangeFilter(
    DmConn *conn,
    const DmRequest *req,
    int status,
    const char *head,
    size_t headLen,
    const char *body,
    size_t bodyLen,
    int fileFd,
    uint64_t fileOff,
    uint64_t fileLen)
{
    DmExchange *ex = conn->ex;
    DmServer *srv = conn->srv;
    Tcl_Interp *interp = srv->interp;
    Tcl_Obj *headers, *response, **f;
    Tcl_DString framing, fields, original, newHead;
    const char *p = memchr(head, '\n', headLen), *end = head + headLen;
    char *bodyCopy = NULL;
    Tcl_Size n, i;
    int result;

    ex->filtering = 1;
    if (bodyLen > 0) {
	bodyCopy = malloc(bodyLen);
	if (bodyCopy == NULL) {
	    DmConnDestroy(conn);
	    return -1;
	}
	memcpy(bodyCopy, body, bodyLen);
    }

    /*
     * The head as the server made it: framing lines aside, the rest for
     * the filters.
     */

    headers = Tcl_NewObj();
    response = Tcl_NewDictObj();

    Tcl_DStringInit(&framing);
    Tcl_DStringInit(&fields);
    Tcl_DStringInit(&original);
    while (p != NULL && p + 1 < end) {
	const char *line = p + 1, *colon, *eol;

	eol = memchr(line, '\n', (size_t) (end - line));
	if (eol == NULL || eol - line < 2) {
	    break;			/* The empty line. */
	}
	colon = memchr(line, ':', (size_t) (eol - line));
	if (colon != NULL) {
	    size_t nameLen = (size_t) (colon - line);

	    if ((nameLen == 14 && strncasecmp(line, "content-length", 14) == 0)
		    || (nameLen == 17
		    && strncasecmp(line, "transfer-encoding", 17) == 0)
		    || (nameLen == 10
		    && strncasecmp(line, "connection", 10) == 0)) {
		Tcl_DStringAppend(&framing, line, (Tcl_Size) (eol + 1 - line));
	    } else if (!(nameLen == 4 && strncasecmp(line, "date", 4) == 0)) {
		Tcl_DStringAppend(&original, line, (Tcl_Size) (eol + 1 - line));
		Tcl_ListObjAppendElement(NULL, headers,
			DmLatin1Obj(line, nameLen));
		Tcl_ListObjAppendElement(NULL, headers, DmLatin1Obj(colon + 2,
			(size_t) (eol - 1 - colon - 2)));
	    }
	}
	p = eol;
    }
    Tcl_DictObjPut(NULL, response, Key(KEY_STATUS), Tcl_NewIntObj(status));
    Tcl_DictObjPut(NULL, response, Key(KEY_HEADERS), headers);
    Tcl_IncrRefCount(response);

    Tcl_ListObjGetElements(NULL, ex->after, &n, &f);
    DmConnBusy(conn);
    for (i = 0; i < n; i++) {
	Tcl_Obj *r = CallTcl(ex, f[i], ex->request, response), *h;
	Tcl_Size len;

	if (ex->conn == NULL) {
	    if (r != NULL) {
		Tcl_DecrRefCount(r);
	    }
	    Tcl_DecrRefCount(response);
	    Tcl_DStringFree(&framing);
	    Tcl_DStringFree(&fields);
	    Tcl_DStringFree(&original);
	    free(bodyCopy);
	    if (fileFd >= 0) {
		DmFileClose(fileFd);
	    }
	    return -1;
	}
	if (r != NULL && Tcl_ListObjLength(NULL, r, &len) == TCL_OK
		&& len > 0) {
	    if (Tcl_DictObjGet(NULL, r, Key(KEY_HEADERS), &h) == TCL_OK
		    && h != NULL) {
		if (Tcl_IsShared(response)) {
		    /*
		     * The filter kept the dict it was given.
		     */

		    Tcl_Obj *copy = Tcl_DuplicateObj(response);

		    Tcl_IncrRefCount(copy);
		    Tcl_DecrRefCount(response);
		    response = copy;
		}
		Tcl_DictObjPut(NULL, response, Key(KEY_HEADERS), h);
	    }
	}
	if (r != NULL) {
	    Tcl_DecrRefCount(r);
	}
    }
    DmConnIdle(conn);

    /*
     * The head again: status line, Date, the fields as filtered (those
     * that cannot be sent dropped, with a background error), framing.
     */

    {
	Response checked;

	if (ParseResponse(interp, response, &checked) != TCL_OK) {
	    DmLogEvent(srv, conn->peer, "bad header from an after-filter for"
		    " %.*s: %s", (int) ex->saved->req.requestLine.len,
		    ex->saved->req.requestLine.ptr,
		    Tcl_GetString(Tcl_GetObjResult(interp)));
	    Tcl_BackgroundException(interp, TCL_ERROR);
	    Tcl_ResetResult(interp);
	    Tcl_DStringAppend(&fields, Tcl_DStringValue(&original),
		    Tcl_DStringLength(&original));	/* As it was made. */
	} else {
	    Tcl_DStringAppend(&fields, Tcl_DStringValue(&checked.fields),
		    Tcl_DStringLength(&checked.fields));
	}
	FreeResponse(&checked);
    }
    Tcl_DStringAppend(&fields, Tcl_DStringValue(&framing),
	    Tcl_DStringLength(&framing));
    Tcl_DStringInit(&newHead);
    DmReplyBuildHead(srv, status, Tcl_DStringValue(&fields),
	    (size_t) Tcl_DStringLength(&fields), 0, DM_FRAME_NONE, 0,
	    DM_CONN_HDR_NONE, &newHead);
    result = DmConnQueue(conn, req, status, Tcl_DStringValue(&newHead),
	    (size_t) Tcl_DStringLength(&newHead), bodyCopy, bodyLen, fileFd,
	    fileOff, fileLen);
    Tcl_DStringFree(&newHead);
    Tcl_DStringFree(&framing);
    Tcl_DStringFree(&fields);
    Tcl_DStringFree(&original);
    Tcl_DecrRefCount(response);
    free(bodyCopy);
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeFilters --
 *
 *	Whether a reply on the connection is still to pass the
 *	after-filters (DmConnQueue asks).
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
DmExchangeFilters(
    const DmConn *conn)
{
    return conn->ex != NULL && conn->ex->after != NULL
	    && !conn->ex->filtering && conn->ex->conn == conn;
}

/*
 *----------------------------------------------------------------------
 *
 * DmOpenFileObj --
 *
 *	Opens the file a handler's response names (any path the program
 *	chose, as "open" would) for sending.
 *
 * Results:
 *	A descriptor of a regular file with *infoPtr filled, or -1 with
 *	*statusPtr set: 404, 403, or 500.
 *
 * Side effects:
 *	Opens a descriptor.
 *
 *----------------------------------------------------------------------
 */

int
DmOpenFileObj(
    Tcl_Obj *pathObj,
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    const void *native = Tcl_FSGetNativePath(pathObj);
    int fd;

    if (native == NULL) {
	*statusPtr = 404;
	return -1;
    }
    fd = DmFileOpenPath(native, infoPtr, statusPtr);
    if (fd >= 0 && infoPtr->kind != DM_FILE_REGULAR) {
	DmFileClose(fd);
	*statusPtr = 403;
	return -1;
    }
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmExchangeAddFile --
 *
 *	Has a file removed when the exchange of a request id ends.
 *
 * Results:
 *	1, or 0 if no exchange of that id is running (the caller keeps the
 *	file).
 *
 * Side effects:
 *	Records the path.
 *
 *----------------------------------------------------------------------
 */

int
DmExchangeAddFile(
    Tcl_WideInt id,
    Tcl_Obj *path)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&GetThreadData()->exchanges,
	    (char *) (intptr_t) id);
    DmExchange *ex;

    if (hPtr == NULL) {
	return 0;
    }
    ex = Tcl_GetHashValue(hPtr);
    if (ex->files == NULL) {
	ex->files = Tcl_NewObj();
	Tcl_IncrRefCount(ex->files);
    }
    Tcl_ListObjAppendElement(NULL, ex->files, path);
    return 1;
}
