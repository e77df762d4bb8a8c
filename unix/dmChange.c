/*
 * dmChange.c --
 *
 *	Tells the cache of small files when a file it holds may have changed,
 *	so that a hit needs no stat of the file.  On Linux the cache's
 *	directories and files are watched with inotify, and the mount table
 *	through /proc/self/mountinfo, since a mount over a directory sends no
 *	inotify event.  Only local file systems are watched: on NFS, FUSE or
 *	overlayfs a change made on the other side sends no event.  Elsewhere,
 *	or when watching fails, the cache stats the file on every hit.
 *
 *	The answer is only as good as its order: a change that completed
 *	before a request was sent has queued its event before the request
 *	arrived.  The cache therefore asks (DmChangePending) after reading a
 *	request and before answering it from memory.
 *
 *	Changes are counted in epochs: each look that finds events starts a
 *	new one, and a file watch remembers the epoch in which its own file
 *	last had an event.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/statfs.h>

/*
 * What a watched directory reports: anything that can change what a name
 * in it leads to, or a file's bytes or permissions.  IN_DONT_FOLLOW and
 * IN_ONLYDIR make a symlinked directory fail to watch: changes behind a
 * link would not be seen, so such paths are not trusted.
 */

#define DIR_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM \
	| IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
#define FILE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE \
	| IN_DELETE_SELF | IN_MOVE_SELF)

/*
 * Events after which a directory path may name another directory, so
 * the directory watches are dropped and made again on use.
 */

#define PATH_EVENTS (IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF \
	| IN_Q_OVERFLOW | IN_UNMOUNT)

/*
 * Each watch pins an inode in the kernel; past this many files (or
 * directories) per server, further entries are checked by stat instead.
 */

#define MAX_WATCHES 4096

/*
 * File systems whose every change goes through this kernel's inodes, so
 * inotify sees it (the values of <linux/magic.h>, not all of which older
 * headers have).
 */

static const unsigned long localFsTypes[] = {
    0xEF53,		/* ext2, ext3, ext4 */
    0x58465342,		/* xfs */
    0x9123683E,		/* btrfs */
    0x01021994,		/* tmpfs */
    0x858458F6,		/* ramfs */
    0xF2F52010,		/* f2fs */
    0x3153464A,		/* jfs */
    0x52654973,		/* reiserfs */
    0xCA451A4E,		/* bcachefs */
    0x4D44,		/* vfat, msdos */
    0x2011BAB0,		/* exfat */
};

/*
 * A watched file: how many cache entries use the watch, and the epoch of
 * its file's last event.
 */

typedef struct FileWatch {
    int users;
    uint64_t touched;
} FileWatch;

struct DmChange {
    int inotifyFd;		/* The watches' events. */
    int mountFd;		/* /proc/self/mountinfo: POLLPRI on a mount. */
    int epfd;			/* Both, for one cheap "anything?" call. */
    uint64_t epoch;		/* Counts the looks that found changes. */
    uint64_t allTouched;	/* Epoch in which events were lost: every
				 * file counts as touched then. */
    Tcl_HashTable dirPaths;	/* Watched directories, by relative path. */
    Tcl_HashTable dirWatches;	/* Their watch descriptors. */
    Tcl_HashTable files;	/* Watch descriptor -> FileWatch. */
};

static void	DropDirs(DmChange *ch);

/*
 *----------------------------------------------------------------------
 *
 * DmChangeCreate --
 *
 *	Opens the change sources.
 *
 * Results:
 *	The change source, or NULL if this system cannot provide one.
 *
 * Side effects:
 *	Opens three descriptors.
 *
 *----------------------------------------------------------------------
 */

