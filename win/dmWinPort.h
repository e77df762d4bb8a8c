/*
 * dmWinPort.h --
 *
 *	The Windows system headers behind generic/dmPort.h, and the POSIX
 *	names the shared socket code uses.  Windows Vista or later: WSAPoll,
 *	inet_ntop and GetFinalPathNameByHandleW.
 *
 *	A socket or file handle is kept in an int, as on Unix: Windows
 *	guarantees that kernel handles fit in 32 bits (so that 32- and 64-bit
 *	processes can share them), and a handle sign-extended back from an
 *	int is the same handle.  DM_HANDLE and DM_SOCKET convert.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_WIN_PORT_H
#define DM_WIN_PORT_H

#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#   undef _WIN32_WINNT
#   define _WIN32_WINNT 0x0600
#endif
#ifndef WIN32_LEAN_AND_MEAN
#   define WIN32_LEAN_AND_MEAN
#endif

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <errno.h>

#define DM_HANDLE(fd)	((HANDLE) (intptr_t) (fd))
#define DM_SOCKET(fd)	((SOCKET) (intptr_t) (fd))
#define DM_FD(h)	((int) (intptr_t) (h))

/*
 * SO_REUSEADDR on Windows lets another process bind the same port and
 * steal connections; SO_EXCLUSIVEADDRUSE is what Unix's default means.
 */

#define DM_SO_REUSE	SO_EXCLUSIVEADDRUSE
#define SHUT_RD		SD_RECEIVE
#define SHUT_WR		SD_SEND

/*
 * Windows errors as errno values (win/dmWinNet.c, win/dmWinFile.c).
 */

MODULE_SCOPE int	DmWinErrno(DWORD err);

/*
 * A closed socket's TransmitFile state goes (win/dmWinSendFile.c).
 */

MODULE_SCOPE void	DmWinSendFileClosed(int sock);

#endif /* DM_WIN_PORT_H */
