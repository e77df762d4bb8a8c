/*
 * dmWinFile.c --
 *
 *	Opens files below the document root on Windows.  A path is checked
 *	twice: its names must be ones Windows opens as themselves
 *	(DmPathWinSafe: no streams, device names, trailing dots or spaces),
 *	and once open, the file's final path, as the system resolved it, must
 *	be the root's own path joined with the requested one.  So a junction,
 *	a symbolic link or an 8.3 short name (which could reach a dot file
 *	by another name) is refused unless the server follows links, and
 *	nothing outside the root is ever served.  Names compare without
 *	regard to case, as NTFS and FAT do.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"
#include "dmPath.h"

#include <stdlib.h>

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/*
 * 100-nanosecond intervals between 1601 (FILETIME's epoch) and 1970.
 */

#define EPOCH_DIFF 116444736000000000LL

/*
 *----------------------------------------------------------------------
 *
 * Wide, Narrow --
 *
 *	Convert between UTF-8 and UTF-16.  Wide leaves room for `extra'
 *	more characters.
 *
 * Results:
 *	A malloc'ed string, or NULL (errno set).
 *
 * Side effects:
 *	Allocates.
 *
 *----------------------------------------------------------------------
 */

static WCHAR *
Wide(
    const char *utf8,
    size_t extra)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1,
	    NULL, 0);
    WCHAR *w;

    if (n <= 0) {
	errno = ENOENT;
	return NULL;
    }
    w = malloc(((size_t) n + extra) * sizeof(WCHAR));
    if (w == NULL) {
	errno = ENOMEM;
	return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n);
    return w;
}

static char *
Narrow(
    const WCHAR *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s;

    if (n <= 0 || (s = malloc((size_t) n)) == NULL) {
	errno = ENOMEM;
	return NULL;
    }
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

/*
 *----------------------------------------------------------------------
 *
 * FinalPath --
 *
 *	The path the system resolved an open file to ("\\?\C:\..." form,
 *	links and short names expanded).
 *
 * Results:
 *	A malloc'ed string, or NULL with errno set.
 *
 * Side effects:
 *	Allocates.
 *
 *----------------------------------------------------------------------
 */

static WCHAR *
FinalPath(
    HANDLE h)
{
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, VOLUME_NAME_DOS);
    WCHAR *w;

    if (n == 0) {
	errno = DmWinErrno(GetLastError());
	return NULL;
    }
    w = malloc(((size_t) n + 1) * sizeof(WCHAR));
    if (w == NULL) {
	errno = ENOMEM;
	return NULL;
    }
    if (GetFinalPathNameByHandleW(h, w, n + 1, VOLUME_NAME_DOS) == 0) {
	errno = DmWinErrno(GetLastError());
	free(w);
	return NULL;
    }
    return w;
}

/*
 *----------------------------------------------------------------------
 *
 * Nanoseconds, FillInfo --
 *
 *	A FILETIME in nanoseconds since 1970, clamped to what 64 bits hold;
 *	and what the server uses of an open file's description.
 *
 * Results:
 *	Nanoseconds: the time.  FillInfo: 0, or -1 with errno set.
 *
 * Side effects:
 *	FillInfo fills *infoPtr.
 *
 *----------------------------------------------------------------------
 */

static int64_t
Nanoseconds(
    FILETIME ft)
{
    int64_t t = (int64_t) (((uint64_t) ft.dwHighDateTime << 32)
	    | ft.dwLowDateTime) - EPOCH_DIFF;

    if (t > INT64_MAX / 100) {
	return INT64_MAX;
    }
    if (t < INT64_MIN / 100) {
	return INT64_MIN;
    }
    return t * 100;
}

