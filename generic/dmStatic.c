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
    char *path,			/* DM_PATH_MAX bytes long. */
    size_t *pathLenPtr,
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    size_t pathLen = *pathLenPtr;
    Tcl_Size i, n;
    Tcl_Obj **names;
    int fd = DmFileOpenBeneath(srv->rootFd, srv->realRoot, path,
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
	fd = DmFileOpenBeneath(srv->rootFd, srv->realRoot, path,
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
 * ReplyFile --
 *
 *	Sends a 200 reply for a file: its bytes in memory (data), or an open
 *	descriptor to send from, or neither for HEAD.
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
    const char *lastModifiedText)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD);
    char *head = srv->scratch + DM_READ_ROOM;
    DmReply reply;
    size_t headLen;

    memset(&reply, 0, sizeof(reply));
    reply.status = 200;
    reply.contentLength = infoPtr->size;
    reply.lastModified = infoPtr->mtime;
    reply.lastModifiedText = lastModifiedText;
    reply.contentType = DmMimeHeader(path, pathLen, &reply.contentTypeLen);
    reply.connection = DmConnHeader(conn, req->keepAlive, req->versionMinor,
	    0);
    headLen = DmReplyHead(srv, &reply, head, DM_HEAD_ROOM);
    if (headOnly) {
	if (fd >= 0) {
	    DmFileClose(fd);
	}
	return DmConnQueue(conn, req, 200, head, headLen, NULL, 0, -1, 0, 0);
    }
    if (data != NULL) {
	return DmConnQueue(conn, req, 200, head, headLen, data,
		(size_t) infoPtr->size, -1, 0, 0);
    }
    conn->filePath = strdup(path);
    return DmConnQueue(conn, req, 200, head, headLen, NULL, 0, fd, 0,
	    infoPtr->size);
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
    int headOnly = (req->method == DM_METHOD_HEAD);
    int status, fd;
    DmFileInfo info;
    const DmCacheEntry *entry;
    const char *data;

    if (req->method != DM_METHOD_GET && !headOnly) {
	return (req->method == DM_METHOD_OTHER)
		? DmConnError(conn, 501, 0, req, NULL, NULL, 0)
		: DmConnError(conn, 405, 0, req, "Allow", "GET, HEAD", 9);
    }
    if (path[pathLen - 1] != '/' && (entry = DmCacheGet(srv->cache,
	    srv->rootFd, path, conn->inputSeq, &data, &info)) != NULL) {
	return ReplyFile(conn, req, path, pathLen, &info, -1, data,
		DmCacheLastModified(entry));
    }
    fd = OpenTarget(srv, path, &pathLen, &info, &status);
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
	DmCacheTicket ticket = DmCacheWatch(srv->cache, srv->rootFd, path,
		fd, &info);
	long n = DmFileRead(fd, body, (size_t) info.size, 0);

	DmFileClose(fd);
	DmCachePut(srv->cache, path, &info, body, n, ticket);
	if (n < 0) {
	    return DmConnError(conn, 500, 0, req, NULL, NULL, 0);
	}
	info.size = (uint64_t) n;
	return ReplyFile(conn, req, path, pathLen, &info, -1, body, NULL);
    }
    return ReplyFile(conn, req, path, pathLen, &info, fd, NULL, NULL);
}
