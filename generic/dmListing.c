/*
 * dmListing.c --
 *
 *	Directory listings for -listings: a folder with no index file is
 *	answered with an HTML page of its entries, or with JSON for
 *	"?format=json".  Every entry is opened under the same rules as a
 *	request for it, so a listing shows nothing the server would refuse
 *	to send (a symlink out of the root, a device, a dotfile unless
 *	-listings all), and names that cannot be requested (not UTF-8, or
 *	with control characters) are left out.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct Entry {
    char *name;
    int isDir;
    uint64_t size;
    int64_t mtime;
} Entry;

typedef struct Listing {
    const DmServer *srv;
    const DmRoot *root;
    char *path;			/* The folder's path, then each entry's:
				 * DM_PATH_MAX bytes. */
    size_t pathLen;		/* The folder's part. */
    Entry *entries;
    size_t count, room;
} Listing;

/*
 *----------------------------------------------------------------------
 *
 * AddEntry --
 *
 *	The DmDirNameProc of a listing: keeps a name if the server would
 *	serve what it names.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Opens and closes the entry; grows the entry array.
 *
 *----------------------------------------------------------------------
 */

static void
AddEntry(
    void *clientData,
    const char *name)
{
    Listing *l = clientData;
    size_t len = strlen(name), i;
    DmFileInfo info;
    int fd, status;

    if (len >= DM_PATH_MAX - l->pathLen
	    || (name[0] == '.' && l->srv->config.listings != DM_LISTINGS_ALL)
	    || !DmValidUtf8((const unsigned char *) name, len)) {
	return;
    }
    for (i = 0; i < len; i++) {
	if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f) {
	    return;
	}
    }
    memcpy(l->path + l->pathLen, name, len + 1);
    fd = DmFileOpenBeneath(l->root->fd, l->root->real, l->path,
	    l->srv->config.followSymlinks, &info, &status);
    l->path[l->pathLen] = '\0';
    if (fd < 0) {
	return;
    }
    DmFileClose(fd);
    if (info.kind != DM_FILE_REGULAR && info.kind != DM_FILE_DIRECTORY) {
	return;
    }
    if (l->count == l->room) {
	size_t room = l->room ? 2 * l->room : 64;
	Entry *more = realloc(l->entries, room * sizeof(Entry));

	if (more == NULL) {
	    return;
	}
	l->entries = more;
	l->room = room;
    }
    if ((l->entries[l->count].name = strdup(name)) == NULL) {
	return;
    }
    l->entries[l->count].isDir = (info.kind == DM_FILE_DIRECTORY);
    l->entries[l->count].size = info.size;
    l->entries[l->count].mtime = info.mtime;
    l->count++;
}

/*
 *----------------------------------------------------------------------
 *
 * CompareEntries --
 *
 *	The order of a listing: folders first, then by name (bytewise).
 *
 * Results:
 *	As for qsort.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
CompareEntries(
    const void *a,
    const void *b)
{
    const Entry *x = a, *y = b;

    if (x->isDir != y->isDir) {
	return y->isDir - x->isDir;
    }
    return strcmp(x->name, y->name);
}

/*
 *----------------------------------------------------------------------
 *
 * AppendHtml, AppendJson --
 *
 *	Append text escaped for HTML (element content and quoted attribute
 *	values), or as the inside of a JSON string.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Appends to dsPtr.
 *
 *----------------------------------------------------------------------
 */

static void
AppendHtml(
    Tcl_DString *dsPtr,
    const char *s,
    size_t len)
{
    size_t i, from = 0;

    for (i = 0; i < len; i++) {
	const char *with = (s[i] == '&') ? "&amp;" : (s[i] == '<') ? "&lt;"
		: (s[i] == '>') ? "&gt;" : (s[i] == '"') ? "&quot;"
		: (s[i] == '\'') ? "&#39;" : NULL;

	if (with != NULL) {
	    Tcl_DStringAppend(dsPtr, s + from, (Tcl_Size) (i - from));
	    Tcl_DStringAppend(dsPtr, with, -1);
	    from = i + 1;
	}
    }
    Tcl_DStringAppend(dsPtr, s + from, (Tcl_Size) (len - from));
}

