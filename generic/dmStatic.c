/*
 * dmStatic.c --
 *
 *	The static-file handler: the default handler behind every route,
 *	and the whole server when there are none.  It maps a normalised path
 *	to a regular file below the document root (or a directory's index
 *	file), answers from the small-file cache when that holds the current
 *	version, and otherwise sends the file: a small one read whole and
 *	sent with its head in one write, a larger one by sendfile.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_BYTES	(8 << 20) /* File bytes each root may cache. */

/*
 *----------------------------------------------------------------------
 *
 * Redirect --
 *
 *	Answers "/dir" with 301 to "/dir/", keeping the query.  The
 *	Location is made from the normalised path, percent-encoded, never
 *	from the target as sent: it always starts with a single '/', so it
 *	can only name a path on this server (a target such as
 *	"//evil.example/..%2fdir" would otherwise become a link to another
 *	host).
 *
 * Results:
 *	As DmConnError.
 *
 * Side effects:
 *	As DmConnError.
 *
 *----------------------------------------------------------------------
 */

static int
Redirect(
    DmConn *conn,
    const DmRequest *req,
    const char *path,		/* The normalised path. */
    size_t pathLen)
{
    const char *t = req->target.ptr, *end = t + req->target.len;
    const char *q = memchr(t, '?', req->target.len);
    const char *hash = memchr(t, '#', req->target.len);
    size_t qLen = 0, len;
    char *loc;
    int r;

    if (q != NULL && (hash == NULL || q < hash)) {
	qLen = (size_t) ((hash != NULL ? hash : end) - q);
    }
    loc = malloc(3 * pathLen + 1 + qLen);
    if (loc == NULL) {
	DmConnDestroy(conn);
	return -1;
    }
    len = DmEncodePath(path, pathLen, loc);
    loc[len++] = '/';
    if (qLen > 0) {
	memcpy(loc + len, q, qLen);
	len += qLen;
    }
    r = DmConnError(conn, 301, req->method == DM_METHOD_HEAD, req,
	    "Location", loc, len);
    free(loc);
    return r;
}

/*
 *----------------------------------------------------------------------
 *
 * OpenTarget --
 *
 *	Opens the regular file a normalised path names: the path itself, or
 *	for "/dir/" the first of the -default names that exists there.
 *
 * Results:
 *	A descriptor with *infoPtr filled, or -1 with *statusPtr set: 301
 *	for a directory named without its final slash, else the error.
 *
 * Side effects:
 *	Appends the index name to path and *pathLenPtr when one is used.
 *
 *----------------------------------------------------------------------
 */

