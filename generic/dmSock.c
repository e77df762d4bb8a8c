/*
 * dmSock.c --
 *
 *	Sockets, the part written once for the BSD socket interface that
 *	Unix and Windows share: the listening socket, accept, addresses,
 *	shutdown, and the buffered way to send file bytes.  What differs
 *	(making a socket non-blocking and private to the process, errors,
 *	moving bytes) is in unix/dmNet.c and win/dmWinNet.c.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <stdio.h>
#include <string.h>

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
 *	With reusePort, other sockets of the same user that ask for it may
 *	bind the same port, and the kernel shares new connections among them
 *	(SO_REUSEPORT; ENOTSUP where there is none, as on Windows).
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
    int backlog,
    int reusePort)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[16];
    int fd = -1, err, one = 1, zero = 0;

    if (DmNetStartup() < 0) {
	return -1;
    }
#ifndef SO_REUSEPORT
    if (reusePort) {
	errno = ENOTSUP;		/* Windows has no such sharing. */
	return -1;
    }
#endif

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
	fd = DmNetSocket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0) {
	    err = errno;
	    continue;
	}
	setsockopt(fd, SOL_SOCKET, DM_SO_REUSE, (const void *) &one,
		sizeof(one));
#ifdef SO_REUSEPORT
	if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
		(const void *) &one, sizeof(one)) != 0) {
	    err = errno;
	    DmNetClose(fd);
	    fd = -1;
	    continue;
	}
#endif
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *) &one,
		sizeof(one));
	if (ai->ai_family == AF_INET6 && addr == NULL) {
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (const void *) &zero,
		    sizeof(zero));
	}
	if (bind(fd, ai->ai_addr, (socklen_t) ai->ai_addrlen) == 0
		&& listen(fd, backlog) == 0) {
	    break;
	}
	DmNetFailed();
	err = errno;
	DmNetClose(fd);
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
    int listening = 0, type = 0, one = 1;

    if (DmNetStartup() < 0) {
	return -1;
    }

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, (void *) &listening,
	    &optLen) < 0
	    || getsockopt(fd, SOL_SOCKET, SO_TYPE, (void *) &type, &optLen) < 0
	    || getsockname(fd, (struct sockaddr *) &ss, &len) < 0) {
	return DmNetFailed();
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
    if (DmNetSetBlocking(fd, 0) < 0 || DmNetInherit(fd, 0) < 0) {
	return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *) &one,
	    sizeof(one));
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
    int reusePort,
    char *boundAddr,
    int *boundPortPtr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

    if (addr[0] != '\0') {
	fd = ListenOn(addr, AF_UNSPEC, port, backlog, reusePort);
    } else {
	fd = ListenOn(NULL, AF_INET6, port, backlog, reusePort);
	if (fd < 0 && errno != EADDRINUSE && errno != EACCES) {
	    fd = ListenOn(NULL, AF_INET, port, backlog, reusePort);
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
 *	make, and the last one must not wait for an ACK (DmNetAcceptRaw
 *	sees to it where the new socket does not inherit it).
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

    fd = DmNetAcceptRaw(listenFd, (struct sockaddr *) &ss, &len);
    if (fd < 0) {
	return -1;
    }
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
	return DmNetFailed();
    }
    FormatAddr(&ss, addr, portPtr);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetShutdownWrite, DmNetShutdownRead --
 *
 *	Half-close (the peer sees the end of our reply while we drain what
 *	it still sends), and shut the read side of a socket handed to Tcl.
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

void
DmNetShutdownRead(
    int fd)
{
    shutdown(fd, SHUT_RD);
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetError --
 *
 *	Takes a socket's pending error.
 *
 * Results:
 *	The pending error as an errno value, 0 if none.
 *
 * Side effects:
 *	Clears the error.
 *
 *----------------------------------------------------------------------
 */

int
DmNetError(
    int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) < 0) {
	DmNetFailed();
	return errno;
    }
#ifdef _WIN32
    return err ? DmWinErrno((DWORD) err) : 0;
#else
    return err;
#endif
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

/*
 *----------------------------------------------------------------------
 *
 * DmSendFileCopy, DmNetSendFileCopy --
 *
 *	Send file bytes from *offsetPtr by reading them into a buffer, the
 *	way where no zero-copy call applies: as many as the destination
 *	takes, up to count, so a large file costs one wait for each time the
 *	socket fills, not one for each buffer.  DmSendFileCopy writes with
 *	sendProc (a TLS connection's, dmTls.c); DmNetSendFileCopy to a
 *	plain socket.
 *
 * Results:
 *	Bytes sent (0 if the file ended early), or -1 with errno set if
 *	nothing could be sent.
 *
 * Side effects:
 *	Advances *offsetPtr; the file's own position is not used.
 *
 *----------------------------------------------------------------------
 */

long
DmSendFileCopy(
    DmSendProc *sendProc,
    void *dest,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count)
{
    char buf[65536];
    size_t total = 0;

    while (total < count) {
	size_t want = count - total;
	long n, done = 0;

	n = DmFileRead(fileFd, buf, want < sizeof(buf) ? want : sizeof(buf),
		*offsetPtr);
	if (n <= 0) {
	    return total > 0 ? (long) total : n;
	}

	/*
	 * A destination may take less than it could (TLS, a record at a
	 * time): the buffer is offered until it is refused.
	 */

	while (done < n) {
	    DmBuf b;
	    long sent;

	    b.ptr = buf + done;
	    b.len = (size_t) (n - done);
	    sent = sendProc(dest, &b, 1);
	    if (sent <= 0) {
		return total > 0 ? (long) total : sent;
	    }
	    *offsetPtr += (uint64_t) sent;
	    total += (size_t) sent;
	    done += sent;
	}
    }
    return (long) total;
}

static long
NetSendProc(
    void *dest,
    const DmBuf *bufs,
    int count)
{
    return DmNetSend(PTR2INT(dest), bufs, count, 0);
}

long
DmNetSendFileCopy(
    int sock,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count)
{
    return DmSendFileCopy(NetSendProc, INT2PTR(sock), fileFd, offsetPtr,
	    count);
}
