/*
 * dmNet.c --
 *
 *	Sockets on Unix: what generic/dmSock.c builds on (a socket that is
 *	non-blocking and close-on-exec from the start, accept), the calls
 *	the connection code makes to move bytes, including zero-copy
 *	sendfile, and the poll event set's wake-up pipe.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <string.h>
#include <sys/uio.h>
#ifdef HAVE_SYS_SENDFILE_H
#   include <sys/sendfile.h>
#endif

/*
 *----------------------------------------------------------------------
 *
 * DmNetSocket, DmNetInherit, DmNetFailed --
 *
 *	Make a socket that is non-blocking and close-on-exec (atomically
 *	where the system can, so a child started by another thread never
 *	inherits it); make an adopted one close-on-exec, or let processes
 *	started from now inherit a socket (inherit 1); report the last
 *	socket error, which on Unix is errno already.
 *
 * Results:
 *	DmNetSocket: the descriptor or -1; DmNetInherit: 0 or -1;
 *	DmNetFailed: -1.  errno is set on failure.
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
#ifdef SOCK_NONBLOCK
    return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
#else
    int fd = socket(family, type, protocol);

    if (fd >= 0 && (DmNetSetBlocking(fd, 0) < 0
	    || DmNetInherit(fd, 0) < 0)) {
	int err = errno;

	close(fd);
	errno = err;
	return -1;
    }
    return fd;
#endif
}

int
DmNetInherit(
    int fd,
    int inherit)
{
    return fcntl(fd, F_SETFD, inherit ? 0 : FD_CLOEXEC);
}

int
DmNetFailed(void)
{
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetAcceptRaw --
 *
 *	accept(2) with the new socket non-blocking and close-on-exec from
 *	the start, and with Nagle off (Linux copies TCP_NODELAY from the
 *	listening socket; elsewhere it is set here).
 *
 * Results:
 *	The descriptor, or -1 with errno set (EAGAIN when none is waiting).
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
    int fd;

#ifdef HAVE_ACCEPT4
    fd = accept4(listenFd, sa, lenPtr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    fd = accept(listenFd, sa, lenPtr);
    if (fd >= 0) {
	DmNetSetBlocking(fd, 0);
	DmNetInherit(fd, 0);
    }
#endif
#ifndef __linux__
    if (fd >= 0) {
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
#endif
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetRead --
 *
 *	Reads what the socket has, up to len bytes; with peek set, leaves
 *	it there (DmNetRecv is the ordinary read).
 *
 * Results:
 *	Bytes read, 0 at end of stream, -1 with errno set.
 *
 * Side effects:
 *	Consumes socket input unless peeking.
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
    long n;

    do {
	n = recv(fd, buf, len, peek ? MSG_PEEK : 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSend --
 *
 *	Sends a few buffers (at most four) in one system call.  With `more' set the
 *	kernel is told a file follows, so a small head shares a packet with
 *	the start of the sendfile data (MSG_MORE, like TCP_CORK without two
 *	extra calls).
 *
 * Results:
 *	Bytes sent, or -1 with errno set.
 *
 * Side effects:
 *	Writes to the socket; never raises SIGPIPE.
 *
 *----------------------------------------------------------------------
 */

