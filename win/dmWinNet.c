/*
 * dmWinNet.c --
 *
 *	Sockets on Windows: what generic/dmSock.c builds on (Winsock made
 *	ready, a socket that is non-blocking and not inherited, accept,
 *	Winsock errors as errno values), the calls the connection code makes
 *	to move bytes, and the poll event set's WSAPoll and wake-up pair.
 *	File bodies are in dmWinSendFile.c.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

/*
 * Winsock errors and the Win32 errors of file calls, as errno values.
 */

static const struct {
    DWORD err;
    int errnoValue;
} errorMap[] = {
    {WSAEWOULDBLOCK, EAGAIN}, {WSAEINTR, EINTR}, {WSAEINPROGRESS, EAGAIN},
    {WSAECONNRESET, ECONNRESET}, {WSAECONNABORTED, ECONNABORTED},
    {WSAENETRESET, ECONNRESET}, {WSAESHUTDOWN, EPIPE},
    {WSAENOTCONN, ENOTCONN}, {WSAEMFILE, EMFILE}, {WSAENOBUFS, ENOBUFS},
    {WSAEADDRINUSE, EADDRINUSE}, {WSAEADDRNOTAVAIL, EADDRNOTAVAIL},
    {WSAEACCES, EACCES}, {WSAENOTSOCK, ENOTSOCK}, {WSAEBADF, EBADF},
    {WSAEINVAL, EINVAL}, {WSAEAFNOSUPPORT, EAFNOSUPPORT},
    {WSAEPROTOTYPE, EPROTOTYPE}, {WSAETIMEDOUT, ETIMEDOUT},
    {WSAEHOSTUNREACH, EHOSTUNREACH}, {WSAENETDOWN, ENETDOWN},
    {WSAEMSGSIZE, EMSGSIZE}, {WSANOTINITIALISED, EINVAL},
    {ERROR_FILE_NOT_FOUND, ENOENT}, {ERROR_PATH_NOT_FOUND, ENOENT},
    {ERROR_INVALID_NAME, ENOENT}, {ERROR_BAD_NETPATH, ENOENT},
    {ERROR_ACCESS_DENIED, EACCES}, {ERROR_SHARING_VIOLATION, EACCES},
    {ERROR_LOCK_VIOLATION, EACCES}, {ERROR_CANT_ACCESS_FILE, EACCES},
    {ERROR_TOO_MANY_OPEN_FILES, EMFILE}, {ERROR_NOT_ENOUGH_MEMORY, ENOMEM},
    {ERROR_OUTOFMEMORY, ENOMEM}, {ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG},
    {ERROR_DIRECTORY, ENOTDIR}, {ERROR_FILE_EXISTS, EEXIST},
    {ERROR_ALREADY_EXISTS, EEXIST}, {ERROR_HANDLE_EOF, 0},
    {ERROR_BROKEN_PIPE, EPIPE}, {ERROR_INVALID_HANDLE, EBADF},
    {ERROR_DISK_FULL, ENOSPC}, {ERROR_CANT_RESOLVE_FILENAME, ELOOP},
    {0, 0}
};

/*
 *----------------------------------------------------------------------
 *
 * DmWinErrno --
 *
 *	Translates a Winsock or Win32 error code.
 *
 * Results:
 *	The errno value (EIO for codes not in the table).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmWinErrno(
    DWORD err)
{
    int i;

    for (i = 0; errorMap[i].err != 0; i++) {
	if (errorMap[i].err == err) {
	    return errorMap[i].errnoValue;
	}
    }
    return EIO;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetStartup --
 *
 *	Makes Winsock ready for this module, once (WSAStartup counts its
 *	callers, so Tcl's own use of it is unaffected).
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Loads Winsock.
 *
 *----------------------------------------------------------------------
 */

