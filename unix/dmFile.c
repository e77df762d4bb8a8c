/*
 * dmFile.c --
 *
 *	Opens files below the document root on Unix.  Every file is opened
 *	once, relative to the root's descriptor, and described by fstat on
 *	that descriptor: what is checked is what is served, even if the tree
 *	changes between the request and the open.
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
#include <sys/stat.h>
#ifdef HAVE_LINUX_OPENAT2_H
#   include <sys/syscall.h>
#   include <linux/openat2.h>
#endif

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenRoot --
 *
 *	Opens the document root as a directory.
 *
 * Results:
 *	The descriptor, or -1 with errno set.  *realPtr receives the
 *	root's canonical path (malloc'ed; the caller frees it).
 *
 * Side effects:
 *	Opens a descriptor.
 *
 *----------------------------------------------------------------------
 */

int
DmFileOpenRoot(
    const char *path,
    char **realPtr)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
	return -1;
    }
    *realPtr = realpath(path, NULL);
    if (*realPtr == NULL) {
	int err = errno;

	close(fd);
	errno = err;
	return -1;
    }
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * StatusFromErrno --
 *
 *	The HTTP status for a failed open.
 *
 * Results:
 *	404, 403, 414, 503 or 500.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
StatusFromErrno(
    int err)
{
    switch (err) {
    case ENOENT: case ENOTDIR: case ELOOP: case EXDEV:
	return 404;
    case EACCES: case EPERM:
	return 403;
    case ENAMETOOLONG:
	return 414;
    case EMFILE: case ENFILE: case ENOMEM:
	return 503;
    default:
	return 500;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * FillInfo --
 *
 *	Copies what the server uses from a struct stat.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *infoPtr.
 *
 *----------------------------------------------------------------------
 */

static void
FillInfo(
    const struct stat *st,
    DmFileInfo *infoPtr)
{
    infoPtr->size = (uint64_t) st->st_size;
    infoPtr->mtime = (int64_t) st->st_mtime;
    infoPtr->kind = S_ISREG(st->st_mode) ? DM_FILE_REGULAR
	    : S_ISDIR(st->st_mode) ? DM_FILE_DIRECTORY : DM_FILE_OTHER;
    infoPtr->dev = (uint64_t) st->st_dev;
    infoPtr->ino = (uint64_t) st->st_ino;
    infoPtr->mtimeNs = (int64_t) st->st_mtim.tv_sec * 1000000000
	    + st->st_mtim.tv_nsec;
    infoPtr->ctimeNs = (int64_t) st->st_ctim.tv_sec * 1000000000
	    + st->st_ctim.tv_nsec;
}

/*
 *----------------------------------------------------------------------
 *
 * IsInside --
 *
 *	Checks where an open descriptor really lives, through the kernel's
 *	own record of its path, so no rename or symlink swap after the open
 *	can fool the check.
 *
 * Results:
 *	1 if the file lies in realRoot, else 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
IsInside(
    int fd,
    const char *realRoot)
{
    char link[64], target[PATH_MAX];
    size_t rootLen = strlen(realRoot);
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0) {
	return 0;
    }
    target[n] = '\0';
    if (rootLen == 1) {
	return 1;			/* The root is "/". */
    }
    return (size_t) n >= rootLen && memcmp(target, realRoot, rootLen) == 0
	    && (target[rootLen] == '/' || target[rootLen] == '\0');
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenBeneath --
 *
 *	Opens relPath (a normalised path starting with '/') below the root.
 *	Unless followSymlinks is set, symbolic links may be followed only
 *	while the path stays inside the root: the kernel enforces this
 *	(openat2 RESOLVE_BENEATH) where it can, and links it refuses
 *	(absolute ones) are opened and then checked by where they landed.
 *
 * Results:
 *	A descriptor with *infoPtr filled, or -1 with *statusPtr set to the
 *	HTTP status to answer.
 *
 * Side effects:
 *	Opens a descriptor.
 *
 *----------------------------------------------------------------------
 */

int
DmFileOpenBeneath(
    int rootFd,
    const char *realRoot,
    const char *relPath,
    int followSymlinks,
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    const char *rel = (relPath[1] == '\0') ? "." : relPath + 1;
    struct stat st;
    int fd = -1;

#ifdef HAVE_LINUX_OPENAT2_H
    if (!followSymlinks) {
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = OPEN_FLAGS;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int) syscall(SYS_openat2, rootFd, rel, &how, sizeof(how));
	if (fd < 0 && errno != EXDEV && errno != ENOSYS && errno != EAGAIN) {
	    *statusPtr = StatusFromErrno(errno);
	    return -1;
	}
    }
#endif
    if (fd < 0) {
	fd = openat(rootFd, rel, OPEN_FLAGS);
	if (fd < 0) {
	    *statusPtr = StatusFromErrno(errno);
	    return -1;
	}
	if (!followSymlinks && !IsInside(fd, realRoot)) {
	    close(fd);
	    *statusPtr = 404;
	    return -1;
	}
    }
    if (fstat(fd, &st) < 0) {
	*statusPtr = StatusFromErrno(errno);
	close(fd);
	return -1;
    }
    FillInfo(&st, infoPtr);
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileStat --
 *
 *	Describes relPath below the root without opening it, for the cache
 *	to check that a file it holds is still the same version.  It does
 *	not enforce the symlink policy: the caller only trusts the answer if
 *	it names a file that was opened safely before.  With noFollow a
 *	final symlink is described itself, so it never matches a file.
 *
 * Results:
 *	0 with *infoPtr filled, or -1 with errno set.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmFileStat(
    int rootFd,
    const char *relPath,
    int noFollow,
    DmFileInfo *infoPtr)
{
    struct stat st;

    if (fstatat(rootFd, (relPath[1] == '\0') ? "." : relPath + 1, &st,
	    noFollow ? AT_SYMLINK_NOFOLLOW : 0) < 0) {
	return -1;
    }
    FillInfo(&st, infoPtr);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileRead --
 *
 *	Reads at an offset, leaving the descriptor's position alone.
 *
 * Results:
 *	Bytes read, 0 at end of file, -1 with errno set.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

long
DmFileRead(
    int fd,
    char *buf,
    size_t len,
    uint64_t offset)
{
    long n;

    do {
	n = pread(fd, buf, len, (off_t) offset);
    } while (n < 0 && errno == EINTR);
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileIsRegular --
 *
 *	Whether a descriptor is a regular file: only those can be sent by
 *	offset (a FIFO or a device cannot).
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
DmFileIsRegular(
    int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileClose --
 *
 *	Closes a file descriptor.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

void
DmFileClose(
    int fd)
{
    close(fd);
}