static int
FillInfo(
    HANDLE h,
    DmFileInfo *infoPtr)
{
    BY_HANDLE_FILE_INFORMATION fi;
    FILE_BASIC_INFO bi;

    if (!GetFileInformationByHandle(h, &fi)) {
	errno = DmWinErrno(GetLastError());
	return -1;
    }
    infoPtr->size = ((uint64_t) fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
    infoPtr->mtimeNs = Nanoseconds(fi.ftLastWriteTime);
    infoPtr->mtime = infoPtr->mtimeNs / 1000000000;

    /*
     * The change time moves with every write, even one whose modification
     * time is then set back: what tells a same-size rewrite apart.
     */

    if (GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof(bi))) {
	FILETIME ct;

	ct.dwLowDateTime = (DWORD) bi.ChangeTime.QuadPart;
	ct.dwHighDateTime = (DWORD) (bi.ChangeTime.QuadPart >> 32);
	infoPtr->ctimeNs = Nanoseconds(ct);
    } else {
	infoPtr->ctimeNs = infoPtr->mtimeNs;
    }
    if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
	infoPtr->kind = DM_FILE_DIRECTORY;
    } else if (GetFileType(h) == FILE_TYPE_DISK
	    && !(fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
	infoPtr->kind = DM_FILE_REGULAR;
    } else {
	infoPtr->kind = DM_FILE_OTHER;
    }
    infoPtr->dev = fi.dwVolumeSerialNumber;
    infoPtr->ino = ((uint64_t) fi.nFileIndexHigh << 32) | fi.nFileIndexLow;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Open --
 *
 *	CreateFileW for reading what exists, directories included, shared
 *	with writers and with deletion (as files are on Unix); with
 *	noFollow, a final link is opened itself.
 *
 * Results:
 *	The handle, or INVALID_HANDLE_VALUE with errno set.
 *
 * Side effects:
 *	Opens a handle, not inherited by children.
 *
 *----------------------------------------------------------------------
 */

static HANDLE
Open(
    const WCHAR *path,
    DWORD access,
    int noFollow)
{
    HANDLE h = CreateFileW(path, access, SHARE_ALL, NULL, OPEN_EXISTING,
	    FILE_FLAG_BACKUP_SEMANTICS
	    | (noFollow ? FILE_FLAG_OPEN_REPARSE_POINT : 0), NULL);

    if (h == INVALID_HANDLE_VALUE) {
	errno = DmWinErrno(GetLastError());
    }
    return h;
}

/*
 *----------------------------------------------------------------------
 *
 * JoinRoot --
 *
 *	The root's path joined with a normalised relative path, '/' turned
 *	into '\' and a trailing separator dropped.
 *
 * Results:
 *	A malloc'ed string, or NULL with errno set (ENOENT for a name that
 *	Windows would not open as itself).
 *
 * Side effects:
 *	Allocates.
 *
 *----------------------------------------------------------------------
 */

static WCHAR *
JoinRoot(
    const WCHAR *root,
    const char *relPath)
{
    size_t rootLen = wcslen(root);
    WCHAR *rel, *w, *p;

    if (!DmPathWinSafe(relPath, strlen(relPath))) {
	errno = ENOENT;
	return NULL;
    }
    rel = Wide(relPath, 0);
    if (rel == NULL) {
	return NULL;
    }
    w = malloc((rootLen + wcslen(rel) + 1) * sizeof(WCHAR));
    if (w == NULL) {
	free(rel);
	errno = ENOMEM;
	return NULL;
    }
    wcscpy(w, root);
    wcscpy(w + rootLen, rel);
    free(rel);
    for (p = w + rootLen; *p != 0; p++) {
	if (*p == '/') {
	    *p = '\\';
	}
    }
    while (p > w + rootLen && p[-1] == '\\') {
	*--p = 0;
    }
    return w;
}

/*
 *----------------------------------------------------------------------
 *
 * SamePath --
 *
 *	Whether two paths are equal without regard to case.
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
SamePath(
    const WCHAR *a,
    const WCHAR *b)
{
    return CompareStringOrdinal(a, -1, b, -1, TRUE) == CSTR_EQUAL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenRoot --
 *
 *	Opens the document root as a directory.
 *
 * Results:
 *	The handle, or -1 with errno set.  *realPtr receives the root's
 *	final path in UTF-8 (malloc'ed; the caller frees it).
 *
 * Side effects:
 *	Opens a handle.
 *
 *----------------------------------------------------------------------
 */

int
DmFileOpenRoot(
    const void *nativePath,
    char **realPtr)
{
    HANDLE h = Open((const WCHAR *) nativePath, FILE_READ_ATTRIBUTES, 0);
    WCHAR *final;
    DmFileInfo info;

    if (h == INVALID_HANDLE_VALUE) {
	return -1;
    }
    info.kind = -1;
    if (FillInfo(h, &info) == 0 && info.kind != DM_FILE_DIRECTORY) {
	errno = ENOTDIR;
	info.kind = -1;
    }
    if (info.kind != DM_FILE_DIRECTORY || (final = FinalPath(h)) == NULL) {
	CloseHandle(h);
	return -1;
    }
    *realPtr = Narrow(final);
    free(final);
    if (*realPtr == NULL) {
	CloseHandle(h);
	return -1;
    }
    return DM_FD(h);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenBeneath --
 *
 *	Opens relPath (a normalised path starting with '/') below the root:
 *	see the top of this file.
 *
 * Results:
 *	A handle with *infoPtr filled, or -1 with *statusPtr set to the
 *	HTTP status to answer (404 for anything refused, as for a missing
 *	file).
 *
 * Side effects:
 *	Opens a handle.
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
    WCHAR *root = Wide(realRoot, 0), *path = NULL, *final = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;

    (void) rootFd;
    if (root == NULL || (path = JoinRoot(root, relPath)) == NULL) {
	goto failed;
    }
    h = Open(path, GENERIC_READ, 0);
    if (h == INVALID_HANDLE_VALUE) {
	goto failed;
    }
    if (!followSymlinks) {
	final = FinalPath(h);
	if (final == NULL) {
	    goto failed;
	}
	if (!SamePath(final, path)) {
	    errno = ENOENT;
	    goto failed;
	}
    }
    if (FillInfo(h, infoPtr) < 0) {
	goto failed;
    }
    free(root);
    free(path);
    free(final);
    return DM_FD(h);

  failed:
    *statusPtr = DmStatusFromErrno(errno);
    if (h != INVALID_HANDLE_VALUE) {
	CloseHandle(h);
    }
    free(root);
    free(path);
    free(final);
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileStat --
 *
 *	Describes relPath below the root, for the cache to check that a
 *	file it holds is still the same version; with noFollow a final
 *	link is described itself, so it never matches a file.
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
    WCHAR *root = FinalPath(DM_HANDLE(rootFd)), *path = NULL;
    HANDLE h;
    int result = -1;

    if (root != NULL && (path = JoinRoot(root, relPath)) != NULL) {
	h = Open(path, FILE_READ_ATTRIBUTES, noFollow);
	if (h != INVALID_HANDLE_VALUE) {
	    result = FillInfo(h, infoPtr);
	    CloseHandle(h);
	}
    }
    free(root);
    free(path);
    return result;
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
 *	Whatever proc does; the handle stays open.
 *
 *----------------------------------------------------------------------
 */

int
DmFileListDir(
    int fd,
    DmDirNameProc *proc,
    void *clientData)
{
    WCHAR *dir = FinalPath(DM_HANDLE(fd)), *pattern;
    WIN32_FIND_DATAW fd32;
    HANDLE find;
    size_t len;

    if (dir == NULL) {
	return -1;
    }
    len = wcslen(dir);
    pattern = realloc(dir, (len + 3) * sizeof(WCHAR));
    if (pattern == NULL) {
	free(dir);
	return -1;
    }
    wcscpy(pattern + len, L"\\*");
    find = FindFirstFileW(pattern, &fd32);
    free(pattern);
    if (find == INVALID_HANDLE_VALUE) {
	return -1;
    }
    do {
	char *name;

	if (wcscmp(fd32.cFileName, L".") == 0
		|| wcscmp(fd32.cFileName, L"..") == 0) {
	    continue;
	}
	name = Narrow(fd32.cFileName);
	if (name != NULL) {
	    proc(clientData, name);
	    free(name);
	}
    } while (FindNextFileW(find, &fd32));
    FindClose(find);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileRead --
 *
 *	Reads at an offset.
 *
 * Results:
 *	Bytes read, 0 at end of file, -1 with errno set.
 *
 * Side effects:
 *	Moves the handle's own position, which nothing here uses.
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
    OVERLAPPED ov;
    DWORD got = 0;

    memset(&ov, 0, sizeof(ov));
    ov.Offset = (DWORD) offset;
    ov.OffsetHigh = (DWORD) (offset >> 32);
    if (len > 0x40000000) {
	len = 0x40000000;
    }
    if (!ReadFile(DM_HANDLE(fd), buf, (DWORD) len, &got, &ov)) {
	DWORD err = GetLastError();

	if (err == ERROR_HANDLE_EOF) {
	    return 0;
	}
	errno = DmWinErrno(err);
	return -1;
    }
    return (long) got;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileIsRegular, DmFileClose --
 *
 *	Whether a handle is a regular file on disk (only those can be read
 *	by offset), and close a handle.
 *
 * Results:
 *	DmFileIsRegular: 1 or 0.
 *
 * Side effects:
 *	DmFileClose closes.
 *
 *----------------------------------------------------------------------
 */

int
DmFileIsRegular(
    int fd)
{
    DmFileInfo info;

    return FillInfo(DM_HANDLE(fd), &info) == 0
	    && info.kind == DM_FILE_REGULAR;
}

void
DmFileClose(
    int fd)
{
    CloseHandle(DM_HANDLE(fd));
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileOpenPath --
 *
 *	Opens a file by its path, for a handler that named it: the
 *	program's choice, so no root and no link policy apply.
 *
 * Results:
 *	A handle with *infoPtr filled, or -1 with *statusPtr set to the
 *	HTTP status to answer.
 *
 * Side effects:
 *	Opens a handle.
 *
 *----------------------------------------------------------------------
 */

int
DmFileOpenPath(
    const void *nativePath,	/* As Tcl_FSGetNativePath gives it. */
    DmFileInfo *infoPtr,
    int *statusPtr)
{
    HANDLE h = Open((const WCHAR *) nativePath, GENERIC_READ, 0);

    if (h == INVALID_HANDLE_VALUE || FillInfo(h, infoPtr) < 0) {
	*statusPtr = DmStatusFromErrno(errno);
	if (h != INVALID_HANDLE_VALUE) {
	    CloseHandle(h);
	}
	return -1;
    }
    return DM_FD(h);
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileTemp, DmFileWrite, DmFileRemove --
 *
 *	A temporary file for a request body: made in the user's temporary
 *	folder (%TMP%, private to the user) and named as on Unix; written
 *	whole; removed.  Paths are UTF-8, as Tcl gives them.
 *
 * Results:
 *	DmFileTemp: a handle open for writing, *pathPtr its path
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
    static LONG counter = 0;
    WCHAR dir[MAX_PATH + 1], name[MAX_PATH + 64];
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD err = ERROR_FILE_EXISTS;
    int tries;
    char *p;

    if (GetTempPathW(MAX_PATH + 1, dir) == 0) {
	errno = DmWinErrno(GetLastError());
	return -1;
    }
    for (tries = 0; tries < 100 && err == ERROR_FILE_EXISTS; tries++) {
	_snwprintf(name, MAX_PATH + 64, L"%lsdustmote-body-%lu-%ld-%lu", dir,
		(unsigned long) GetCurrentProcessId(),
		(long) InterlockedIncrement(&counter),
		(unsigned long) GetTickCount());
	h = CreateFileW(name, GENERIC_WRITE, SHARE_ALL, NULL, CREATE_NEW,
		FILE_ATTRIBUTE_TEMPORARY, NULL);
	err = (h == INVALID_HANDLE_VALUE) ? GetLastError() : 0;
    }
    if (h == INVALID_HANDLE_VALUE) {
	errno = DmWinErrno(err);
	return -1;
    }
    *pathPtr = Narrow(name);
    if (*pathPtr == NULL) {
	CloseHandle(h);
	DeleteFileW(name);
	return -1;
    }
    for (p = *pathPtr; *p != '\0'; p++) {
	if (*p == '\\') {
	    *p = '/';			/* As Tcl writes paths. */
	}
    }
    return DM_FD(h);
}

int
DmFileWrite(
    int fd,
    const char *buf,
    size_t len)
{
    while (len > 0) {
	DWORD n = 0, want = len > 0x40000000 ? 0x40000000 : (DWORD) len;

	if (!WriteFile(DM_HANDLE(fd), buf, want, &n, NULL) || n == 0) {
	    errno = DmWinErrno(GetLastError());
	    return -1;
	}
	buf += n;
	len -= n;
    }
    return 0;
}

void
DmFileRemove(
    const char *path)
{
    WCHAR *w = Wide(path, 0);

    if (w != NULL) {
	DeleteFileW(w);
	free(w);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmFileMap, DmFileUnmap --
 *
 *	Map a whole file into memory, read-only, and unmap it.
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
    HANDLE h = Open((const WCHAR *) nativePath, GENERIC_READ, 0), map;
    DmFileInfo info;
    void *addr;

    if (h == INVALID_HANDLE_VALUE) {
	return NULL;
    }
    if (FillInfo(h, &info) < 0) {
	CloseHandle(h);
	return NULL;
    }
    *lenPtr = info.size;
    if (info.size == 0) {
	CloseHandle(h);
	return "";
    }
    map = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
    CloseHandle(h);
    if (map == NULL) {
	errno = DmWinErrno(GetLastError());
	return NULL;
    }
    addr = MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0);
    CloseHandle(map);			/* The view keeps it. */
    if (addr == NULL) {
	errno = DmWinErrno(GetLastError());
    }
    return (const char *) addr;
}

void
DmFileUnmap(
    const char *addr,
    uint64_t len)
{
    if (len > 0) {
	UnmapViewOfFile(addr);
    }
}
