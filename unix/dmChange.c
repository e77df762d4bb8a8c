/*
 * dmChange.c --
 *
 *	Tells the cache of small files when a file it holds may have changed,
 *	so that a hit needs no stat of the file.  On Linux the cache's
 *	directories and files are watched with inotify, and the mount table
 *	through /proc/self/mountinfo, since a mount over a directory sends no
 *	inotify event.  Elsewhere, or when watching fails, there is no change
 *	source and the cache stats the file on every hit.
 *
 *	The answer is only as good as its order: a change that completed
 *	before a request was sent has queued its event before the request
 *	arrived.  The cache therefore asks (DmChangePending) after reading a
 *	request and before answering it from memory.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#ifdef HAVE_SYS_INOTIFY_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>

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
 * the record of watched directories is forgotten and rebuilt on use.
 */

#define PATH_EVENTS (IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF \
	| IN_Q_OVERFLOW | IN_UNMOUNT)

/*
 * Each watch pins an inode in the kernel; past this many files (or
 * directories) per server, further entries are checked by stat instead.
 */

#define MAX_WATCHES 4096

struct DmChange {
    int inotifyFd;		/* The watches' events. */
    int mountFd;		/* /proc/self/mountinfo: POLLPRI on a mount. */
    int epfd;			/* Both, for one cheap "anything?" call. */
    Tcl_HashTable dirs;		/* Watched directory paths (relative). */
    Tcl_HashTable files;	/* File watch descriptor -> users. */
};

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
    Tcl_InitHashTable(&ch->dirs, TCL_STRING_KEYS);
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
    close(ch->epfd);
    close(ch->mountFd);
    close(ch->inotifyFd);
    Tcl_DeleteHashTable(&ch->dirs);
    Tcl_DeleteHashTable(&ch->files);
    free(ch);
}

/*
 *----------------------------------------------------------------------
 *
 * ForgetDirs --
 *
 *	Forgets which directory paths are watched, so the next use watches
 *	them again by path: a directory moved or a mount changed.  Watches
 *	already made stay; adding one again returns the same one.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Empties the directory record.
 *
 *----------------------------------------------------------------------
 */

static void
ForgetDirs(
    DmChange *ch)
{
    Tcl_DeleteHashTable(&ch->dirs);
    Tcl_InitHashTable(&ch->dirs, TCL_STRING_KEYS);
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangePending --
 *
 *	Whether anything watched may have changed since the last call.
 *	Takes every queued event.
 *
 * Results:
 *	1 if something changed (or events were lost), else 0.
 *
 * Side effects:
 *	Reads the inotify queue; may forget the directory record and the
 *	file watches the kernel has dropped.
 *
 *----------------------------------------------------------------------
 */

int
DmChangePending(
    DmChange *ch)
{
    struct epoll_event ev[2];
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int i, n, changed = 0, forget = 0;
    ssize_t got;

    n = epoll_wait(ch->epfd, ev, 2, 0);
    if (n <= 0) {
	return 0;			/* The common case: one cheap call. */
    }
    for (i = 0; i < n; i++) {
	if (ev[i].data.fd == ch->mountFd) {
	    changed = forget = 1;	/* A mount may hide a directory. */
	}
    }
    while ((got = read(ch->inotifyFd, buf, sizeof(buf))) > 0) {
	const char *p = buf;

	while (p < buf + got) {
	    const struct inotify_event *e = (const struct inotify_event *) p;

	    /*
	     * IN_IGNORED alone is no change: it follows a removal we made,
	     * or the deletion or unmount that was reported before it.
	     */

	    if (e->mask & IN_IGNORED) {
		Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&ch->files,
			INT2PTR(e->wd));

		if (hPtr != NULL) {
		    Tcl_DeleteHashEntry(hPtr);
		}
	    } else {
		changed = 1;
	    }
	    if (e->mask & PATH_EVENTS) {
		forget = 1;
	    }
	    p += sizeof(struct inotify_event) + e->len;
	}
    }
    if (forget) {
	ForgetDirs(ch);
    }
    return changed;
}

