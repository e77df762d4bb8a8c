/*
 * dmMime.c --
 *
 *	The table from file extensions to Content-Type fields, and the
 *	"dustmote::mimetype" command that reads and extends it.  Built-in
 *	types for the common web formats come first, so a site looks the same
 *	on every machine; /etc/mime.types fills in the rest.  Each entry
 *	keeps the whole header line, ready to copy into a response.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXT 32		/* Longest extension looked up. */
#define MAX_TYPE 200		/* Longest media type accepted. */
#define MIME_TYPES_FILE "/etc/mime.types"

typedef struct MimeEntry {
    size_t typeLen;		/* The media type starts the line... */
    size_t lineLen;		/* ...which is the whole field, with CRLF. */
    char line[1];		/* "Content-Type: TYPE[; charset=utf-8]\r\n" */
} MimeEntry;

typedef struct ThreadData {
    int initialized;
    Tcl_HashTable types;	/* Lower-case extension -> MimeEntry *. */
    unsigned epoch;		/* Changes when an entry is replaced, so
				 * a line kept elsewhere is known stale. */
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static void	MimeExit(void *clientData);

static const char defaultHeader[] =
	"Content-Type: application/octet-stream\r\n";
#define TYPE_OFFSET (sizeof("Content-Type: ") - 1)

static const char *const builtinTypes[] = {
    "html", "text/html",		"htm", "text/html",
    "css", "text/css",			"js", "text/javascript",
    "mjs", "text/javascript",		"txt", "text/plain",
    "md", "text/markdown",		"csv", "text/csv",
    "xml", "text/xml",			"tcl", "text/x-tcl",
    "json", "application/json",		"wasm", "application/wasm",
    "pdf", "application/pdf",		"zip", "application/zip",
    "gz", "application/gzip",		"tar", "application/x-tar",
    "png", "image/png",			"jpg", "image/jpeg",
    "jpeg", "image/jpeg",		"gif", "image/gif",
    "webp", "image/webp",		"avif", "image/avif",
    "svg", "image/svg+xml",		"ico", "image/vnd.microsoft.icon",
    "bmp", "image/bmp",			"woff", "font/woff",
    "woff2", "font/woff2",		"ttf", "font/ttf",
    "otf", "font/otf",			"mp3", "audio/mpeg",
    "ogg", "audio/ogg",			"wav", "audio/wav",
    "mp4", "video/mp4",			"webm", "video/webm",
    "webmanifest", "application/manifest+json",
    "ics", "text/calendar",		"opus", "audio/opus",
    "flac", "audio/flac",		"m4a", "audio/mp4",
    "aac", "audio/aac",			"oga", "audio/ogg",
    "ogv", "video/ogg",			"mov", "video/quicktime",
    "m4v", "video/mp4",			"apng", "image/apng",
    "jxl", "image/jxl",			"tif", "image/tiff",
    "tiff", "image/tiff",		"xhtml", "application/xhtml+xml",
    "rss", "application/rss+xml",	"atom", "application/atom+xml",
    "map", "application/json",		"yaml", "application/yaml",
    "yml", "application/yaml",		"bz2", "application/x-bzip2",
    "xz", "application/x-xz",		"zst", "application/zstd",
    "7z", "application/x-7z-compressed", "epub", "application/epub+zip",
    NULL
};

/*
 *----------------------------------------------------------------------
 *
 * SetType --
 *
 *	Enters or replaces the type of one extension (already lower-case).
 *	Text types get "; charset=utf-8" on the wire.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Allocates the entry; frees the one it replaces.
 *
 *----------------------------------------------------------------------
 */

static void
SetType(
    ThreadData *tsdPtr,
    const char *ext,
    const char *type,
    size_t typeLen,
    int replace)
{
    static const char charset[] = "; charset=utf-8";
    int isNew, isText = (typeLen > 5 && strncmp(type, "text/", 5) == 0);
    Tcl_HashEntry *hPtr = Tcl_CreateHashEntry(&tsdPtr->types, ext, &isNew);
    size_t lineLen = TYPE_OFFSET + typeLen
	    + (isText ? sizeof(charset) - 1 : 0) + 2;
    MimeEntry *e;
    char *p;

    if (!isNew && !replace) {
	return;
    }
    e = (MimeEntry *) Tcl_Alloc(sizeof(MimeEntry) + lineLen);
    e->typeLen = typeLen;
    e->lineLen = lineLen;
    p = e->line;
    memcpy(p, defaultHeader, TYPE_OFFSET);
    p += TYPE_OFFSET;
    memcpy(p, type, typeLen);
    p += typeLen;
    if (isText) {
	memcpy(p, charset, sizeof(charset) - 1);
	p += sizeof(charset) - 1;
    }
    memcpy(p, "\r\n", 3);
    if (!isNew) {
	Tcl_Free(Tcl_GetHashValue(hPtr));
    }
    Tcl_SetHashValue(hPtr, e);
    tsdPtr->epoch++;
}

/*
 *----------------------------------------------------------------------
 *
 * LowerExtension --
 *
 *	Copies an extension in lower case, if it is one we can store.
 *
 * Results:
 *	1 if ext[] holds it, 0 if it is empty, too long or has a byte that
 *	cannot be in an extension.
 *
 * Side effects:
 *	Writes ext[MAX_EXT + 1].
 *
 *----------------------------------------------------------------------
 */

static int
LowerExtension(
    const char *s,
    size_t len,
    char *ext)
{
    size_t i;

    if (len == 0 || len > MAX_EXT) {
	return 0;
    }
    for (i = 0; i < len; i++) {
	unsigned char c = (unsigned char) s[i];

	if (c <= ' ' || c == '/' || c == '.' || c >= 0x7f) {
	    return 0;
	}
	ext[i] = (char) ((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    ext[len] = '\0';
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * ValidType --
 *
 *	A media type is "token/token" (parameters are not ours to add); this
 *	also keeps CR and LF out of the header it becomes.
 *
 * Results:
 *	1 if valid.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
ValidType(
    const char *type,
    size_t len)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    size_t i, slashes = 0;

    if (len == 0 || len > MAX_TYPE || type[0] == '/' || type[len - 1] == '/') {
	return 0;
    }
    for (i = 0; i < len; i++) {
	unsigned char c = (unsigned char) type[i];

	if (c == '/') {
	    slashes++;
	} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		|| (c >= '0' && c <= '9') || (c && strchr(tchar, c)))) {
	    return 0;
	}
    }
    return slashes == 1;
}

/*
 *----------------------------------------------------------------------
 *
 * LoadMimeTypesFile --
 *
 *	Adds the system's table ("type ext ext ...", '#' comments) for the
 *	extensions the built-in table does not cover.
 *
 * Results:
 *	None; a missing file is not an error.
 *
 * Side effects:
 *	Fills the table.
 *
 *----------------------------------------------------------------------
 */

static void
LoadMimeTypesFile(
    ThreadData *tsdPtr)
{
    FILE *f = fopen(MIME_TYPES_FILE, "r");
    char line[1024], ext[MAX_EXT + 1];

    if (f == NULL) {
	return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
	char *save = NULL, *type, *word;

	line[strcspn(line, "#\r\n")] = '\0';
	type = strtok_r(line, " \t", &save);
	if (type == NULL || !ValidType(type, strlen(type))) {
	    continue;
	}
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) {
	    if (LowerExtension(word, strlen(word), ext)) {
		SetType(tsdPtr, ext, type, strlen(type), 0);
	    }
	}
    }
    fclose(f);
}

/*
 *----------------------------------------------------------------------
 *
 * GetThreadData --
 *
 *	The thread's table, filled on first use.
 *
 * Results:
 *	The thread data.
 *
 * Side effects:
 *	May build the table, freed when the thread ends.
 *
 *----------------------------------------------------------------------
 */

static ThreadData *
GetThreadData(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (!tsdPtr->initialized) {
	int i;

	Tcl_InitHashTable(&tsdPtr->types, TCL_STRING_KEYS);
	for (i = 0; builtinTypes[i] != NULL; i += 2) {
	    SetType(tsdPtr, builtinTypes[i], builtinTypes[i + 1],
		    strlen(builtinTypes[i + 1]), 1);
	}
	LoadMimeTypesFile(tsdPtr);
	tsdPtr->initialized = 1;
	Tcl_CreateThreadExitHandler(MimeExit, tsdPtr);
    }
    return tsdPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * MimeExit --
 *
 *	Frees the thread's table when the thread (a server thread, say)
 *	ends.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Frees the entries and the table.
 *
 *----------------------------------------------------------------------
 */

static void
MimeExit(
    void *clientData)
{
    ThreadData *tsdPtr = clientData;
    Tcl_HashSearch search;
    Tcl_HashEntry *hPtr;

    for (hPtr = Tcl_FirstHashEntry(&tsdPtr->types, &search); hPtr != NULL;
	    hPtr = Tcl_NextHashEntry(&search)) {
	Tcl_Free(Tcl_GetHashValue(hPtr));
    }
    Tcl_DeleteHashTable(&tsdPtr->types);
    tsdPtr->initialized = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMimeEpoch --
 *
 *	The table's version: a line DmMimeHeader gave stays valid, and
 *	right, while this does not change.
 *
 * Results:
 *	The version.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

unsigned
DmMimeEpoch(void)
{
    return GetThreadData()->epoch;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMimeHeader --
 *
 *	The Content-Type field for a file path, by its extension.
 *
 * Results:
 *	A whole header line (with CRLF) and its length in *lenPtr;
 *	application/octet-stream when the extension is unknown.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const char *
DmMimeHeader(
    const char *path,
    size_t len,
    size_t *lenPtr)
{
    ThreadData *tsdPtr = GetThreadData();
    const char *p = path + len;
    char ext[MAX_EXT + 1];
    Tcl_HashEntry *hPtr;

    while (p > path && p[-1] != '.' && p[-1] != '/') {
	p--;
    }
    if (p > path + 1 && p[-1] == '.' && p[-2] != '/'
	    && LowerExtension(p, (size_t) (path + len - p), ext)
	    && (hPtr = Tcl_FindHashEntry(&tsdPtr->types, ext)) != NULL) {
	MimeEntry *e = Tcl_GetHashValue(hPtr);

	*lenPtr = e->lineLen;
	return e->line;
    }
    *lenPtr = sizeof(defaultHeader) - 1;
    return defaultHeader;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMimeCompressible --
 *
 *	Whether a type is worth compressing: text, JSON, XML, JavaScript,
 *	WebAssembly, uncompressed fonts and icons.  Images, audio, video
 *	and archives are compressed already.
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
DmMimeCompressible(
    const char *header,		/* "Content-Type: TYPE...\r\n". */
    size_t len)
{
    static const char *const types[] = {
	"application/json", "application/javascript", "application/xml",
	"application/wasm", "application/x-tcl", "font/ttf", "font/otf",
	"image/bmp", "image/vnd.microsoft.icon", "image/x-icon", NULL
    };
    const char *type = header + TYPE_OFFSET, *end = header + len - 2;
    const char *semi = memchr(type, ';', (size_t) (end - type));
    size_t n;
    int i;

    if (semi != NULL) {
	end = semi;
    }
    n = (size_t) (end - type);
    if (n > 5 && memcmp(type, "text/", 5) == 0) {
	return 1;
    }
    if ((n > 5 && memcmp(end - 5, "+json", 5) == 0)
	    || (n > 4 && memcmp(end - 4, "+xml", 4) == 0)) {
	return 1;
    }
    for (i = 0; types[i] != NULL; i++) {
	if (strlen(types[i]) == n && memcmp(types[i], type, n) == 0) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmMimetypeObjCmd --
 *
 *	Implements "dustmote::mimetype EXT ?TYPE?": reads or sets the type
 *	served for files ending in ".EXT".
 *
 * Results:
 *	A standard Tcl result: the type.
 *
 * Side effects:
 *	With TYPE, changes the table for every server of this thread.
 *
 *----------------------------------------------------------------------
 */

int
DmMimetypeObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    ThreadData *tsdPtr = GetThreadData();
    char ext[MAX_EXT + 1];
    Tcl_Size len;
    const char *s;
    Tcl_HashEntry *hPtr;

    if (objc != 2 && objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "extension ?type?");
	return TCL_ERROR;
    }
    s = Tcl_GetStringFromObj(objv[1], &len);
    if (len > 0 && s[0] == '.') {
	s++;
	len--;
    }
    if (!LowerExtension(s, (size_t) len, ext)) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"bad extension \"%s\": must be 1 to %d characters without"
		" \".\", \"/\" or white space", Tcl_GetString(objv[1]),
		MAX_EXT));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "EXTENSION", NULL);
	return TCL_ERROR;
    }
    if (objc == 3) {
	s = Tcl_GetStringFromObj(objv[2], &len);
	if (!ValidType(s, (size_t) len)) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "bad media type \"%s\": must be type/subtype", s));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "TYPE", NULL);
	    return TCL_ERROR;
	}
	SetType(tsdPtr, ext, s, (size_t) len, 1);
	Tcl_SetObjResult(interp, objv[2]);
	return TCL_OK;
    }
    hPtr = Tcl_FindHashEntry(&tsdPtr->types, ext);
    if (hPtr == NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		defaultHeader + TYPE_OFFSET,
		(Tcl_Size) (sizeof(defaultHeader) - 3 - TYPE_OFFSET)));
    } else {
	MimeEntry *e = Tcl_GetHashValue(hPtr);

	Tcl_SetObjResult(interp, Tcl_NewStringObj(e->line + TYPE_OFFSET,
		(Tcl_Size) e->typeLen));
    }
    return TCL_OK;
}
