/*
 * dmPort.h --
 *
 *	The system headers and the few primitives under the code written
 *	once for the BSD socket interface both platforms share
 *	(generic/dmSock.c, and the poll event set, generic/dmPoll.c).  Each
 *	platform's header gives the includes and names; its dmNet.c or
 *	dmWinNet.c implements the functions declared here.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_PORT_H
#define DM_PORT_H

#ifdef _WIN32
#   include "dmWinPort.h"
#else
#   include "dmUnixPort.h"
#endif

/*
 * The socket library made ready (once; nothing to do on Unix); a socket
 * private to the process (not inherited by children) and
 * non-blocking; the last socket error as errno; accept with the new
 * socket set up the same way.  Each failure returns -1 with errno set.
 */

#ifndef DmNetStartup
MODULE_SCOPE int	DmNetStartup(void);
#endif
MODULE_SCOPE int	DmNetSocket(int family, int type, int protocol);
MODULE_SCOPE int	DmNetInherit(int fd, int inherit);
MODULE_SCOPE int	DmNetFailed(void);
MODULE_SCOPE int	DmNetAcceptRaw(int listenFd, struct sockaddr *sa,
			    socklen_t *lenPtr);

/*
 * The poll event set's primitives: poll() with no timeout, and a wake-up
 * channel that makes it return (a pipe on Unix, a loopback socket pair
 * on Windows, whose WSAPoll takes sockets only).
 */

MODULE_SCOPE int	DmNetPoll(struct pollfd *fds, int count);
MODULE_SCOPE int	DmWakeOpen(int fds[2]);
MODULE_SCOPE void	DmWakePoke(int fd);
MODULE_SCOPE void	DmWakeDrain(int fd);
MODULE_SCOPE void	DmWakeClose(int fds[2]);

/*
 * For sends that complete later (win/dmWinNet.c): the socket is not
 * polled for writing meanwhile, and the completion, reported from any
 * thread, makes it writable (generic/dmPoll.c).
 */

MODULE_SCOPE void *	DmPollPark(int fd);
MODULE_SCOPE void	DmPollUnpark(int fd);
MODULE_SCOPE void	DmPollCompleted(void *set, int fd);

#endif /* DM_PORT_H */