/*
 *----------------------------------------------------------------------
 *
 * AddWatch --
 *
 *	Watches a path below the root, through the root's descriptor, so
 *	the watch names the directory actually served.
 *
 * Results:
 *	The watch descriptor, or -1.
 *
 * Side effects:
 *	May add an inotify watch.
 *
 *----------------------------------------------------------------------
 */

static int
AddWatch(
    DmChange *ch,
    int rootFd,
    const char *rel,
    size_t relLen,
    uint32_t mask)
{
    char path[PATH_MAX];
    int len = snprintf(path, sizeof(path), "/proc/self/fd/%d%s%.*s", rootFd,
	    relLen ? "/" : "", (int) relLen, rel);

    if (len < 0 || (size_t) len >= sizeof(path)) {
	return -1;
    }
    return inotify_add_watch(ch->inotifyFd, path, mask);
}

/*
 *----------------------------------------------------------------------
 *
 * DmChangeWatchDirs --
 *
 *	Watches every directory a normalised path passes through, from the
 *	root down, each one only after its parent: a directory swapped for
 *	a symlink after its parent is watched is then seen as a change.
 *
 * Results:
 *	1 if all are watched and none is a symlink, else 0.
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
	char key[PATH_MAX];
	int isNew;

	if (len >= sizeof(key)) {
	    return 0;
	}
	memcpy(key, rel, len);
	key[len] = '\0';
	if (Tcl_FindHashEntry(&ch->dirs, key) == NULL) {
	    if (ch->dirs.numEntries >= MAX_WATCHES) {
		return 0;
	    }

	    /*
	     * The root is reached through its descriptor's magic link;
	     * each directory below must be a real directory.
	     */

	    if (AddWatch(ch, rootFd, rel, len, DIR_EVENTS | IN_ONLYDIR
		    | (len ? IN_DONT_FOLLOW : 0)) < 0) {
		return 0;
	    }
	    Tcl_CreateHashEntry(&ch->dirs, key, &isNew);
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
 *	The watch descriptor, or -1.
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
    Tcl_HashEntry *hPtr;
    int wd, isNew;

    if (ch->files.numEntries >= MAX_WATCHES) {
	return -1;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    wd = inotify_add_watch(ch->inotifyFd, path, FILE_EVENTS);
    if (wd < 0) {
	return -1;
    }
    hPtr = Tcl_CreateHashEntry(&ch->files, INT2PTR(wd), &isNew);
    Tcl_SetHashValue(hPtr,
	    INT2PTR(isNew ? 1 : PTR2INT(Tcl_GetHashValue(hPtr)) + 1));
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
    int users;

    if (hPtr == NULL) {
	return;				/* The kernel dropped it already. */
    }
    users = PTR2INT(Tcl_GetHashValue(hPtr)) - 1;
    if (users > 0) {
	Tcl_SetHashValue(hPtr, INT2PTR(users));
	return;
    }
    Tcl_DeleteHashEntry(hPtr);
    inotify_rm_watch(ch->inotifyFd, wd);
}

#else /* !HAVE_SYS_INOTIFY_H */

/*
 * No change source: DmChangeCreate fails, so the cache stats every hit and
 * never calls the others.
 */

DmChange *
DmChangeCreate(void)
{
    return NULL;
}

void
DmChangeDelete(
    TCL_UNUSED(DmChange *))
{
}

int
DmChangePending(
    TCL_UNUSED(DmChange *))
{
    return 1;
}

int
DmChangeWatchDirs(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int),
    TCL_UNUSED(const char *))
{
    return 0;
}

int
DmChangeWatchFile(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int))
{
    return -1;
}

void
DmChangeRelease(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int))
{
}

#endif /* HAVE_SYS_INOTIFY_H */
