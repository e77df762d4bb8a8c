/*
 * dmNet.c --
 *
 *	Sockets on Unix: the listening socket, accept, and the few calls the
 *	connection code makes to move bytes, including zero-copy sendfile.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#ifdef HAVE_SYS_SENDFILE_H
#   include <sys/sendfile.h>
#endif

/*
 *----------------------------------------------------------------------
 *
 * FormatAddr --
 *
 *	Prints a socket address without its port.  IPv4 addresses reached
 *	through a dual-stack socket are shown in their plain form.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Writes at most DM_ADDR_LEN bytes to buf.
 *
 *----------------------------------------------------------------------
 */

static void
FormatAddr(
    const struct sockaddr_storage *ss,
    char *buf,
    int *portPtr)
{
    if (ss->ss_family == AF_INET6) {
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) ss;

	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
	    inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, DM_ADDR_LEN);
	} else {
	    inet_ntop(AF_INET6, &s6->sin6_addr, buf, DM_ADDR_LEN);
	}
	*portPtr = ntohs(s6->sin6_port);
    } else {
	const struct sockaddr_in *s4 = (const struct sockaddr_in *) ss;

	inet_ntop(AF_INET, &s4->sin_addr, buf, DM_ADDR_LEN);
	*portPtr = ntohs(s4->sin_port);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ListenOn --
 *
 *	Opens a non-blocking listening socket on the first address of the
 *	family (AF_UNSPEC: any) that the address resolves to and that binds.
 *	A wildcard IPv6 socket is made dual-stack, so it takes IPv4 too.
 *
 * Results:
 *	The descriptor, or -1 with errno set.
 *
 * Side effects:
 *	Opens a socket.
 *
 *----------------------------------------------------------------------
 */

static int
ListenOn(
    const char *addr,		/* Numeric or host name; NULL: wildcard. */
    int family,
    int port,
    int backlog)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[16];
    int fd = -1, err, one = 1, zero = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = family;
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(addr, service, &hints, &res) != 0) {
	errno = EADDRNOTAVAIL;
	return -1;
    }
    err = EADDRNOTAVAIL;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
		| SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
	    err = errno;
	    continue;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ai->ai_family == AF_INET6 && addr == NULL) {
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
		&& listen(fd, backlog) == 0) {
	    break;
	}
	err = errno;
	close(fd);
	fd = -1;
    }
    freeaddrinfo(res);
    errno = err;
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetAdopt --
 *
 *	Takes over an inherited listening socket (-fd, as systemd's socket
 *	activation passes them): it must be a TCP socket, IPv4 or IPv6,
 *	already listening.
 *
 * Results:
 *	fd with boundAddr and *boundPortPtr filled, or -1 with errno set
 *	(EINVAL: not listening; EPROTOTYPE, EAFNOSUPPORT: not TCP over IP).
 *
 * Side effects:
 *	Makes fd non-blocking and close-on-exec.
 *
 *----------------------------------------------------------------------
 */