static void
AppendJson(
    Tcl_DString *dsPtr,
    const char *s,
    size_t len)
{
    size_t i, from = 0;

    for (i = 0; i < len; i++) {
	if (s[i] == '"' || s[i] == '\\') {
	    Tcl_DStringAppend(dsPtr, s + from, (Tcl_Size) (i - from));
	    Tcl_DStringAppend(dsPtr, "\\", 1);
	    from = i;
	}
    }
    Tcl_DStringAppend(dsPtr, s + from, (Tcl_Size) (len - from));
}

/*
 *----------------------------------------------------------------------
 *
 * WantsJson --
 *
 *	Whether the request's query has the parameter "format=json".
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
WantsJson(
    const DmRequest *req)
{
    const char *t = req->target.ptr, *end = t + req->target.len;
    const char *p = memchr(t, '?', req->target.len), *hash;

    if (p == NULL) {
	return 0;
    }
    hash = memchr(p, '#', (size_t) (end - p));
    if (hash != NULL) {
	end = hash;
    }
    while (p < end) {
	const char *item = ++p;

	while (p < end && *p != '&') {
	    p++;
	}
	if (p - item == 11 && memcmp(item, "format=json", 11) == 0) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Format --
 *
 *	Writes the listing as an HTML page or a JSON array.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Appends to dsPtr.
 *
 *----------------------------------------------------------------------
 */

static void
Format(
    const Listing *l,
    int json,
    Tcl_DString *dsPtr)
{
    char *enc = malloc(3 * DM_PATH_MAX + 1);
    char date[DM_ISO_DATE_LEN + 1], num[32];
    size_t i, len;

    if (enc == NULL) {
	return;
    }
    if (json) {
	Tcl_DStringAppend(dsPtr, "[", 1);
    } else {
	Tcl_DStringAppend(dsPtr, "<!DOCTYPE html>\n<html><head>"
		"<meta charset=\"utf-8\"><title>Index of ", -1);
	AppendHtml(dsPtr, l->path, l->pathLen);
	Tcl_DStringAppend(dsPtr, "</title></head>\n<body><h1>Index of ", -1);
	AppendHtml(dsPtr, l->path, l->pathLen);
	Tcl_DStringAppend(dsPtr, "</h1>\n<table>\n<tr><th>Name</th>"
		"<th>Size</th><th>Modified</th></tr>\n", -1);
	if (l->pathLen > 1) {
	    Tcl_DStringAppend(dsPtr, "<tr><td><a href=\"../\">../</a></td>"
		    "<td></td><td></td></tr>\n", -1);
	}
    }
    for (i = 0; i < l->count; i++) {
	const Entry *e = &l->entries[i];
	size_t nameLen = strlen(e->name);

	DmFormatIsoDate(e->mtime, date);
	snprintf(num, sizeof(num), "%llu", (unsigned long long) e->size);
	if (json) {
	    Tcl_DStringAppend(dsPtr, i ? ",\n{\"name\":\"" : "\n{\"name\":\"",
		    -1);
	    AppendJson(dsPtr, e->name, nameLen);
	    Tcl_DStringAppend(dsPtr, e->isDir ? "\",\"type\":\"directory\""
		    : "\",\"type\":\"file\",\"size\":", -1);
	    if (!e->isDir) {
		Tcl_DStringAppend(dsPtr, num, -1);
	    }
	    Tcl_DStringAppend(dsPtr, ",\"mtime\":\"", -1);
	    Tcl_DStringAppend(dsPtr, date, -1);
	    Tcl_DStringAppend(dsPtr, "\"}", 2);
	    continue;
	}

	/*
	 * "./" keeps a name with a colon from reading as a scheme.
	 */

	len = DmEncodePath(e->name, nameLen, enc);
	Tcl_DStringAppend(dsPtr, "<tr><td><a href=\"./", -1);
	AppendHtml(dsPtr, enc, len);
	Tcl_DStringAppend(dsPtr, e->isDir ? "/\">" : "\">", -1);
	AppendHtml(dsPtr, e->name, nameLen);
	Tcl_DStringAppend(dsPtr, e->isDir ? "/</a></td><td>-</td><td>"
		: "</a></td><td>", -1);
	if (!e->isDir) {
	    Tcl_DStringAppend(dsPtr, num, -1);
	    Tcl_DStringAppend(dsPtr, "</td><td>", -1);
	}
	Tcl_DStringAppend(dsPtr, date, -1);
	Tcl_DStringAppend(dsPtr, "</td></tr>\n", -1);
    }
    Tcl_DStringAppend(dsPtr, json ? "\n]\n" : "</table></body></html>\n",
	    -1);
    free(enc);
}