DmChange *
DmChangeCreate(void)
{
    DmChange *ch = calloc(1, sizeof(DmChange));
    struct epoll_event ev;

    if (ch == NULL) {
	return NULL;
    }
    ch->inotifyFd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ch->mountFd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    ch->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ch->inotifyFd < 0 || ch->mountFd < 0 || ch->epfd < 0) {
	goto fail;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = ch->inotifyFd;
    if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->inotifyFd, &ev) < 0) {
	goto fail;
    }
    ev.events = EPOLLPRI;
    ev.data.fd = ch->mountFd;
    if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, ch->mountFd, &ev) < 0) {
	goto fail;
    }
    ch->epoch = 1;
    Tcl_InitHashTable(&ch->dirPaths, TCL_STRING_KEYS);
    Tcl_InitHashTable(&ch->dirWatches, TCL_ONE_WORD_KEYS);
    Tcl_InitHashTable(&ch->files, TCL_ONE_WORD_KEYS);
    return ch;

  fail:
    if (ch->inotifyFd >= 0) {
	close(ch->inotifyFd);
    }
    if (ch->mountFd >= 0) {
	close(ch->mountFd);
    }
    if (ch->epfd >= 0) {
	close(ch->epfd);
    }
    free(ch);
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeDelete --
 *
 *	Closes the change sources; the kernel drops every watch with them.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes descriptors, frees ch.
 *
 *----------------------------------------------------------------------
 */

void
DmChangeDelete(
    DmChange *ch)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *hPtr;

    close(ch->epfd);
    close(ch->mountFd);
    close(ch->inotifyFd);
    for (hPtr = Tcl_FirstHashEntry(&ch->files, &search); hPtr != NULL;
	    hPtr = Tcl_NextHashEntry(&search)) {
	free(Tcl_GetHashValue(hPtr));
    }
    Tcl_DeleteHashTable(&ch->dirPaths);
    Tcl_DeleteHashTable(&ch->dirWatches);
    Tcl_DeleteHashTable(&ch->files);
    free(ch);
}

/*
 *----------------------------------------------------------------------
 *
 * DropDirs --
 *
 *	Removes every directory watch, after an event that may have changed
 *	which directory a path names: each entry is checked and its path
 *	watched again on its next hit.  Removing them, rather than only
 *	forgetting them, keeps moved-away directories from holding watches.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Removes watches (their IN_IGNORED events follow).
 *
 *----------------------------------------------------------------------
 */

static void
DropDirs(
    DmChange *ch)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *hPtr;

    for (hPtr = Tcl_FirstHashEntry(&ch->dirWatches, &search); hPtr != NULL;
	    hPtr = Tcl_NextHashEntry(&search)) {
	inotify_rm_watch(ch->inotifyFd,
		PTR2INT(Tcl_GetHashKey(&ch->dirWatches, hPtr)));
    }
    Tcl_DeleteHashTable(&ch->dirPaths);
    Tcl_DeleteHashTable(&ch->dirWatches);
    Tcl_InitHashTable(&ch->dirPaths, TCL_STRING_KEYS);
    Tcl_InitHashTable(&ch->dirWatches, TCL_ONE_WORD_KEYS);
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangePending --
 *
 *	Takes every queued event; any event but the end of a watch starts a
 *	new epoch.
 *
 * Results:
 *	1 if something changed (or events were lost, or the look failed),
 *	else 0.
 *
 * Side effects:
 *	Reads the inotify queue; stamps watched files with the epoch of
 *	their events; may drop the directory watches.
 *
 *----------------------------------------------------------------------
 */