int
DmNetStartup(void)
{
    static int started = 0;
    TCL_DECLARE_MUTEX(startLock)
    WSADATA data;
    int err = 0;

    Tcl_MutexLock(&startLock);
    if (!started) {
	err = WSAStartup(MAKEWORD(2, 2), &data);
	started = (err == 0);
    }
    Tcl_MutexUnlock(&startLock);
    if (err != 0) {
	errno = DmWinErrno((DWORD) err);
	return -1;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSocket, DmNetInherit, DmNetFailed --
 *
 *	Make a socket that is non-blocking and not inherited by children;
 *	make an adopted one not inherited, or let processes started from now
 *	inherit a socket (inherit 1); turn the last Winsock error into
 *	errno.
 *
 * Results:
 *	DmNetSocket: the socket or -1; DmNetInherit: 0 or -1; DmNetFailed:
 *	-1.  errno is set on failure.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

int
DmNetSocket(
    int family,
    int type,
    int protocol)
{
    SOCKET s;

    if (DmNetStartup() < 0) {
	return -1;
    }
    s = WSASocketW(family, type, protocol, NULL, 0,
	    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
	return DmNetFailed();
    }
    if (DmNetSetBlocking(DM_FD(s), 0) < 0) {
	int err = errno;

	closesocket(s);
	errno = err;
	return -1;
    }
    return DM_FD(s);
}

int
DmNetInherit(
    int fd,
    int inherit)
{
    if (!SetHandleInformation(DM_HANDLE(fd), HANDLE_FLAG_INHERIT,
	    inherit ? HANDLE_FLAG_INHERIT : 0)) {
	errno = DmWinErrno(GetLastError());
	return -1;
    }
    return 0;
}

int
DmNetFailed(void)
{
    errno = DmWinErrno((DWORD) WSAGetLastError());
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetAcceptRaw --
 *
 *	accept() with the new socket non-blocking (it inherits that from
 *	the listening socket), not inherited by children, and with Nagle
 *	off.
 *
 * Results:
 *	The socket, or -1 with errno set (EAGAIN when none is waiting).
 *
 * Side effects:
 *	Fills *sa and *lenPtr with the peer's address.
 *
 *----------------------------------------------------------------------
 */

int
DmNetAcceptRaw(
    int listenFd,
    struct sockaddr *sa,
    socklen_t *lenPtr)
{
    SOCKET s = accept(DM_SOCKET(listenFd), sa, lenPtr);
    BOOL one = TRUE;

    if (s == INVALID_SOCKET) {
	return DmNetFailed();
    }
    DmNetInherit(DM_FD(s), 0);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const void *) &one,
	    sizeof(one));
    return DM_FD(s);
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetRead, DmNetSend --
 *
 *	Read what a socket has (with peek set, leaving it there), and send
 *	up to four buffers in one call.  Windows has no MSG_MORE: "more" is
 *	a hint it cannot take.
 *
 * Results:
 *	Bytes moved (DmNetRead: 0 at the end of input), or -1 with errno
 *	set.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

long
DmNetRead(
    int fd,
    char *buf,
    size_t len,
    int peek)
{
    int n = recv(DM_SOCKET(fd), buf, len > INT_MAX ? INT_MAX : (int) len,
	    peek ? MSG_PEEK : 0);

    return (n == SOCKET_ERROR) ? DmNetFailed() : n;
}

long
DmNetSend(
    int fd,
    const DmBuf *bufs,
    int count,
    int more)
{
    WSABUF wb[4];
    DWORD sent = 0;
    int i, n = 0;

    (void) more;
    for (i = 0; i < count && n < 4; i++) {
	if (bufs[i].len > 0) {
	    wb[n].buf = (char *) bufs[i].ptr;
	    wb[n].len = (ULONG) bufs[i].len;
	    n++;
	}
    }
    if (WSASend(DM_SOCKET(fd), wb, (DWORD) n, &sent, 0, NULL, NULL) != 0) {
	return DmNetFailed();
    }
    return (long) sent;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetTuneListener --
 *
 *	Windows has no equivalent of Linux's TCP_DEFER_ACCEPT (AcceptEx can
 *	wait for data only through overlapped I/O) nor of TCP_NOTSENT_LOWAT:
 *	nothing to do.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

void
DmNetTuneListener(
    int listenFd,
    int deferAccept,
    int sendLowat)
{
    (void) listenFd;
    (void) deferAccept;
    (void) sendLowat;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSetBlocking, DmNetClose --
 *
 *	Make a socket's calls block or not, and close it.
 *
 * Results:
 *	DmNetSetBlocking: 0 or -1 with errno set.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

int
DmNetSetBlocking(
    int fd,
    int blocking)
{
    u_long nonBlocking = blocking ? 0 : 1;

    if (ioctlsocket(DM_SOCKET(fd), FIONBIO, &nonBlocking) != 0) {
	return DmNetFailed();
    }
    return 0;
}

void
DmNetClose(
    int fd)
{
    DmWinSendFileClosed(fd);
    closesocket(DM_SOCKET(fd));
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetPoll --
 *
 *	Waits in WSAPoll with no timeout, for the poll event set.
 *
 * Results:
 *	The number of ready entries, or -1 with errno set.
 *
 * Side effects:
 *	Fills the revents fields.
 *
 *----------------------------------------------------------------------
 */

int
DmNetPoll(
    struct pollfd *fds,
    int count)
{
    int n = WSAPoll(fds, (ULONG) count, -1);

    return (n == SOCKET_ERROR) ? DmNetFailed() : n;
}

/*
 *----------------------------------------------------------------------
 *
 * DmWakeOpen, DmWakePoke, DmWakeDrain, DmWakeClose --
 *
 *	The poll event set's wake-up channel: WSAPoll waits on sockets
 *	only, so it is a pair of connected loopback sockets, both
 *	non-blocking; fds[0] is polled, fds[1] poked.
 *
 * Results:
 *	DmWakeOpen: 0, or -1 with errno set.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

int
DmWakeOpen(
    int fds[2])
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int lfd, a = -1, b = -1;

    if ((lfd = DmNetSocket(AF_INET, SOCK_STREAM, 0)) < 0) {
	return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(DM_SOCKET(lfd), (struct sockaddr *) &sin, sizeof(sin)) != 0
	    || listen(DM_SOCKET(lfd), 1) != 0
	    || getsockname(DM_SOCKET(lfd), (struct sockaddr *) &sin,
		&len) != 0
	    || (b = DmNetSocket(AF_INET, SOCK_STREAM, 0)) < 0) {
	goto failed;
    }
    DmNetSetBlocking(b, 1);
    if (connect(DM_SOCKET(b), (struct sockaddr *) &sin, sizeof(sin)) != 0) {
	goto failed;
    }
    DmNetSetBlocking(lfd, 1);
    a = DmNetAcceptRaw(lfd, NULL, NULL);
    if (a < 0 || DmNetSetBlocking(a, 0) < 0 || DmNetSetBlocking(b, 0) < 0) {
	goto failed;
    }
    DmNetClose(lfd);
    fds[0] = a;
    fds[1] = b;
    return 0;

  failed:
    DmNetFailed();
    {
	int err = errno;

	DmNetClose(lfd);
	if (a >= 0) {
	    DmNetClose(a);
	}
	if (b >= 0) {
	    DmNetClose(b);
	}
	errno = err;
    }
    return -1;
}

void
DmWakePoke(
    int fd)
{
    send(DM_SOCKET(fd), "", 1, 0);
}

void
DmWakeDrain(
    int fd)
{
    char buf[64];

    while (recv(DM_SOCKET(fd), buf, sizeof(buf), 0) > 0) {
    }
}

void
DmWakeClose(
    int fds[2])
{
    DmNetClose(fds[0]);
    DmNetClose(fds[1]);
}