static int
OpenTarget(
    DmServer *srv,
    const DmRoot *root,
    char *path,			/* DM_PATH_MAX bytes long. */
    size_t *pathLenPtr,
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    size_t pathLen = *pathLenPtr;
    Tcl_Size i, n;
    Tcl_Obj **names;
    int fd = DmFileOpenBeneath(root->fd, root->real, path,
	    srv->config.followSymlinks, infoPtr, statusPtr);

    if (fd < 0 || infoPtr->kind == DM_FILE_REGULAR) {
	return fd;
    }
    DmFileClose(fd);
    if (infoPtr->kind != DM_FILE_DIRECTORY) {
	*statusPtr = 403;		/* A FIFO, a device... */
	return -1;
    }
    if (path[pathLen - 1] != '/') {
	*statusPtr = 301;
	return -1;
    }
    *statusPtr = 404;
    Tcl_ListObjGetElements(NULL, srv->config.defaults, &n, &names);
    for (i = 0; i < n; i++) {
	Tcl_Size nameLen;
	const char *name = Tcl_GetStringFromObj(names[i], &nameLen);

	if ((size_t) nameLen >= DM_PATH_MAX - pathLen) {
	    continue;
	}
	memcpy(path + pathLen, name, (size_t) nameLen + 1);
	fd = DmFileOpenBeneath(root->fd, root->real, path,
		srv->config.followSymlinks, infoPtr, statusPtr);
	if (fd >= 0 && infoPtr->kind == DM_FILE_REGULAR) {
	    *pathLenPtr = pathLen + (size_t) nameLen;
	    return fd;
	}
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	*statusPtr = 404;
    }
    path[pathLen] = '\0';
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * Multipart --
 *
 *	The body of a reply to several ranges: a multipart/byteranges
 *	message (RFC 9110 14.6) of the file's bytes in those ranges, read
 *	from data or from fd.
 *
 * Results:
 *	The body (malloc'ed) with *lenPtr its length, or NULL if it would
 *	be larger than DM_MULTIRANGE_MAX or could not be read (the caller
 *	sends the whole file then).
 *
 * Side effects:
 *	Reads the file.
 *
 *----------------------------------------------------------------------
 */

static char *
Multipart(
    const DmFileInfo *infoPtr,
    int fd,
    const char *data,
    const DmByteRange *ranges,
    int n,
    const char *type,		/* "Content-Type: ...\r\n". */
    size_t typeLen,
    const char *boundary,
    size_t *lenPtr)
{
    size_t boundaryLen = strlen(boundary), total = 0, len = 0;
    char *body;
    int i;

    for (i = 0; i < n; i++) {
	total += (size_t) (ranges[i].last - ranges[i].first + 1)
		+ boundaryLen + typeLen + 96;
    }
    if (total + boundaryLen + 8 > DM_MULTIRANGE_MAX
	    || (body = malloc(total + boundaryLen + 8)) == NULL) {
	return NULL;
    }
    for (i = 0; i < n; i++) {
	uint64_t count = ranges[i].last - ranges[i].first + 1;

	len += (size_t) sprintf(body + len, "%s--%s\r\n%.*sContent-Range:"
		" bytes %llu-%llu/%llu\r\n\r\n", i ? "\r\n" : "", boundary,
		(int) typeLen, type, (unsigned long long) ranges[i].first,
		(unsigned long long) ranges[i].last,
		(unsigned long long) infoPtr->size);
	if (data != NULL) {
	    memcpy(body + len, data + ranges[i].first, (size_t) count);
	} else if (DmFileRead(fd, body + len, (size_t) count,
		ranges[i].first) != (long) count) {
	    free(body);
	    return NULL;
	}
	len += (size_t) count;
    }
    len += (size_t) sprintf(body + len, "\r\n--%s--\r\n", boundary);
    *lenPtr = len;
    return body;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyFile --
 *
 *	Answers a GET or HEAD for a file: its bytes are in memory (data),
 *	or in an open descriptor.  The preconditions come first (304, 412),
 *	then a Range (206, 416), else the whole file (200).  Every reply
 *	carries the file's validators, Last-Modified and ETag.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply; takes fd over.
 *
 *----------------------------------------------------------------------
 */

static int
ReplyFile(
    DmConn *conn,
    const DmRequest *req,
    const char *path,
    size_t pathLen,
    const DmFileInfo *infoPtr,
    int fd,
    const char *data,
    const char *lastModifiedText,	/* NULL: formatted here. */
    const char *etag,			/* NULL: formatted here. */
    size_t etagLen)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD), status = 200, r;
    char *head = srv->scratch + DM_READ_ROOM;
    char etagBuf[DM_ETAG_MAX], rangeText[80];
    uint64_t offset = 0, length = infoPtr->size;
    char *multipart = NULL;
    DmReply reply;
    size_t headLen, bodyLen = 0;

    if (etag == NULL) {
	etagLen = DmFormatETag(infoPtr->mtimeNs, infoPtr->size, infoPtr->ino,
		etagBuf);
	etag = etagBuf;
    }
    memset(&reply, 0, sizeof(reply));
    reply.lastModified = infoPtr->mtime;
    reply.lastModifiedText = lastModifiedText;
    reply.etag = etag;
    reply.etagLen = etagLen;
    reply.contentType = DmMimeHeader(path, pathLen, &reply.contentTypeLen);
    reply.connection = DmConnHeader(conn, req->keepAlive, req->versionMinor,
	    0);

    /*
     * Conditional and range requests (checked only when the request has
     * one of the fields, so a plain GET costs nothing here).
     */

    if (req->ifMatch.ptr != NULL || req->ifNoneMatch.ptr != NULL
	    || req->ifModifiedSince.ptr != NULL
	    || req->ifUnmodifiedSince.ptr != NULL || req->range.ptr != NULL) {
	DmValidator v;
	DmByteRange ranges[DM_MAX_RANGES];
	int n;

	DmReplyClock(srv);
	v.etag = etag;
	v.etagLen = etagLen;
	v.mtime = infoPtr->mtime;
	status = DmPreconditions(req, 1, &v, srv->dateSecond);
	if (status == 412) {
	    if (fd >= 0) {
		DmFileClose(fd);
	    }
	    return DmConnError(conn, 412, headOnly, req, NULL, NULL, 0);
	}
	if (status == 0 && req->range.ptr != NULL
		&& req->method == DM_METHOD_GET
		&& DmIfRangeHolds(req->ifRange, &v, srv->dateSecond)) {
	    switch (DmParseRange(req->range.ptr, req->range.len,
		    infoPtr->size, srv->config.maxRanges, ranges, &n)) {
	    case DM_RANGE_UNSATISFIABLE:
		if (fd >= 0) {
		    DmFileClose(fd);
		}
		r = snprintf(rangeText, sizeof(rangeText), "bytes */%llu",
			(unsigned long long) infoPtr->size);
		return DmConnError(conn, 416, 0, req, "Content-Range",
			rangeText, (size_t) r);
	    case DM_RANGE_PARTIAL:
		if (n == 1) {
		    status = 206;
		    offset = ranges[0].first;
		    length = ranges[0].last - ranges[0].first + 1;
		    r = snprintf(rangeText, sizeof(rangeText),
			    "bytes %llu-%llu/%llu",
			    (unsigned long long) ranges[0].first,
			    (unsigned long long) ranges[0].last,
			    (unsigned long long) infoPtr->size);
		    reply.extraName = "Content-Range";
		    reply.extraValue = rangeText;
		    reply.extraValueLen = (size_t) r;
		} else {
		    char boundary[40];

		    snprintf(boundary, sizeof(boundary), "dm%016llx%08x",
			    (unsigned long long) DmNowUs(),
			    (unsigned) ++srv->boundaries);
		    multipart = Multipart(infoPtr, fd, data, ranges, n,
			    reply.contentType, reply.contentTypeLen, boundary,
			    &bodyLen);
		    if (multipart != NULL) {
			status = 206;
			r = snprintf(rangeText, sizeof(rangeText),
				"Content-Type: multipart/byteranges;"
				" boundary=%s\r\n", boundary);
			reply.contentType = rangeText;
			reply.contentTypeLen = (size_t) r;
			length = bodyLen;
		    }
		}
		break;
	    }
	}
	if (status == 0) {
	    status = 200;		/* No precondition applied. */
	}
    }
    reply.status = status;
    reply.contentLength = length;
    headLen = DmReplyHead(srv, &reply, head, DM_HEAD_ROOM);
    if (headOnly || status == 304 || multipart != NULL) {
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	r = DmConnQueue(conn, req, status, head, headLen, headOnly ? NULL
		: multipart, headOnly ? 0 : bodyLen, -1, 0, 0);
	free(multipart);
	return r;
    }
    if (data != NULL) {
	return DmConnQueue(conn, req, status, head, headLen, data + offset,
		(size_t) length, -1, 0, 0);
    }
    conn->filePath = strdup(path);
    return DmConnQueue(conn, req, status, head, headLen, NULL, 0, fd, offset,
	    length);
}

/*
 *----------------------------------------------------------------------
 *
 * DmStaticHandle --
 *
 *	Answers one request from the files below the root: GET and HEAD
 *	get the file the normalised path names (from the cache when it
 *	holds the current version), or the right status; another method
 *	the server knows gets 405 with Allow, an unknown one 501.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Opens files, fills the cache, sends the reply.
 *
 *----------------------------------------------------------------------
 */

int
DmStaticHandle(
    DmConn *conn,
    const DmRequest *req,
    char *path,			/* The normalised path, in a buffer of
				 * DM_PATH_MAX bytes. */
    size_t pathLen)
{
    DmServer *srv = conn->srv;
    const DmRoot *root = DmRootFor(srv, req);
    int headOnly = (req->method == DM_METHOD_HEAD);
    int status, fd;
    DmFileInfo info;
    const DmCacheEntry *entry;
    const char *data;
    size_t etagLen;

    if (req->method != DM_METHOD_GET && !headOnly) {
	return (req->method == DM_METHOD_OTHER)
		? DmConnError(conn, 501, 0, req, NULL, NULL, 0)
		: DmConnError(conn, 405, 0, req, "Allow", "GET, HEAD", 9);
    }
    if (!srv->config.dotfiles && DmPathHidden(path, pathLen)) {
	return DmConnError(conn, 404, headOnly, req, NULL, NULL, 0);
    }
    if (path[pathLen - 1] != '/' && (entry = DmCacheGet(root->cache,
	    root->fd, path, conn->inputSeq, &data, &info)) != NULL) {
	const char *etag = DmCacheETag(entry, &etagLen);

	return ReplyFile(conn, req, path, pathLen, &info, -1, data,
		DmCacheLastModified(entry), etag, etagLen);
    }
    fd = OpenTarget(srv, root, path, &pathLen, &info, &status);
    if (fd < 0) {
	return (status == 301) ? Redirect(conn, req, path, pathLen)
		: DmConnError(conn, status, headOnly, req, NULL, NULL, 0);
    }

    /*
     * A small file is read whole (watched for changes first), kept in
     * the cache if it was read whole, and sent with its head in one
     * write; the head tells the length actually read even if the file
     * changed since fstat.
     */

    if (!headOnly && info.size <= DM_SMALL_FILE) {
	char *body = srv->scratch + DM_READ_ROOM + DM_HEAD_ROOM;
	DmCacheTicket ticket = DmCacheWatch(root->cache, root->fd, path,
		fd, &info);
	long n = DmFileRead(fd, body, (size_t) info.size, 0);

	DmFileClose(fd);
	DmCachePut(root->cache, path, &info, body, n, ticket);
	if (n < 0) {
	    return DmConnError(conn, 500, 0, req, NULL, NULL, 0);
	}
	info.size = (uint64_t) n;
	return ReplyFile(conn, req, path, pathLen, &info, -1, body, NULL,
		NULL, 0);
    }
    return ReplyFile(conn, req, path, pathLen, &info, fd, NULL, NULL, NULL,
	    0);
}

/*
 *----------------------------------------------------------------------
 *
 * DmStaticErrorPage --
 *
 *	Opens the page -errorpages names for a status, below the root the
 *	request was for, with the rules every static file has.
 *
 * Results:
 *	A descriptor of a regular file, with *infoPtr filled and *typePtr
 *	the "Content-Type: ...\r\n" line of its name; -1 if none is set or
 *	it cannot be opened (the built-in page is sent then).
 *
 * Side effects:
 *	Opens a file.
 *
 *----------------------------------------------------------------------
 */

int
DmStaticErrorPage(
    DmServer *srv,
    const DmRequest *req,
    int status,
    DmFileInfo *infoPtr,
    const char **typePtr,
    size_t *typeLenPtr)
{
    const DmRoot *root = DmRootFor(srv, req);
    Tcl_Obj *page = srv->errorPages[status - 400];
    Tcl_Size len;
    const char *path;
    int fd, st;

    if (page == NULL || root->fd < 0) {
	return -1;
    }
    path = Tcl_GetStringFromObj(page, &len);
    fd = DmFileOpenBeneath(root->fd, root->real, path,
	    srv->config.followSymlinks, infoPtr, &st);
    if (fd >= 0 && infoPtr->kind != DM_FILE_REGULAR) {
	DmFileClose(fd);
	fd = -1;
    }
    if (fd >= 0) {
	*typePtr = DmMimeHeader(path, (size_t) len, typeLenPtr);
    }
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmRootFor --
 *
 *	The root a request is served from: the one of -vhosts whose name is
 *	the host in its Host field (without a port, in any case), else
 *	-root.
 *
 * Results:
 *	The root.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const DmRoot *
DmRootFor(
    const DmServer *srv,
    const DmRequest *req)
{
    const char *h = req ? req->host.ptr : NULL, *end;
    size_t len;
    int i;

    if (srv->numVhosts == 0 || h == NULL) {
	return &srv->root;
    }
    end = h + req->host.len;
    if (*h == '[') {
	const char *close = memchr(h, ']', req->host.len);

	len = close ? (size_t) (close + 1 - h) : req->host.len;
    } else {
	const char *colon = memchr(h, ':', req->host.len);

	len = (size_t) ((colon ? colon : end) - h);
    }
    for (i = 0; i < srv->numVhosts; i++) {
	const DmRoot *r = &srv->vhosts[i];

	if (r->hostLen == len && strncasecmp(r->host, h, len) == 0) {
	    return r;
	}
    }
    return &srv->root;
}

/*
 *----------------------------------------------------------------------
 *
 * DmRootOpen, DmRootClose --
 *
 *	Open a document root (its directory, its canonical path, a cache of
 *	its own), or close one.
 *
 * Results:
 *	A standard Tcl result: an error ({DUSTMOTE ROOT path posix-code})
 *	if the directory cannot be opened, and the root untouched.
 *
 * Side effects:
 *	Opens or closes a descriptor; allocates or frees the cache.
 *
 *----------------------------------------------------------------------
 */

int
DmRootOpen(
    Tcl_Interp *interp,
    DmRoot *root,
    Tcl_Obj *path,
    const char *host,		/* A vhost's name, or NULL. */
    size_t hostLen)
{
    Tcl_DString ds;
    DmRoot r;

    memset(&r, 0, sizeof(r));
    Tcl_UtfToExternalDString(NULL, Tcl_GetString(path), TCL_INDEX_NONE,
	    &ds);
    r.fd = DmFileOpenRoot(Tcl_DStringValue(&ds), &r.real);
    Tcl_DStringFree(&ds);
    if (r.fd < 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("cannot serve \"%s\": %s",
		Tcl_GetString(path), Tcl_PosixError(interp)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "ROOT", Tcl_GetString(path),
		Tcl_ErrnoId(), NULL);
	return TCL_ERROR;
    }
    r.cache = DmCacheCreate(CACHE_BYTES);
    if (r.cache == NULL || (host != NULL
	    && (r.host = malloc(hostLen + 1)) == NULL)) {
	DmRootClose(&r);
	Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	return TCL_ERROR;
    }
    if (host != NULL) {
	size_t i;

	for (i = 0; i < hostLen; i++) {
	    char c = host[i];

	    r.host[i] = (c >= 'A' && c <= 'Z') ? (char) (c + 32) : c;
	}
	r.host[hostLen] = '\0';
	r.hostLen = hostLen;
    }
    r.path = path;
    Tcl_IncrRefCount(path);
    *root = r;
    return TCL_OK;
}

void
DmRootClose(
    DmRoot *root)
{
    if (root->fd >= 0) {
	DmFileClose(root->fd);
    }
    free(root->real);
    free(root->host);
    if (root->cache != NULL) {
	DmCacheDelete(root->cache);
    }
    if (root->path != NULL) {
	Tcl_DecrRefCount(root->path);
    }
    memset(root, 0, sizeof(*root));
    root->fd = -1;
}