/*
 *----------------------------------------------------------------------
 *
 * DmListingReply --
 *
 *	Answers a GET or HEAD for a folder (path ends with '/') that has no
 *	index file, with its listing (or 304 or 412, see DmPreconditions).
 *
 * Results:
 *	0 if the connection is still open, -1 if it was destroyed.
 *
 * Side effects:
 *	Reads the folder and opens each entry; sends the reply.
 *
 *----------------------------------------------------------------------
 */

int
DmListingReply(
    DmConn *conn,
    const DmRequest *req,
    const DmRoot *root,
    char *path,			/* DM_PATH_MAX bytes. */
    size_t pathLen)
{
    DmServer *srv = conn->srv;
    int headOnly = (req->method == DM_METHOD_HEAD), json = WantsJson(req);
    int status, fd, r;
    DmFileInfo info;
    DmValidator none = {NULL, 0, DM_NO_MTIME};
    Listing l;
    Tcl_DString body;
    DmReply reply;
    char *head = srv->scratch + DM_READ_ROOM;
    size_t i, headLen;

    fd = DmFileOpenBeneath(root->fd, root->real, path,
	    srv->config.followSymlinks, &info, &status);
    if (fd >= 0 && info.kind != DM_FILE_DIRECTORY) {
	DmFileClose(fd);
	fd = -1;
	status = 404;
    }
    if (fd < 0) {
	return DmConnError(conn, status, req, NULL, NULL, 0);
    }

    /*
     * A listing has no validators, but it exists: If-Match with tags
     * fails, If-None-Match: * holds (RFC 9110 13.1.1, 13.1.2).
     */

    status = DmPreconditions(req, 1, &none, srv->dateSecond);
    if (status == 412) {
	DmFileClose(fd);
	return DmConnError(conn, 412, req, NULL, NULL, 0);
    }
    Tcl_DStringInit(&body);
    if (status == 304) {
	DmFileClose(fd);		/* A 304 has no body. */
    } else {
	memset(&l, 0, sizeof(l));
	l.srv = srv;
	l.root = root;
	l.path = path;
	l.pathLen = pathLen;
	r = DmFileListDir(fd, AddEntry, &l);
	DmFileClose(fd);
	if (r < 0) {
	    free(l.entries);
	    return DmConnError(conn, 403, req, NULL, NULL, 0);
	}
	if (l.count > 1) {
	    qsort(l.entries, l.count, sizeof(Entry), CompareEntries);
	}
	Format(&l, json, &body);
	for (i = 0; i < l.count; i++) {
	    free(l.entries[i].name);
	}
	free(l.entries);
	status = 200;
    }

    memset(&reply, 0, sizeof(reply));
    reply.status = status;
    reply.lastModified = -1;
    reply.contentType = json ? "Content-Type: application/json\r\n"
	    : DM_HTML_TYPE;
    reply.contentTypeLen = strlen(reply.contentType);
    reply.contentLength = (uint64_t) Tcl_DStringLength(&body);
    reply.connection = DmConnHeader(conn, req->keepAlive, req->versionMinor,
	    0);
    headLen = DmReplyHead(srv, &reply, head, DM_HEAD_ROOM);
    r = DmConnQueue(conn, req, status, head, headLen, headOnly ? NULL
	    : Tcl_DStringValue(&body), headOnly ? 0
	    : (size_t) Tcl_DStringLength(&body), -1, 0, 0);
    Tcl_DStringFree(&body);
    return r;
}
