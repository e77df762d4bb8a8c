/*
 * dmUnixPort.h --
 *
 *	The Unix system headers behind generic/dmPort.h.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_UNIX_PORT_H
#define DM_UNIX_PORT_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

/*
 * SO_REUSEADDR lets a restarted server bind while old connections are in
 * TIME_WAIT; it does not let two servers share a port on Unix.
 */

#define DM_SO_REUSE	SO_REUSEADDR
#define DmNetStartup()	0

#endif /* DM_UNIX_PORT_H */
