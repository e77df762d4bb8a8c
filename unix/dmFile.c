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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <dirent.h>
#ifdef HAVE_LINUX_OPENAT2_H
#   include <sys/syscall.h>
#   include <linux/openat2.h>
#endif

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/*
 * Bounds of a walk below the root without openat2: symbolic links
 * followed (the kernel's own limit), and directories deep.
 */

#define MAX_WALK_LINKS	40
#define MAX_WALK_DEPTH	256

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
    const void *nativePath,	/* As Tcl_FSGetNativePath gives it. */
    char **realPtr)
{
    const char *path = nativePath;
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
 * Nanoseconds --
 *
 *	A file time in nanoseconds since the epoch, clamped to what 64 bits
 *	hold (until the year 2262): a file stamped later, which some file
 *	systems allow, must not overflow.
 *
 * Results:
 *	The time.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int64_t
Nanoseconds(
    const struct timespec *ts)
{
    const int64_t maxSec = INT64_MAX / 1000000000 - 1;

    if (ts->tv_sec > maxSec) {
	return INT64_MAX;
    }
    if (ts->tv_sec < -maxSec) {
	return INT64_MIN;
    }
    return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
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
    infoPtr->mtimeNs = Nanoseconds(&st->st_mtim);
    infoPtr->ctimeNs = Nanoseconds(&st->st_ctim);
}

/*
 *----------------------------------------------------------------------
 *
 * NextComponent --
 *
 *	Takes the next name off a relative path: skips slashes and copies
 *	the name into name[NAME_MAX + 1].
 *
 * Results:
 *	1 with the name copied and *restPtr advanced past it; 0 when the
 *	path is used up; -1 for a name longer than NAME_MAX.
 *
 * Side effects:
 *	Advances *restPtr.
 *
 *----------------------------------------------------------------------
 */

static int
NextComponent(
    const char **restPtr,
    char *name)
{
    const char *p = *restPtr, *q;

    while (*p == '/') {
	p++;
    }
    *restPtr = p;
    if (*p == '\0') {
	return 0;
    }
    for (q = p; *q != '\0' && *q != '/'; q++) {
	/* Find the name's end. */
    }
    if (q - p > NAME_MAX) {
	return -1;
    }
    memcpy(name, p, (size_t) (q - p));
    name[q - p] = '\0';
    *restPtr = q;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * WalkBeneath --
 *
 *	Opens relPath below the root one name at a time, following symbolic
 *	links only while they lead to places inside the root, and opening
 *	nothing outside it, not even to look.  Each name is first reached
 *	with O_PATH|O_NOFOLLOW, which opens no file (a device, a FIFO or an
 *	automount feels nothing); a link's text is read and resolved here;
 *	only the final name, below the root, is opened for reading.  An
 *	absolute link is inside only if it names the root's canonical path
 *	or something below it.  This is what openat2's RESOLVE_BENEATH does
 *	in the kernel, for the links it refuses (absolute ones) and for
 *	kernels without it.
 *
 * Results:
 *	A descriptor, or -1 with *statusPtr set: 404 for anything that
 *	leaves the root, as for a missing file.
 *
 * Side effects:
 *	Opens a descriptor.
 *
 *----------------------------------------------------------------------
 */

static int
WalkBeneath(
    int rootFd,
    const char *realRoot,
    const char *relPath,
    int *statusPtr)
{
    char path[PATH_MAX], link[PATH_MAX], name[NAME_MAX + 1];
    const char *rest;
    int dirs[MAX_WALK_DEPTH + 1];	/* dirs[0] is the root: not ours. */
    int depth = 0, links = 0, fd = -1, r;
    size_t rootLen = strlen(realRoot);

    if (strlen(relPath) >= sizeof(path)) {
	*statusPtr = 414;
	return -1;
    }
    strcpy(path, relPath);
    rest = path;
    dirs[0] = rootFd;
    *statusPtr = 404;

    while ((r = NextComponent(&rest, name)) > 0) {
	struct stat st;
	const char *target;
	size_t targetLen, restLen;
	ssize_t n;
	int at;

	if (strcmp(name, ".") == 0) {
	    continue;
	}
	if (strcmp(name, "..") == 0) {
	    if (depth == 0) {
		goto done;		/* Above the root. */
	    }
	    close(dirs[depth--]);
	    continue;
	}
	at = openat(dirs[depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (at < 0 || fstat(at, &st) < 0) {
	    *statusPtr = DmStatusFromErrno(errno);
	    if (at >= 0) {
		close(at);
	    }
	    goto done;
	}
	if (S_ISDIR(st.st_mode)) {
	    if (depth == MAX_WALK_DEPTH) {
		close(at);
		goto done;
	    }
	    dirs[++depth] = at;
	    continue;
	}
	if (!S_ISLNK(st.st_mode)) {
	    /*
	     * Not a directory: it must be the last name.  It is opened
	     * by name without following, so a link swapped in since
	     * fails.
	     */

	    close(at);
	    if (NextComponent(&rest, name) != 0) {
		*statusPtr = 404;	/* "file/more" */
		goto done;
	    }
	    fd = openat(dirs[depth], name, OPEN_FLAGS | O_NOFOLLOW);
	    if (fd < 0) {
		*statusPtr = DmStatusFromErrno(errno);
	    }
	    goto done;
	}

	/*
	 * A symbolic link: its text takes its name's place in what is
	 * left to walk, from the root if it is absolute.
	 */

	n = readlinkat(at, "", link, sizeof(link) - 1);
	close(at);
	if (n <= 0 || ++links > MAX_WALK_LINKS) {
	    goto done;
	}
	link[n] = '\0';
	target = link;
	if (link[0] == '/') {
	    if (rootLen > 1 && (strncmp(link, realRoot, rootLen) != 0
		    || (link[rootLen] != '/' && link[rootLen] != '\0'))) {
		goto done;		/* Outside: never looked at. */
	    }
	    target = link + (rootLen > 1 ? rootLen : 0);
	    while (depth > 0) {
		close(dirs[depth--]);
	    }
	}
	targetLen = strlen(target);
	restLen = strlen(rest);
	if (targetLen + 1 + restLen >= sizeof(path)) {
	    *statusPtr = 414;
	    goto done;
	}
	memmove(path + targetLen + 1, rest, restLen + 1);
	memcpy(path, target, targetLen);
	path[targetLen] = '/';
	rest = path;
    }
    if (r == 0) {
	fd = openat(dirs[depth], ".", OPEN_FLAGS);	/* A directory. */
	if (fd < 0) {
	    *statusPtr = DmStatusFromErrno(errno);
	}
    } else {
	*statusPtr = 414;		/* A name longer than NAME_MAX. */
    }

  done:
    while (depth > 0) {
	close(dirs[depth--]);
    }
    return fd;
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
 *	(absolute ones) are resolved by WalkBeneath, which never opens
 *	anything outside the root.
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

    if (followSymlinks) {
	fd = openat(rootFd, rel, OPEN_FLAGS);
	if (fd < 0) {
	    *statusPtr = DmStatusFromErrno(errno);
	    return -1;
	}
    } else {
#ifdef HAVE_LINUX_OPENAT2_H
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = OPEN_FLAGS;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int) syscall(SYS_openat2, rootFd, rel, &how, sizeof(how));
	if (fd < 0 && errno != EXDEV && errno != ENOSYS && errno != EAGAIN) {
	    *statusPtr = DmStatusFromErrno(errno);
	    return -1;
	}
#endif
	if (fd < 0) {
	    fd = WalkBeneath(rootFd, realRoot, relPath, statusPtr);
	    if (fd < 0) {
		return -1;
	    }
	}
    }
    if (fstat(fd, &st) < 0) {
	*statusPtr = DmStatusFromErrno(errno);
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
 * DmFileListDir --
 *
 *	Calls proc with each name in an open directory but "." and "..".
 *
 * Results:
 *	0, or -1 if the directory cannot be read.
 *
 * Side effects:
 *	Whatever proc does; fd stays open.
 *
 *----------------------------------------------------------------------
 */

int
DmFileListDir(
    int fd,
    DmDirNameProc *proc,
    void *clientData)
{
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *dir = (copy < 0) ? NULL : fdopendir(copy);
    struct dirent *de;

    if (dir == NULL) {
	if (copy >= 0) {
	    close(copy);
	}
	return -1;
    }
    rewinddir(dir);
    while ((de = readdir(dir)) != NULL) {
	if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
	    proc(clientData, de->d_name);
	}
    }
    closedir(dir);
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

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenPath --
 *
 *	Opens a file by its path, for a handler that named it:
 *	the program's choice, so no root and no symlink policy apply.
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
DmFileOpenPath(
    const void *nativePath,	/* As Tcl_FSGetNativePath gives it. */
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    struct stat st;
    int fd = open((const char *) nativePath, OPEN_FLAGS);

    if (fd < 0 || fstat(fd, &st) < 0) {
	*statusPtr = DmStatusFromErrno(errno);
	if (fd >= 0) {
	    close(fd);
	}
	return -1;
    }
    FillInfo(&st, infoPtr);
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileTemp, DmFileWrite, DmFileRemove --
 *
 *	A temporary file for a request body: made in $TMPDIR (or /tmp),
 *	readable by the owner only; written whole; removed.
 *
 * Results:
 *	DmFileTemp: a descriptor open for writing, *pathPtr its path
 *	(malloc'ed), or -1 with errno set.  DmFileWrite: 0 or -1.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

int
DmFileTemp(
    char **pathPtr)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    int fd;

    if (dir == NULL || *dir == '\0') {
	dir = "/tmp";
    }
    path = malloc(strlen(dir) + 32);
    if (path == NULL) {
	return -1;
    }
    sprintf(path, "%s/dustmote-body-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0) {
	free(path);
	return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *pathPtr = path;
    return fd;
}

int
DmFileWrite(
    int fd,
    const char *buf,
    size_t len)
{
    while (len > 0) {
	ssize_t n = write(fd, buf, len);

	if (n < 0 && errno == EINTR) {
	    continue;
	}
	if (n <= 0) {
	    return -1;
	}
	buf += n;
	len -= (size_t) n;
    }
    return 0;
}

void
DmFileRemove(
    const char *path)
{
    unlink(path);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileMap, DmFileUnmap --
 *
 *	Map a whole file into memory, read-only (a spooled request body, to
 *	be taken apart without reading it in), and unmap it.
 *
 * Results:
 *	DmFileMap: the address (a valid empty string for an empty file)
 *	with *lenPtr the size, or NULL with errno set.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

const char *
DmFileMap(
    const void *nativePath,
    uint64_t *lenPtr)
{
    struct stat st;
    void *addr;
    int fd = open((const char *) nativePath, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
	return NULL;
    }
    if (fstat(fd, &st) < 0) {
	close(fd);
	return NULL;
    }
    *lenPtr = (uint64_t) st.st_size;
    if (st.st_size == 0) {
	close(fd);
	return "";
    }
    addr = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    return (addr == MAP_FAILED) ? NULL : (const char *) addr;
}

void
DmFileUnmap(
    const char *addr,
    uint64_t len)
{
    if (len > 0) {
	munmap((void *) addr, (size_t) len);
    }
}