long
DmNetSend(
    int fd,
    const DmBuf *bufs,
    int count,
    int more)
{
    struct iovec iov[4];
    struct msghdr msg;
    int i, n = 0;
    long sent;

    for (i = 0; i < count && n < 4; i++) {
	if (bufs[i].len > 0) {
	    iov[n].iov_base = (void *) bufs[i].ptr;
	    iov[n].iov_len = bufs[i].len;
	    n++;
	}
    }
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    do {
	sent = sendmsg(fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    } while (sent < 0 && errno == EINTR);
    return sent;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSendFile, DmNetSendFileDefault --
 *
 *	Sends file bytes from *offsetPtr without copying them through user
 *	space, falling back to pread and send where sendfile is missing or
 *	refuses the pair of descriptors, or with DM_SENDFILE_COPY.  sendfile
 *	never waits here, so DM_SENDFILE_LATER changes nothing; and it is
 *	the better default.
 *
 * Results:
 *	Bytes sent (0 if the file ended early), or -1 with errno set.
 *	DmNetSendFileDefault: 1.
 *
 * Side effects:
 *	Advances *offsetPtr; the file's own position is not used.  Sets
 *	*zeroCopyPtr (unless NULL) to 1 when sendfile sent the bytes.
 *
 *----------------------------------------------------------------------
 */

long
DmNetSendFile(
    int sock,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count,
    int flags,
    int *zeroCopyPtr)
{
#ifdef HAVE_SENDFILE
    off_t off = (off_t) *offsetPtr;
    long n;
#endif

    if (flags & DM_SENDFILE_COPY) {
	return DmNetSendFileCopy(sock, fileFd, offsetPtr, count);
    }
#ifdef HAVE_SENDFILE
    do {
	n = sendfile(sock, fileFd, &off, count);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
	*offsetPtr = (uint64_t) off;
	if (zeroCopyPtr != NULL) {
	    *zeroCopyPtr = 1;
	}
	return n;
    }
    if (errno != EINVAL && errno != ENOSYS) {
	return -1;
    }
#endif
    return DmNetSendFileCopy(sock, fileFd, offsetPtr, count);
}

int
DmNetSendFileDefault(void)
{
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetTuneListener --
 *
 *	Sets the listening socket's options that its connections inherit.
 *
 *	deferAccept asks the kernel to hand over a connection only once its
 *	first data arrived (Linux TCP_DEFER_ACCEPT), so that accepting it
 *	never waits for the request and costs no trip through the event
 *	set.  A client that sends nothing is handed over after about a
 *	second anyway.
 *
 *	sendLowat caps the bytes a connection's socket holds that are not
 *	yet on the wire (TCP_NOTSENT_LOWAT; 0 leaves the system's setting):
 *	the socket reports itself writable, and takes more, only below it.
 *	Bytes in flight are not counted, so the window still fills; what
 *	is saved is a backlog of megabytes that the kernel would otherwise
 *	push out later from the receiver's acknowledgements.  Sending it in
 *	smaller steps from the server's own calls gave a fast client on
 *	loopback 1.7 to 2 times the throughput, and keeps a slow client's
 *	unsent bytes small.
 *
 *	Where an option does not exist this does nothing.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets listening socket options.
 *
 *----------------------------------------------------------------------
 */

void
DmNetTuneListener(
    int listenFd,
    int deferAccept,
    int sendLowat)
{
#ifdef TCP_DEFER_ACCEPT
    int seconds = deferAccept ? 1 : 0;

    setsockopt(listenFd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds,
	    sizeof(seconds));
#else
    (void) deferAccept;
#endif
#ifdef TCP_NOTSENT_LOWAT
    setsockopt(listenFd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &sendLowat,
	    sizeof(sendLowat));
#else
    (void) sendLowat;
#endif
    (void) listenFd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSetBlocking, DmNetClose --
 *
 *	Make a socket's calls block or not (for one handed to Tcl as a
 *	channel), and close it.
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
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0) {
	return -1;
    }
    flags = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

void
DmNetClose(
    int fd)
{
    close(fd);
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetPoll --
 *
 *	Waits in poll(2) with no timeout, for the poll event set.
 *
 * Results:
 *	As poll: the number of ready entries, or -1 with errno set.
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
    return poll(fds, (nfds_t) count, -1);
}

/*
 *----------------------------------------------------------------------
 *
 * DmWakeOpen, DmWakePoke, DmWakeDrain, DmWakeClose --
 *
 *	The poll event set's wake-up channel, a pipe: fds[0] is polled,
 *	fds[1] poked.  Both ends are non-blocking, so a full pipe (which
 *	already says what one more byte would) never blocks the poker.
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
    int i;

#ifdef HAVE_PIPE2
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
	return 0;
    }
#endif
    if (pipe(fds) < 0) {
	return -1;
    }
    for (i = 0; i < 2; i++) {
	fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

void
DmWakePoke(
    int fd)
{
    ssize_t n;

    do {
	n = write(fd, "", 1);
    } while (n < 0 && errno == EINTR);
}

void
DmWakeDrain(
    int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

void
DmWakeClose(
    int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}
