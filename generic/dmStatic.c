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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_BYTES	(8 << 20) /* File bytes each root may cache. */
#define DM_COMPRESS_MIN	256	/* Smaller files are sent as they are. */

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
    r = DmConnError(conn, 301, req, "Location", loc, len);
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
 * What ReplyFile sends: the bytes of one file (the one asked for, a
 * precompressed variant of it, or its compressed copy), with the fields
 * that describe them.
 */

typedef struct FileReply {
    const char *path;		/* What was opened, for messages. */
    const char *type;		/* "Content-Type: ...\r\n" of the name
				 * asked for, typeLen bytes. */
    size_t typeLen;
    DmFileInfo info;		/* Of the bytes sent (size: their count). */
    int fd;			/* Open file, or -1 when data holds them. */
    const char *data;
    const char *lastModifiedText; /* NULL: formatted from info. */
    const char *etag;		/* NULL: formatted from info. */
    size_t etagLen;
    int encoding;		/* DM_ENC_*. */
    int vary;			/* The reply depends on Accept-Encoding. */
    char etagBuf[DM_ETAG_MAX];	/* Room for a tag made here. */
} FileReply;

/*
 *----------------------------------------------------------------------
 *
 * ReplyFile --
 *
 *	Answers a GET or HEAD for a file.  The preconditions come first
 *	(304, 412), then a Range (206, 416), else the whole file (200).
 *	Every reply carries the file's validators, Last-Modified and ETag.
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Sends the reply; takes f->fd over.
 *
 *----------------------------------------------------------------------
 */