int
DmChangePending(
    DmChange *ch)
{
    struct epoll_event ev[2];
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int i, n, changed = 0, dropDirs = 0;
    ssize_t got;

    n = epoll_wait(ch->epfd, ev, 2, 0);
    if (n == 0) {
	return 0;			/* The common case: one cheap call. */
    }
    if (n < 0) {
	ch->epoch++;			/* Cannot tell: assume a change. */
	return 1;
    }
    for (i = 0; i < n; i++) {
	if (ev[i].data.fd == ch->mountFd) {
	    changed = dropDirs = 1;	/* A mount may hide a directory. */
	}
    }
    while ((got = read(ch->inotifyFd, buf, sizeof(buf))) > 0) {
	const char *p = buf;

	while (p < buf + got) {
	    const struct inotify_event *e = (const struct inotify_event *) p;
	    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&ch->files,
		    INT2PTR(e->wd));

	    /*
	     * IN_IGNORED alone is no change: it follows a removal we made,
	     * or the deletion or unmount that was reported before it.
	     */

	    if (e->mask & IN_IGNORED) {
		if (hPtr != NULL) {
		    free(Tcl_GetHashValue(hPtr));
		    Tcl_DeleteHashEntry(hPtr);
		}
		hPtr = Tcl_FindHashEntry(&ch->dirWatches, INT2PTR(e->wd));
		if (hPtr != NULL) {
		    Tcl_DeleteHashEntry(hPtr);
		}
	    } else {
		changed = 1;
		if (hPtr != NULL) {
		    ((FileWatch *) Tcl_GetHashValue(hPtr))->touched
			    = ch->epoch + 1;
		}
	    }
	    if (e->mask & PATH_EVENTS) {
		dropDirs = 1;
	    }
	    if (e->mask & IN_Q_OVERFLOW) {
		/*
		 * Events were lost, perhaps some of a watched file's own:
		 * every file may have been rewritten, maybe within one
		 * tick of a coarse clock that a stat would not see.
		 */

		ch->allTouched = ch->epoch + 1;
	    }
	    p += sizeof(struct inotify_event) + e->len;
	}
    }
    if (got < 0 && errno != EAGAIN) {
	changed = dropDirs = 1;		/* Events may be lost: as above. */
	ch->allTouched = ch->epoch + 1;
    }
    if (dropDirs) {
	DropDirs(ch);
    }
    if (changed) {
	ch->epoch++;
    }
    return changed;
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeEpoch, DmChangeTouched --
 *
 *	The current epoch; the epoch of a watched file's last event.
 *
 * Results:
 *	An epoch.  DmChangeTouched gives UINT64_MAX for a watch the kernel
 *	has dropped (its file was deleted or its file system unmounted), 0
 *	for a file that had no event; a file counts as touched in the epoch
 *	in which the queue overflowed.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

uint64_t
DmChangeEpoch(
    const DmChange *ch)
{
    return ch->epoch;
}

uint64_t
DmChangeTouched(
    DmChange *ch,
    int wd)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&ch->files, INT2PTR(wd));
    uint64_t touched;

    if (hPtr == NULL) {
	return UINT64_MAX;
    }
    touched = ((FileWatch *) Tcl_GetHashValue(hPtr))->touched;
    return (touched > ch->allTouched) ? touched : ch->allTouched;
}

/*
 *----------------------------------------------------------------------
 *
 * IsLocal --
 *
 *	Whether a file system reports all its changes to inotify.
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
IsLocal(
    const struct statfs *sfs)
{
    size_t i;

    for (i = 0; i < sizeof(localFsTypes) / sizeof(localFsTypes[0]); i++) {
	if ((unsigned long) sfs->f_type == localFsTypes[i]) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeWatchDirs --
 *
 *	Watches every directory a normalised path passes through, from the
 *	root down, each one only after its parent: a directory swapped for
 *	a symlink after its parent is watched is then seen as a change.
 *	Each one is reached through the root's descriptor, so the watch is
 *	on the directory actually served.
 *
 * Results:
 *	1 if all are watched, local and real directories, else 0.
 *
 * Side effects:
 *	May add watches and record them.
 *
 *----------------------------------------------------------------------
 */