int
DmNetAdopt(
    int fd,
    char *boundAddr,
    int *boundPortPtr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss), optLen = sizeof(int);
    int listening = 0, type = 0, one = 1, flags;

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optLen) < 0
	    || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optLen) < 0
	    || getsockname(fd, (struct sockaddr *) &ss, &len) < 0) {
	return -1;
    }
    if (type != SOCK_STREAM) {
	errno = EPROTOTYPE;
	return -1;
    }
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
	errno = EAFNOSUPPORT;
	return -1;
    }
    if (!listening) {
	errno = EINVAL;
	return -1;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0
	    || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
	return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    FormatAddr(&ss, boundAddr, boundPortPtr);
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetListen --
 *
 *	Opens the server's listening TCP socket.  An empty address means
 *	every address: a dual-stack IPv6 socket, or IPv4's wildcard where the
 *	system has no IPv6.
 *
 * Results:
 *	The descriptor, or -1 with errno set.
 *
 * Side effects:
 *	Fills boundAddr (DM_ADDR_LEN bytes) and *boundPortPtr.
 *
 *----------------------------------------------------------------------
 */

int
DmNetListen(
    const char *addr,
    int port,
    int backlog,
    char *boundAddr,
    int *boundPortPtr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

    if (addr[0] != '\0') {
	fd = ListenOn(addr, AF_UNSPEC, port, backlog);
    } else {
	fd = ListenOn(NULL, AF_INET6, port, backlog);
	if (fd < 0 && errno != EADDRINUSE && errno != EACCES) {
	    fd = ListenOn(NULL, AF_INET, port, backlog);
	}
    }
    if (fd >= 0 && getsockname(fd, (struct sockaddr *) &ss, &len) == 0) {
	FormatAddr(&ss, boundAddr, boundPortPtr);
    }
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetAccept --
 *
 *	Accepts one connection, non-blocking and close-on-exec from the
 *	start, with Nagle off: replies leave in as few writes as we can
 *	make, and the last one must not wait for an ACK.  Linux copies
 *	TCP_NODELAY from the listening socket; elsewhere it is set here.
 *
 * Results:
 *	The descriptor, or -1 with errno set (EAGAIN when none is waiting).
 *
 * Side effects:
 *	Writes the peer's address to peerAddr (DM_ADDR_LEN bytes).
 *
 *----------------------------------------------------------------------
 */

int
DmNetAccept(
    int listenFd,
    char *peerAddr,
    int *peerPortPtr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

#ifdef HAVE_ACCEPT4
    fd = accept4(listenFd, (struct sockaddr *) &ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    fd = accept(listenFd, (struct sockaddr *) &ss, &len);
    if (fd >= 0) {
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
#endif
    if (fd < 0) {
	return -1;
    }
#ifndef __linux__
    {
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
#endif
    FormatAddr(&ss, peerAddr, peerPortPtr);
    return fd;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetName --
 *
 *	The address and port of a connected socket's own end (peer 0) or of
 *	its peer (peer 1).
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Fills addr[DM_ADDR_LEN] and *portPtr.
 *
 *----------------------------------------------------------------------
 */

int
DmNetName(
    int fd,
    int peer,
    char *addr,
    int *portPtr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if ((peer ? getpeername(fd, (struct sockaddr *) &ss, &len)
	    : getsockname(fd, (struct sockaddr *) &ss, &len)) < 0) {
	return -1;
    }
    FormatAddr(&ss, addr, portPtr);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetRecv --
 *
 *	Reads what the socket has, up to len bytes.
 *
 * Results:
 *	Bytes read, 0 at end of stream, -1 with errno set.
 *
 * Side effects:
 *	Consumes socket input.
 *
 *----------------------------------------------------------------------
 */

long
DmNetRecv(
    int fd,
    char *buf,
    size_t len)
{
    long n;

    do {
	n = recv(fd, buf, len, 0);
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
 * DmNetSendFile --
 *
 *	Sends file bytes from *offsetPtr without copying them through user
 *	space, falling back to pread and send where sendfile is missing or
 *	refuses the pair of descriptors.
 *
 * Results:
 *	Bytes sent (0 if the file ended early), or -1 with errno set.
 *
 * Side effects:
 *	Advances *offsetPtr; the file's own position is not used.
 *
 *----------------------------------------------------------------------
 */

long
DmNetSendFile(
    int sock,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count)
{
    long n;
    char buf[16384];
    DmBuf b;

#ifdef HAVE_SENDFILE
    off_t off = (off_t) *offsetPtr;

    do {
	n = sendfile(sock, fileFd, &off, count);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
	*offsetPtr = (uint64_t) off;
	return n;
    }
    if (errno != EINVAL && errno != ENOSYS) {
	return -1;
    }
#endif
    n = DmFileRead(fileFd, buf, count < sizeof(buf) ? count : sizeof(buf),
	    *offsetPtr);
    if (n <= 0) {
	return n;
    }
    b.ptr = buf;
    b.len = (size_t) n;
    n = DmNetSend(sock, &b, 1, 0);
    if (n > 0) {
	*offsetPtr += (uint64_t) n;
    }
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetDeferAccept --
 *
 *	Asks the kernel to hand over a connection only once its first data
 *	arrived (Linux TCP_DEFER_ACCEPT), so that accepting it never waits
 *	for the request and costs no trip through the event set.  A client
 *	that sends nothing is handed over after about a second anyway.
 *	Elsewhere this does nothing.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets a listening socket option.
 *
 *----------------------------------------------------------------------
 */

void
DmNetDeferAccept(
    int listenFd,
    int on)
{
#ifdef TCP_DEFER_ACCEPT
    int seconds = on ? 1 : 0;

    setsockopt(listenFd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds,
	    sizeof(seconds));
#else
    (void) listenFd;
    (void) on;
#endif
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetShutdownWrite, DmNetClose --
 *
 *	Half-close (the peer sees the end of our reply while we drain what
 *	it still sends), and close.
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
DmNetShutdownWrite(
    int fd)
{
    shutdown(fd, SHUT_WR);
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetShutdownRead, DmNetSetBlocking, DmNetError --
 *
 *	For a socket handed to Tcl as a channel: shut its read side, make
 *	its calls block or not, and take its pending error.
 *
 * Results:
 *	DmNetSetBlocking: 0 or -1 with errno set.  DmNetError: the pending
 *	error (an errno value), 0 if none.
 *
 * Side effects:
 *	As named; DmNetError clears the error.
 *
 *----------------------------------------------------------------------
 */

void
DmNetShutdownRead(
    int fd)
{
    shutdown(fd, SHUT_RD);
}

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

int
DmNetError(
    int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
	return errno;
    }
    return err;
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
 * DmErrnoIsAgain, DmErrnoIsFdLimit --
 *
 *	Classify the last error for the portable code.
 *
 * Results:
 *	1 if errno says "try again later" / "out of descriptors".
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmErrnoIsAgain(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

int
DmErrnoIsFdLimit(void)
{
    return errno == EMFILE || errno == ENFILE || errno == ENOBUFS
	    || errno == ENOMEM;
}