static int
ReplyFile(
    DmConn *conn,
    const DmRequest *req,
    FileReply *f)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD), status = 200, r;
    int fd = f->fd;
    const DmFileInfo *infoPtr = &f->info;
    char *head = srv->scratch + DM_READ_ROOM;
    char rangeText[80];
    uint64_t offset = 0, length = infoPtr->size;
    char *multipart = NULL;
    DmReply reply;
    size_t headLen, bodyLen = 0;

    if (f->etag == NULL) {
	f->etagLen = DmETagVariant(f->etagBuf, DmFormatETag(infoPtr->mtimeNs,
		infoPtr->size, infoPtr->ino, infoPtr->dev, f->etagBuf),
		f->encoding,
		f->etagBuf);
	f->etag = f->etagBuf;
    }
    memset(&reply, 0, sizeof(reply));
    reply.lastModified = infoPtr->mtime;
    reply.lastModifiedText = f->lastModifiedText;
    reply.etag = f->etag;
    reply.etagLen = f->etagLen;
    reply.encoding = f->encoding;
    reply.vary = f->vary;
    reply.contentType = f->type;
    reply.contentTypeLen = f->typeLen;
    reply.connection = DmConnHeader(conn, req->keepAlive, req->versionMinor,
	    0);

    /*
     * Conditional and range requests (checked only when the request has
     * one of the fields, so a plain GET costs nothing here).
     */

    if (req->ifMatch.count != 0 || req->ifNoneMatch.count != 0
	    || req->ifModifiedSince.ptr != NULL
	    || req->ifUnmodifiedSince.ptr != NULL || req->range.ptr != NULL) {
	DmValidator v;
	DmByteRange ranges[DM_MAX_RANGES];
	int n;
	size_t textLen;

	v.etag = f->etag;
	v.etagLen = f->etagLen;
	v.mtime = infoPtr->mtime;
	status = DmFileDecide(srv, req, &v, infoPtr->size, ranges, &n,
		rangeText, &textLen);
	if (status == 412 || status == 416) {
	    if (fd >= 0) {
		DmFileClose(fd);
	    }
	    return (status == 412)
		    ? DmConnError(conn, 412, req, NULL, NULL, 0)
		    : DmConnError(conn, 416, req, "Content-Range",
			    rangeText, textLen);
	}
	if (status == 206 && n == 1) {
	    offset = ranges[0].first;
	    length = ranges[0].last - ranges[0].first + 1;
	    reply.extraName = "Content-Range";
	    reply.extraValue = rangeText;
	    reply.extraValueLen = textLen;
	} else if (status == 206) {
	    char boundary[40];

	    snprintf(boundary, sizeof(boundary), "dm%016llx%08x",
		    (unsigned long long) DmNowUs(),
		    (unsigned) ++srv->boundaries);
	    multipart = Multipart(infoPtr, fd, f->data, ranges, n,
		    reply.contentType, reply.contentTypeLen, boundary,
		    &bodyLen);
	    status = 200;		/* Unless the body could be made. */
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
    if (f->data != NULL) {
	return DmConnQueue(conn, req, status, head, headLen, f->data + offset,
		(size_t) length, -1, 0, 0);
    }
    conn->filePath = strdup(f->path);
    return DmConnQueue(conn, req, status, head, headLen, NULL, 0, fd, offset,
	    length);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileDecide --
 *
 *	What a GET or HEAD of a file gets, by its validators and the
 *	request's preconditions and Range: RFC 9110's order, a Range for
 *	GET only, and only if If-Range holds.  Used for static files and
 *	for the files handlers answer with.
 *
 * Results:
 *	200; 304; 412; 416 with text "bytes *\/SIZE"; or 206 with the ranges
 *	in ranges[0..*nPtr) and, for one, text "bytes FIRST-LAST/SIZE".
 *	*textLenPtr is text's length (0 when there is none).
 *
 * Side effects:
 *	Writes text (80 bytes).
 *
 *----------------------------------------------------------------------
 */

int
DmFileDecide(
    DmServer *srv,
    const DmRequest *req,
    const DmValidator *v,
    uint64_t size,
    DmByteRange *ranges,	/* DM_MAX_RANGES of them. */
    int *nPtr,
    char *text,
    size_t *textLenPtr)
{
    int status;

    *nPtr = 0;
    *textLenPtr = 0;
    DmReplyClock(srv);
    status = DmPreconditions(req, req->method == DM_METHOD_GET
	    || req->method == DM_METHOD_HEAD, v, srv->dateSecond);
    if (status != 0) {
	return status;
    }
    if (req->range.ptr == NULL || req->method != DM_METHOD_GET
	    || !DmIfRangeHolds(req->ifRange, v, srv->dateSecond)) {
	return 200;
    }
    switch (DmParseRange(req->range.ptr, req->range.len, size,
	    srv->config.maxRanges, ranges, nPtr)) {
    case DM_RANGE_UNSATISFIABLE:
	*textLenPtr = (size_t) snprintf(text, 80, "bytes */%llu",
		(unsigned long long) size);
	return 416;
    case DM_RANGE_PARTIAL:
	if (*nPtr == 1) {
	    *textLenPtr = (size_t) snprintf(text, 80, "bytes %llu-%llu/%llu",
		    (unsigned long long) ranges[0].first,
		    (unsigned long long) ranges[0].last,
		    (unsigned long long) size);
	}
	return 206;
    }
    return 200;
}

/*
 *----------------------------------------------------------------------
 *
 * FromCache --
 *
 *	Takes a file's bytes and validators from its cache entry (f->info
 *	is filled by DmCacheGet).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills f.
 *
 *----------------------------------------------------------------------
 */

static void
FromCache(
    FileReply *f,
    const DmCacheEntry *entry,
    const char *data)
{
    f->fd = -1;
    f->data = data;
    f->lastModifiedText = DmCacheLastModified(entry);
    f->etag = DmCacheETag(entry, &f->etagLen);
}

/*
 *----------------------------------------------------------------------
 *
 * ReadSmall --
 *
 *	Reads an open file whole into buf, closes it and offers it to the
 *	cache, watched for changes first so a write racing the read is
 *	seen.  The size becomes what was read, even if the file changed
 *	since fstat.
 *
 * Results:
 *	The cache entry, or NULL if the file was not kept (or could not be
 *	read: f->data is NULL then).
 *
 * Side effects:
 *	Closes f->fd; f then holds the bytes.
 *
 *----------------------------------------------------------------------
 */

static DmCacheEntry *
ReadSmall(
    const DmRoot *root,
    FileReply *f,
    char *buf)
{
    DmCacheTicket ticket = DmCacheWatch(root->cache, root->fd, f->path,
	    f->fd, &f->info);
    long n = DmFileRead(f->fd, buf, (size_t) f->info.size, 0);
    DmCacheEntry *entry;

    DmFileClose(f->fd);
    f->fd = -1;
    entry = DmCachePut(root->cache, f->path, &f->info, buf, n, ticket);
    f->data = (n < 0) ? NULL : buf;
    f->info.size = (n < 0) ? 0 : (uint64_t) n;
    return entry;
}

/*
 *----------------------------------------------------------------------
 *
 * Precompressed --
 *
 *	Looks for NAME.br or NAME.gz beside the file, in the order the
 *	request's Accept-Encoding prefers, and takes the first that is a
 *	regular file under the same rules and not older than the file.
 *
 * Results:
 *	1 if f now describes a variant (its path in vpath), else 0.
 *
 * Side effects:
 *	Opens the variant or takes it from the cache; closes the file f held
 *	when a variant replaces it.
 *
 *----------------------------------------------------------------------
 */

static int
Precompressed(
    DmConn *conn,
    const DmRequest *req,
    const DmRoot *root,
    FileReply *f,
    char *vpath)		/* DM_PATH_MAX bytes. */
{
    DmServer *srv = conn->srv;
    size_t len = strlen(f->path);
    unsigned left = DM_ENC_BIT(DM_ENC_GZIP) | DM_ENC_BIT(DM_ENC_BR);
    int enc, status;

    if (len + 4 > DM_PATH_MAX) {
	return 0;
    }
    while ((enc = DmChooseEncoding(&req->acceptEncoding, left))
	    != DM_ENC_IDENTITY) {
	DmCacheEntry *entry;
	const char *data;
	DmFileInfo info;
	int fd = -1;

	left &= ~DM_ENC_BIT(enc);
	memcpy(vpath, f->path, len);
	strcpy(vpath + len, enc == DM_ENC_GZIP ? ".gz" : ".br");
	entry = DmCacheGet(root->cache, root->fd, vpath, conn->inputSeq,
		&data, &info);
	if (entry == NULL) {
	    fd = DmFileOpenBeneath(root->fd, root->real, vpath,
		    srv->config.followSymlinks, &info, &status);
	    if (fd < 0) {
		continue;
	    }
	}
	if (info.kind != DM_FILE_REGULAR || info.mtimeNs < f->info.mtimeNs) {
	    if (fd >= 0) {
		DmFileClose(fd);
	    }
	    continue;
	}
	if (f->fd >= 0) {
	    DmFileClose(f->fd);
	}
	f->path = vpath;
	f->encoding = enc;
	f->info = info;
	if (entry != NULL) {
	    FromCache(f, entry, data);
	    f->etag = NULL;		/* The coding's own tag, below. */
	} else {
	    f->fd = fd;
	    f->data = NULL;
	    f->lastModifiedText = NULL;
	    f->etag = NULL;
	}
	return 1;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Compressed --
 *
 *	The file compressed in the coding the request prefers, for
 *	-compress: from its cache entry, or compressed now and kept there.
 *	f must hold the file's bytes.
 *
 * Results:
 *	1 if f now describes the compressed bytes, else 0 (no coding
 *	acceptable, or compression would not make it smaller).
 *
 * Side effects:
 *	May compress the file and keep the result in the cache; *ownedPtr
 *	gets bytes the caller frees after sending.
 *
 *----------------------------------------------------------------------
 */

static int
Compressed(
    const DmRequest *req,
    const DmRoot *root,
    DmCacheEntry *entry,
    FileReply *f,
    char **ownedPtr)
{
    int enc = DmChooseEncoding(&req->acceptEncoding,
	    DmCompressAvailable());
    const char *bytes = NULL;
    size_t len = 0;

    if (enc == DM_ENC_IDENTITY) {
	return 0;
    }
    if (entry != NULL) {
	bytes = DmCacheVariant(entry, enc, &len);
    }
    if (bytes == NULL) {
	char *made = DmCompress(enc, f->data, (size_t) f->info.size, &len);

	if (made == NULL) {
	    return 0;
	}
	if (entry == NULL || !DmCacheAddVariant(root->cache, entry, enc, made,
		len)) {
	    *ownedPtr = made;
	}
	bytes = made;
    }
    if (f->etag == NULL) {
	f->etagLen = DmFormatETag(f->info.mtimeNs, f->info.size, f->info.ino,
		f->info.dev, f->etagBuf);
	f->etag = f->etagBuf;
    }
    f->etagLen = DmETagVariant(f->etag, f->etagLen, enc, f->etagBuf);
    f->etag = f->etagBuf;
    f->data = bytes;
    f->info.size = len;
    f->encoding = enc;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmStaticHandle --
 *
 *	Answers one request from the files below the root: GET and HEAD
 *	get the file the normalised path names (from the cache when it
 *	holds the current version), or a listing of a folder, or the right
 *	status; another method the server knows gets 405 with Allow, an
 *	unknown one 501.  With -precompressed a NAME.br or NAME.gz beside
 *	the file may be sent instead, with -compress the file compressed.
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
    int status, r;
    DmCacheEntry *entry = NULL;
    const char *data;
    char *whole = NULL, *owned = NULL;
    char *buf = srv->scratch + DM_READ_ROOM + DM_HEAD_ROOM;
    char vpath[DM_PATH_MAX];
    FileReply f;

    if (req->method != DM_METHOD_GET && !headOnly) {
	return (req->method == DM_METHOD_OTHER)
		? DmConnError(conn, 501, req, NULL, NULL, 0)
		: DmConnError(conn, 405, req, "Allow", "GET, HEAD", 9);
    }
    if (!srv->config.dotfiles && DmPathHidden(path, pathLen)) {
	return DmConnError(conn, 404, req, NULL, NULL, 0);
    }
    f.path = path;
    f.encoding = DM_ENC_IDENTITY;
    f.vary = 0;
    if (path[pathLen - 1] != '/' && (entry = DmCacheGet(root->cache,
	    root->fd, path, conn->inputSeq, &data, &f.info)) != NULL) {
	FromCache(&f, entry, data);
	f.type = DmCacheType(entry, path, pathLen, &f.typeLen);
    } else {
	f.data = NULL;
	f.lastModifiedText = NULL;
	f.etag = NULL;
	f.fd = OpenTarget(srv, root, path, &pathLen, &f.info, &status);
	if (f.fd < 0) {
	    if (status == 301) {
		return Redirect(conn, req, path, pathLen);
	    }
	    if (status == 404 && srv->config.listings
		    && path[pathLen - 1] == '/') {
		return DmListingReply(conn, req, root, path, pathLen);
	    }
	    return DmConnError(conn, status, req, NULL, NULL, 0);
	}
	f.type = DmMimeHeader(path, pathLen, &f.typeLen);
    }

    /*
     * The coding: a precompressed variant (ranges then apply to its
     * bytes), or the file compressed here (never for a Range request, so
     * a 206 is always of the file itself).
     */

    if (srv->config.precompressed) {
	f.vary = 1;
	if (req->acceptEncoding.count > 0
		&& Precompressed(conn, req, root, &f, vpath)) {
	    entry = NULL;
	}
    }
    if (srv->config.compress && f.encoding == DM_ENC_IDENTITY
	    && DmMimeCompressible(f.type, f.typeLen)
	    && f.info.size >= DM_COMPRESS_MIN
	    && f.info.size <= CACHE_BYTES / 8) {
	f.vary = 1;
	if (req->acceptEncoding.count > 0 && req->range.ptr == NULL) {
	    if (f.fd >= 0) {
		if (f.info.size > DM_SMALL_FILE) {
		    whole = malloc((size_t) f.info.size);
		    if (whole == NULL) {
			DmFileClose(f.fd);
			return DmConnError(conn, 500, req, NULL, NULL, 0);
		    }
		}
		entry = ReadSmall(root, &f, whole ? whole : buf);
		if (f.data == NULL) {
		    free(whole);
		    return DmConnError(conn, 500, req, NULL, NULL, 0);
		}
	    }
	    Compressed(req, root, entry, &f, &owned);
	}
    }

    /*
     * A small file is read whole, kept in the cache if it was read whole,
     * and sent with its head in one write.
     */

    if (f.fd >= 0 && !headOnly && f.info.size <= DM_SMALL_FILE) {
	ReadSmall(root, &f, buf);
	if (f.data == NULL) {
	    return DmConnError(conn, 500, req, NULL, NULL, 0);
	}
    }
    r = ReplyFile(conn, req, &f);
    free(whole);
    free(owned);
    return r;
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
    const void *native = Tcl_FSGetNativePath(path);
    DmRoot r;

    memset(&r, 0, sizeof(r));
    if (native == NULL) {
	Tcl_SetErrno(ENOENT);
	r.fd = -1;
    } else {
	r.fd = DmFileOpenRoot(native, &r.real);
    }
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