int
DmChangeWatchDirs(
    DmChange *ch,
    int rootFd,
    const char *relPath)
{
    const char *rel = relPath + 1;	/* Past the leading '/'. */
    const char *slash = rel - 1;
    size_t len = 0;			/* The root comes first, as "". */

    for (;;) {
	char path[PATH_MAX];
	const char *key;
	struct statfs sfs;
	Tcl_HashEntry *hPtr;
	int n, wd, isNew;

	n = snprintf(path, sizeof(path), "/proc/self/fd/%d/%.*s", rootFd,
		(int) len, rel);
	if (n < 0 || (size_t) n >= sizeof(path)) {
	    return 0;
	}
	key = strchr(path + sizeof("/proc/self/fd/") - 1, '/') + 1;
	if (Tcl_FindHashEntry(&ch->dirPaths, key) == NULL) {
	    if (ch->dirWatches.numEntries >= MAX_WATCHES) {
		return 0;
	    }

	    /*
	     * The root is reached through its descriptor's magic link;
	     * each directory below must be a real directory.  (A mount
	     * over it between the watch and statfs is reported by the
	     * mount table.)
	     */

	    wd = inotify_add_watch(ch->inotifyFd, path, DIR_EVENTS
		    | IN_ONLYDIR | (len ? IN_DONT_FOLLOW : 0));
	    if (wd < 0) {
		return 0;
	    }
	    hPtr = Tcl_CreateHashEntry(&ch->dirWatches, INT2PTR(wd), &isNew);
	    if (statfs(path, &sfs) < 0 || !IsLocal(&sfs)) {
		/*
		 * The kernel gives one watch per inode: a directory reached
		 * by another path too (a bind mount) shares it, and that
		 * path still relies on it.
		 */

		if (isNew) {
		    Tcl_DeleteHashEntry(hPtr);
		    inotify_rm_watch(ch->inotifyFd, wd);
		}
		return 0;
	    }
	    Tcl_CreateHashEntry(&ch->dirPaths, key, &isNew);
	}
	slash = strchr(slash + 1, '/');
	if (slash == NULL) {
	    return 1;			/* What follows is the file. */
	}
	len = (size_t) (slash - rel);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeWatchFile --
 *
 *	Watches an open file's inode, so that writes through any of its
 *	names (a hard link outside the root, say) are seen.
 *
 * Results:
 *	The watch descriptor, or -1 (the file is not on a local file
 *	system, or no watch could be made).
 *
 * Side effects:
 *	Adds a watch or a user of an existing one.
 *
 *----------------------------------------------------------------------
 */

int
DmChangeWatchFile(
    DmChange *ch,
    int fd)
{
    char path[64];
    struct statfs sfs;
    Tcl_HashEntry *hPtr;
    FileWatch *fw;
    int wd, isNew;

    if (ch->files.numEntries >= MAX_WATCHES || fstatfs(fd, &sfs) < 0
	    || !IsLocal(&sfs)) {
	return -1;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    wd = inotify_add_watch(ch->inotifyFd, path, FILE_EVENTS);
    if (wd < 0) {
	return -1;
    }
    hPtr = Tcl_CreateHashEntry(&ch->files, INT2PTR(wd), &isNew);
    if (isNew) {
	fw = calloc(1, sizeof(FileWatch));
	if (fw == NULL) {
	    Tcl_DeleteHashEntry(hPtr);
	    inotify_rm_watch(ch->inotifyFd, wd);
	    return -1;
	}
	Tcl_SetHashValue(hPtr, fw);
    }
    ((FileWatch *) Tcl_GetHashValue(hPtr))->users++;
    return wd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeRelease --
 *
 *	Drops one user of a file watch, and the watch with its last user.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May remove a watch.
 *
 *----------------------------------------------------------------------
 */

void
DmChangeRelease(
    DmChange *ch,
    int wd)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&ch->files, INT2PTR(wd));
    FileWatch *fw;

    if (hPtr == NULL) {
	return;				/* The kernel dropped it already. */
    }
    fw = Tcl_GetHashValue(hPtr);
    if (--fw->users > 0) {
	return;
    }
    free(fw);
    Tcl_DeleteHashEntry(hPtr);
    inotify_rm_watch(ch->inotifyFd, wd);
}

