/*
 * dmCache.c --
 *
 *	A cache of small files, keyed by their normalised request path, so a
 *	popular file costs no open, read and close.  A file that was written,
 *	replaced, chmod'ed or removed is never served from here:
 *
 *	- Where the system reports changes (dmChange.c), a file is watched
 *	  before it is read, with every directory on its path.  A hit then
 *	  asks once whether anything changed since the request arrived (see
 *	  IsCurrent for what it does when something did).
 *	- Otherwise every hit is checked against the file as it is now
 *	  (device, inode, size, and modification and change times to the
 *	  nanosecond) with one stat.
 *
 *	The least recently used files go first when the cache is full.  An
 *	entry may also hold its file compressed (for -compress), which goes
 *	with it.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>

/*
 * How long a watched entry is trusted without a stat even when no change
 * was reported: writes through a shared memory mapping send no event.
 */

#define TRUST_MS 1000

struct DmCacheEntry {
    Tcl_HashEntry *hPtr;	/* Its slot in the table. */
    DmCacheEntry *prev, *next;	/* Most recently used first. */
    DmFileInfo info;		/* The version held. */
    int wd;			/* The file's watch, or -1. */
    uint64_t epoch;		/* Known current in this change epoch; 0 if
				 * never. */
    int64_t checkedMs;		/* When it was last known current. */
    char lastModified[DM_HTTP_DATE_LEN + 1];
    char etag[DM_ETAG_MAX];	/* Its entity-tag, etagLen bytes. */
    size_t etagLen;
    const char *type;		/* Its Content-Type line (typeLen bytes),
				 * while the MIME table is at typeEpoch;
				 * NULL until asked for. */
    size_t typeLen;
    unsigned typeEpoch;
    char *variant[DM_ENC_COUNT]; /* The file in a content coding (malloc'ed)
				 * or NULL, by DM_ENC_*... */
    size_t variantLen[DM_ENC_COUNT]; /* ...and its length. */
    size_t bytes;		/* All it holds, for the cache's count. */
    char data[1];		/* info.size bytes. */
};

struct DmCache {
    Tcl_HashTable table;	/* Path -> DmCacheEntry *. */
    DmCacheEntry *head, *tail;
    size_t bytes, maxBytes;	/* File bytes held, and the most allowed. */
    DmChange *change;		/* Change source, or NULL: stat every hit. */
    uint64_t checkedSeq;	/* The input last followed by a look. */
    uint64_t hits, stats;	/* Hits, and the hits that needed a stat. */
};

static void	Empty(DmCache *cache);
static void	Remove(DmCache *cache, DmCacheEntry *e);

/*
 *----------------------------------------------------------------------
 *
 * DmCacheCreate, DmCacheDelete --
 *
 *	Make an empty cache of at most maxBytes file bytes, or free one.
 *
 * Results:
 *	The cache, or NULL if memory ran out.
 *
 * Side effects:
 *	Allocates or frees memory.
 *
 *----------------------------------------------------------------------
 */

DmCache *
DmCacheCreate(
    size_t maxBytes)
{
    DmCache *cache = calloc(1, sizeof(DmCache));

    if (cache != NULL) {
	Tcl_InitHashTable(&cache->table, TCL_STRING_KEYS);
	cache->maxBytes = maxBytes;
	cache->change = DmChangeCreate();
    }
    return cache;
}

void
DmCacheDelete(
    DmCache *cache)
{
    Empty(cache);
    if (cache->change != NULL) {
	DmChangeDelete(cache->change);
    }
    Tcl_DeleteHashTable(&cache->table);
    free(cache);
}

/*
 *----------------------------------------------------------------------
 *
 * Unlink, Remove --
 *
 *	Take an entry out of the use order; or out of the cache for good.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Remove frees the entry.
 *
 *----------------------------------------------------------------------
 */

