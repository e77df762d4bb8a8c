/*
 * dmCache.c --
 *
 *	A cache of small files, keyed by their normalised request path, so a
 *	popular file costs one stat per request instead of an open, a read
 *	and a close.  Every hit is checked against the file as it is now
 *	(device, inode, size, and modification and change times to the
 *	nanosecond): a file that was written, replaced, chmod'ed or removed
 *	is never served from here.  The least recently used files go first
 *	when the cache is full.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>

struct DmCacheEntry {
    Tcl_HashEntry *hPtr;	/* Its slot in the table. */
    DmCacheEntry *prev, *next;	/* Most recently used first. */
    DmFileInfo info;		/* The version held. */
    char lastModified[DM_HTTP_DATE_LEN + 1];
    char data[1];		/* info.size bytes. */
};

struct DmCache {
    Tcl_HashTable table;	/* Path -> DmCacheEntry *. */
    DmCacheEntry *head, *tail;
    size_t bytes, maxBytes;	/* File bytes held, and the most allowed. */
};

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
    }
    return cache;
}

void
DmCacheDelete(
    DmCache *cache)
{
    DmCacheFlush(cache);
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
    Unlink(cache, e);
    Tcl_DeleteHashEntry(e->hPtr);
    cache->bytes -= (size_t) e->info.size;
    free(e);
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
 *	Frees every entry.
 *
 *----------------------------------------------------------------------
 */

void
DmCacheFlush(
    DmCache *cache)
{
    while (cache->head != NULL) {
	Remove(cache, cache->head);
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
 * DmCacheGet --
 *
 *	Looks a path up and checks that the file it names now is the
 *	version held.  The path need not be opened again: the version held
 *	was opened under the server's rules, and a path that now leads
 *	elsewhere leads to another inode.
 *
 * Results:
 *	The entry with *dataPtr and *infoPtr set, or NULL (a stale entry is
 *	dropped).
 *
 * Side effects:
 *	One stat; marks the entry as most recently used.
 *
 *----------------------------------------------------------------------
 */

const DmCacheEntry *
DmCacheGet(
    DmCache *cache,
    int rootFd,
    const char *path,
    const char **dataPtr,
    DmFileInfo *infoPtr)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&cache->table, path);
    DmCacheEntry *e;
    DmFileInfo now;

    if (hPtr == NULL) {
	return NULL;
    }
    e = Tcl_GetHashValue(hPtr);
    if (DmFileStat(rootFd, path, &now) < 0 || !SameVersion(&now, &e->info)) {
	Remove(cache, e);
	return NULL;
    }
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
 * DmCachePut --
 *
 *	Keeps a copy of a file just read, making room by dropping the least
 *	recently used ones.  A file larger than an eighth of the cache is
 *	not kept, so one file cannot empty it.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Allocates the entry; may free others.
 *
 *----------------------------------------------------------------------
 */

void
DmCachePut(
    DmCache *cache,
    const char *path,
    const DmFileInfo *infoPtr,
    const char *data)
{
    size_t size = (size_t) infoPtr->size;
    Tcl_HashEntry *hPtr;
    DmCacheEntry *e;
    int isNew;

    if (infoPtr->size > cache->maxBytes / 8) {
	return;
    }
    while (cache->bytes + size > cache->maxBytes) {
	Remove(cache, cache->tail);
    }
    e = malloc(sizeof(DmCacheEntry) + size);
    if (e == NULL) {
	return;
    }
    hPtr = Tcl_CreateHashEntry(&cache->table, path, &isNew);
    if (!isNew) {
	Remove(cache, Tcl_GetHashValue(hPtr));
	hPtr = Tcl_CreateHashEntry(&cache->table, path, &isNew);
    }
    e->hPtr = hPtr;
    e->info = *infoPtr;
    DmFormatHttpDate(infoPtr->mtime, e->lastModified);
    memcpy(e->data, data, size);
    e->prev = NULL;
    e->next = cache->head;
    if (cache->head) {
	cache->head->prev = e;
    } else {
	cache->tail = e;
    }
    cache->head = e;
    cache->bytes += size;
    Tcl_SetHashValue(hPtr, e);
}

/*
 *----------------------------------------------------------------------
 *
 * DmCacheLastModified --
 *
 *	The entry's Last-Modified date, formatted when it was stored.
 *
 * Results:
 *	DM_HTTP_DATE_LEN characters.
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