static void
Unlink(
    DmCache *cache,
    DmCacheEntry *e)
{
    if (e->prev) {
	e->prev->next = e->next;
    } else {
	cache->head = e->next;
    }
    if (e->next) {
	e->next->prev = e->prev;
    } else {
	cache->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void
Remove(
    DmCache *cache,
    DmCacheEntry *e)
{
    int i;

    Unlink(cache, e);
    Tcl_DeleteHashEntry(e->hPtr);
    cache->bytes -= e->bytes;
    if (e->wd >= 0) {
	DmChangeRelease(cache->change, e->wd);
    }
    for (i = 0; i < DM_ENC_COUNT; i++) {
	free(e->variant[i]);
    }
    free(e);
}

/*
 *----------------------------------------------------------------------
 *
 * Empty --
 *
 *	Removes every entry.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Frees the entries and releases their watches.
 *
 *----------------------------------------------------------------------
 */

static void
Empty(
    DmCache *cache)
{
    while (cache->head != NULL) {
	Remove(cache, cache->head);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheFlush --
 *
 *	Empties the cache: the root or the symlink policy changed, so what
 *	a path names may have changed too.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Frees every entry; drops every watch by starting a new change
 *	source, so the old tree's directories are no longer watched.
 *
 *----------------------------------------------------------------------
 */

void
DmCacheFlush(
    DmCache *cache)
{
    Empty(cache);
    if (cache->change != NULL) {
	DmChangeDelete(cache->change);
	cache->change = DmChangeCreate();
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SameVersion --
 *
 *	Whether two descriptions are of the same version of the same file.
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
SameVersion(
    const DmFileInfo *a,
    const DmFileInfo *b)
{
    return a->ino == b->ino && a->dev == b->dev && a->size == b->size
	    && a->mtimeNs == b->mtimeNs && a->ctimeNs == b->ctimeNs
	    && a->kind == b->kind;
}

/*
 *----------------------------------------------------------------------
 *
 * NamesVersion --
 *
 *	Whether the path names, now, the version of the file described.
 *	With noFollow a final symlink never matches.
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	One stat.
 *
 *----------------------------------------------------------------------
 */

static int
NamesVersion(
    int rootFd,
    const char *path,
    int noFollow,
    const DmFileInfo *infoPtr)
{
    DmFileInfo now;

    return DmFileStat(rootFd, path, noFollow, &now) == 0
	    && SameVersion(&now, infoPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * IsCurrent --
 *
 *	Whether an entry still holds the file its path names now.
 *
 *	A watched entry is trusted while no change was seen since it was
 *	last known current; the changes are looked for once after each new
 *	input, so a change made before a request was sent is always seen.
 *	An event on the file itself drops the entry: its times may not have
 *	moved (they tick coarsely on some file systems).  After any other
 *	change, and once a second anyway (inotify does not report writes
 *	through a shared memory mapping), the entry is checked by one stat.
 *
 *	The others are checked by one stat on every hit: the version held
 *	was opened under the server's rules, and a path that now leads
 *	elsewhere leads to another inode.
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	May read change events and stat the file; a watched entry that
 *	passes the stat is trusted again.
 *
 *----------------------------------------------------------------------
 */

static int
IsCurrent(
    DmCache *cache,
    DmCacheEntry *e,
    int rootFd,
    const char *path,
    uint64_t inputSeq)
{
    if (e->wd >= 0) {
	DmChange *ch = cache->change;
	int64_t ms = DmNowMs();

	if (inputSeq > cache->checkedSeq) {
	    DmChangePending(ch);
	    cache->checkedSeq = inputSeq;
	}
	if (e->epoch == DmChangeEpoch(ch) && ms - e->checkedMs < TRUST_MS) {
	    return 1;
	}
	if (DmChangeTouched(ch, e->wd) > e->epoch) {
	    return 0;
	}

	/*
	 * Trusted again only if the path is still all real, watched
	 * directories and its last name is the watched file itself.
	 */

	cache->stats++;
	if (!DmChangeWatchDirs(ch, rootFd, path)
		|| !NamesVersion(rootFd, path, 1, &e->info)) {
	    return 0;
	}
	e->epoch = DmChangeEpoch(ch);
	e->checkedMs = ms;
	return 1;
    }
    cache->stats++;
    return NamesVersion(rootFd, path, 0, &e->info);
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheGet --
 *
 *	Looks a path up and checks that the file it names now is the
 *	version held.  inputSeq numbers the socket read that brought the
 *	request (DmServer.inputSeq).
 *
 * Results:
 *	The entry with *dataPtr and *infoPtr set, or NULL (a stale entry is
 *	dropped).
 *
 * Side effects:
 *	See IsCurrent; marks the entry as most recently used.
 *
 *----------------------------------------------------------------------
 */

DmCacheEntry *
DmCacheGet(
    DmCache *cache,
    int rootFd,
    const char *path,
    uint64_t inputSeq,
    const char **dataPtr,
    DmFileInfo *infoPtr)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&cache->table, path);
    DmCacheEntry *e;

    if (hPtr == NULL) {
	return NULL;
    }
    e = Tcl_GetHashValue(hPtr);
    if (!IsCurrent(cache, e, rootFd, path, inputSeq)) {
	Remove(cache, e);
	return NULL;
    }
    cache->hits++;
    if (cache->head != e) {
	Unlink(cache, e);
	e->next = cache->head;
	cache->head->prev = e;
	cache->head = e;
    }
    *dataPtr = e->data;
    *infoPtr = e->info;
    return e;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheWatch --
 *
 *	Starts watching a file the cache may keep, before it is read, so a
 *	write racing the read is seen as a change.  Only a file reached
 *	through real directories and by its own name (no symlink) is
 *	watched: a change behind a link would not be reported.
 *
 * Results:
 *	A ticket for DmCachePut; its wd is -1 if the file is not watched.
 *
 * Side effects:
 *	May add watches and stat the file.
 *
 *----------------------------------------------------------------------
 */

DmCacheTicket
DmCacheWatch(
    DmCache *cache,
    int rootFd,
    const char *path,
    int fd,
    const DmFileInfo *infoPtr)
{
    DmCacheTicket ticket = { -1, 0 };
    int wd;

    if (cache->change == NULL || infoPtr->size > cache->maxBytes / 8
	    || !DmChangeWatchDirs(cache->change, rootFd, path)
	    || (wd = DmChangeWatchFile(cache->change, fd)) < 0) {
	return ticket;
    }
    if (!NamesVersion(rootFd, path, 1, infoPtr)) {
	DmChangeRelease(cache->change, wd);
	return ticket;
    }
    ticket.wd = wd;
    ticket.epoch = DmChangeEpoch(cache->change);
    return ticket;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCachePut --
 *
 *	Keeps a copy of a file just read, if len (what the read gave) is
 *	the whole file, making room by dropping the least recently used
 *	ones.  A file larger than an eighth of the cache is not kept, so one
 *	file cannot empty it.
 *
 * Results:
 *	The entry, or NULL if the file was not kept.
 *
 * Side effects:
 *	Allocates the entry; may free others.  Takes the ticket's watch.
 *
 *----------------------------------------------------------------------
 */

DmCacheEntry *
DmCachePut(
    DmCache *cache,
    const char *path,
    const DmFileInfo *infoPtr,
    const char *data,
    long len,
    DmCacheTicket ticket)
{
    size_t size = (size_t) infoPtr->size;
    Tcl_HashEntry *hPtr;
    DmCacheEntry *e = NULL;
    int isNew;

    if (len >= 0 && (uint64_t) len == infoPtr->size
	    && infoPtr->size <= cache->maxBytes / 8) {
	while (cache->bytes + size > cache->maxBytes) {
	    Remove(cache, cache->tail);
	}
	e = calloc(1, sizeof(DmCacheEntry) + size);
    }
    if (e == NULL) {
	if (ticket.wd >= 0) {
	    DmChangeRelease(cache->change, ticket.wd);
	}
	return NULL;
    }
    hPtr = Tcl_CreateHashEntry(&cache->table, path, &isNew);
    if (!isNew) {
	Remove(cache, Tcl_GetHashValue(hPtr));
	hPtr = Tcl_CreateHashEntry(&cache->table, path, &isNew);
    }
    e->hPtr = hPtr;
    e->info = *infoPtr;
    e->wd = ticket.wd;
    e->epoch = ticket.epoch;
    e->checkedMs = DmNowMs();
    DmFormatHttpDate(infoPtr->mtime, e->lastModified);
    e->etagLen = DmFormatETag(infoPtr->mtimeNs, infoPtr->size, infoPtr->ino,
	    infoPtr->dev, e->etag);
    memcpy(e->data, data, size);
    e->prev = NULL;
    e->next = cache->head;
    if (cache->head) {
	cache->head->prev = e;
    } else {
	cache->tail = e;
    }
    cache->head = e;
    e->bytes = size;
    cache->bytes += size;
    Tcl_SetHashValue(hPtr, e);
    return e;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheType --
 *
 *	The Content-Type line of an entry's path, looked up once while the
 *	MIME table does not change.
 *
 * Results:
 *	The line, with *lenPtr its length.
 *
 * Side effects:
 *	May look the type up and keep it.
 *
 *----------------------------------------------------------------------
 */

const char *
DmCacheType(
    DmCacheEntry *entry,
    const char *path,		/* The entry's own path. */
    size_t len,
    size_t *lenPtr)
{
    unsigned epoch = DmMimeEpoch();

    if (entry->type == NULL || entry->typeEpoch != epoch) {
	entry->type = DmMimeHeader(path, len, &entry->typeLen);
	entry->typeEpoch = epoch;
    }
    *lenPtr = entry->typeLen;
    return entry->type;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheVariant, DmCacheAddVariant --
 *
 *	Read, or keep, an entry's file in a content coding.  A variant is
 *	kept only if it fits with the entry itself, making room by dropping
 *	the least recently used other entries.
 *
 * Results:
 *	DmCacheVariant: the bytes with *lenPtr their count, or NULL.
 *	DmCacheAddVariant: 1 if the cache took data over, 0 if the caller
 *	keeps it.
 *
 * Side effects:
 *	DmCacheAddVariant may free other entries.
 *
 *----------------------------------------------------------------------
 */

const char *
DmCacheVariant(
    const DmCacheEntry *entry,
    int encoding,
    size_t *lenPtr)
{
    *lenPtr = entry->variantLen[encoding];
    return entry->variant[encoding];
}

int
DmCacheAddVariant(
    DmCache *cache,
    DmCacheEntry *entry,
    int encoding,
    char *data,
    size_t len)
{
    if (entry->variant[encoding] != NULL
	    || entry->bytes + len > cache->maxBytes / 8) {
	return 0;
    }
    while (cache->bytes + len > cache->maxBytes && cache->tail != entry) {
	Remove(cache, cache->tail);
    }
    if (cache->bytes + len > cache->maxBytes) {
	return 0;
    }
    entry->variant[encoding] = data;
    entry->variantLen[encoding] = len;
    entry->bytes += len;
    cache->bytes += len;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheCounts --
 *
 *	The cache's counters, for the server's stats.
 *
 * Results:
 *	*hitsPtr: requests answered from the cache; *statsPtr: those that
 *	needed a stat of the file first.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

void
DmCacheCounts(
    const DmCache *cache,
    uint64_t *hitsPtr,
    uint64_t *statsPtr)
{
    *hitsPtr = cache->hits;
    *statsPtr = cache->stats;
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheLastModified, DmCacheETag --
 *
 *	The entry's Last-Modified date and entity-tag, formatted when it was
 *	stored.
 *
 * Results:
 *	DM_HTTP_DATE_LEN characters; the tag, with its length in *lenPtr.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const char *
DmCacheLastModified(
    const DmCacheEntry *entry)
{
    return entry->lastModified;
}

const char *
DmCacheETag(
    const DmCacheEntry *entry,
    size_t *lenPtr)
{
    *lenPtr = entry->etagLen;
    return entry->etag;
}
