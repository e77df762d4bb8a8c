/*
 * dmInt.h --
 *
 *	Declarations shared by dustmote's source files: the server and
 *	connection structures, and the small platform layer (unix/, win/)
 *	that the generic code calls for sockets, files, clocks and the
 *	event set.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_INT_H
#define DM_INT_H

#include "dustmote.h"
#include "dmCompat.h"
#include "dmHttp.h"
#include "dmPath.h"
#include "dmDate.h"

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/*
 *----------------------------------------------------------------
 * The event set (unix/dmPoll.c).  Connection sockets live in an event
 * set of our own that Tcl sees as one file handler, so Tcl 8.6's select()
 * notifier never meets a descriptor of 1024 or more.
 *----------------------------------------------------------------
 */

enum {
    DM_READABLE = 1,
    DM_WRITABLE = 2
};

typedef void (DmWatchProc)(void *clientData, int events);

typedef struct DmWatch {
    int fd;			/* The descriptor watched, -1 if none. */
    int events;			/* DM_READABLE|DM_WRITABLE now asked for. */
    int registered;		/* In the kernel's set yet. */
    DmWatchProc *proc;		/* Called with the events that fired. */
    void *clientData;
} DmWatch;

MODULE_SCOPE int	DmWatchStart(DmWatch *w, int fd, int events,
			    DmWatchProc *proc, void *clientData);
MODULE_SCOPE void	DmWatchInit(DmWatch *w, int fd, DmWatchProc *proc,
			    void *clientData);
MODULE_SCOPE void	DmWatchSet(DmWatch *w, int events);
MODULE_SCOPE void	DmWatchStop(DmWatch *w);
MODULE_SCOPE int64_t	DmNowMs(void);

/*
 *----------------------------------------------------------------
 * Keeping memory alive across calls into Tcl (generic/dmRetire.c).
 * Every entry into the package from the event loop or a command is
 * bracketed by DmEnter and DmLeave; what is retired inside is freed
 * when the outermost bracket is left.
 *----------------------------------------------------------------
 */

typedef void (DmFreeProc)(void *ptr);

MODULE_SCOPE void	DmEnter(void);
MODULE_SCOPE void	DmLeave(void);
MODULE_SCOPE void	DmRetire(DmFreeProc *proc, void *ptr);

/*
 *----------------------------------------------------------------
 * Sockets (unix/dmNet.c).  Results follow the POSIX convention: -1 with
 * errno set on failure.
 *----------------------------------------------------------------
 */

#define DM_ADDR_LEN 48		/* Longest printable address, with NUL. */

typedef struct DmBuf {
    const char *ptr;
    size_t len;
} DmBuf;

MODULE_SCOPE int	DmNetListen(const char *addr, int port, int backlog,
			    char *boundAddr, int *boundPortPtr);
MODULE_SCOPE int	DmNetAccept(int listenFd, char *peerAddr);
MODULE_SCOPE long	DmNetRecv(int fd, char *buf, size_t len);
MODULE_SCOPE long	DmNetSend(int fd, const DmBuf *bufs, int count,
			    int more);
MODULE_SCOPE long	DmNetSendFile(int sock, int fileFd, uint64_t *offsetPtr,
			    size_t count);
MODULE_SCOPE void	DmNetDeferAccept(int listenFd, int on);
MODULE_SCOPE void	DmNetShutdownWrite(int fd);
MODULE_SCOPE void	DmNetClose(int fd);
MODULE_SCOPE int	DmErrnoIsAgain(void);
MODULE_SCOPE int	DmErrnoIsFdLimit(void);

/*
 *----------------------------------------------------------------
 * Files (unix/dmFile.c).
 *----------------------------------------------------------------
 */

enum {
    DM_FILE_REGULAR = 1,
    DM_FILE_DIRECTORY,
    DM_FILE_OTHER
};

typedef struct DmFileInfo {
    uint64_t size;
    int64_t mtime;		/* Seconds since the epoch. */
    int kind;			/* DM_FILE_*. */
    uint64_t dev, ino;		/* Which file this is, and which version: */
    int64_t mtimeNs, ctimeNs;	/* any write or chmod changes a time. */
} DmFileInfo;

MODULE_SCOPE int	DmFileOpenRoot(const char *path, char **realPtr);
MODULE_SCOPE int	DmFileOpenBeneath(int rootFd, const char *realRoot,
			    const char *relPath, int followSymlinks,
			    DmFileInfo *infoPtr, int *statusPtr);
MODULE_SCOPE long	DmFileRead(int fd, char *buf, size_t len,
			    uint64_t offset);
MODULE_SCOPE void	DmFileClose(int fd);
MODULE_SCOPE int	DmFileIsRegular(int fd);
MODULE_SCOPE int	DmFileStat(int rootFd, const char *relPath,
			    int noFollow, DmFileInfo *infoPtr);

/*
 *----------------------------------------------------------------
 * Change notification for the cache (unix/dmChange.c).
 *----------------------------------------------------------------
 */

typedef struct DmChange DmChange;

MODULE_SCOPE DmChange *	DmChangeCreate(void);
MODULE_SCOPE void	DmChangeDelete(DmChange *ch);
MODULE_SCOPE int	DmChangePending(DmChange *ch);
MODULE_SCOPE uint64_t	DmChangeEpoch(const DmChange *ch);
MODULE_SCOPE uint64_t	DmChangeTouched(DmChange *ch, int wd);
MODULE_SCOPE int	DmChangeWatchDirs(DmChange *ch, int rootFd,
			    const char *relPath);
MODULE_SCOPE int	DmChangeWatchFile(DmChange *ch, int fd);
MODULE_SCOPE void	DmChangeRelease(DmChange *ch, int wd);

/*
 *----------------------------------------------------------------
 * The cache of small files (generic/dmCache.c).
 *----------------------------------------------------------------
 */

typedef struct DmCacheEntry DmCacheEntry;
typedef struct DmCache DmCache;

/*
 * What DmCacheWatch learnt before a file was read, for DmCachePut.
 */

typedef struct DmCacheTicket {
    int wd;			/* The file's watch, or -1: stat every hit. */
    uint64_t epoch;		/* The change epoch the watch started in. */
} DmCacheTicket;

MODULE_SCOPE DmCache *	DmCacheCreate(size_t maxBytes);
MODULE_SCOPE void	DmCacheDelete(DmCache *cache);
MODULE_SCOPE void	DmCacheFlush(DmCache *cache);
MODULE_SCOPE const DmCacheEntry *DmCacheGet(DmCache *cache, int rootFd,
			    const char *path, uint64_t inputSeq,
			    const char **dataPtr, DmFileInfo *infoPtr);
MODULE_SCOPE DmCacheTicket DmCacheWatch(DmCache *cache, int rootFd,
			    const char *path, int fd,
			    const DmFileInfo *infoPtr);
MODULE_SCOPE void	DmCachePut(DmCache *cache, const char *path,
			    const DmFileInfo *infoPtr, const char *data,
			    long len, DmCacheTicket ticket);
MODULE_SCOPE void	DmCacheCounts(const DmCache *cache,
			    uint64_t *hitsPtr, uint64_t *statsPtr);
MODULE_SCOPE const char *DmCacheLastModified(const DmCacheEntry *entry);

/*
 *----------------------------------------------------------------
 * The MIME table (generic/dmMime.c).
 *----------------------------------------------------------------
 */

MODULE_SCOPE const char *DmMimeHeader(const char *path, size_t len,
			    size_t *lenPtr);

/*
 *----------------------------------------------------------------
 * Servers and connections (generic/dmServer.c, dmConn.c, dmReply.c).
 *----------------------------------------------------------------
 */

typedef struct DmServer DmServer;
typedef struct DmConn DmConn;

/*
 * A list of connections waiting on the same kind of timeout.  Every
 * member was stamped with the same duration, so appending keeps the list
 * sorted by deadline and expiry only looks at the head.
 */

typedef struct DmTimerList {
    DmConn *head, *tail;
} DmTimerList;

enum {
    DM_TIMER_NONE = -1,
    DM_TIMER_HEAD = 0,		/* Waiting for a request head (and body). */
    DM_TIMER_IDLE,		/* Keep-alive, between requests. */
    DM_TIMER_SEND,		/* Waiting for the peer to take our bytes. */
    DM_TIMER_LINGER,		/* Draining input before the final close. */
    DM_TIMER_LISTS
};

/*
 * Per-server settings, changed only by configure.
 */

typedef struct DmConfig {
    Tcl_Obj *root;		/* -root as given. */
    Tcl_Obj *defaults;		/* -default: a list of index names. */
    Tcl_Obj *accessLog;		/* -accesslog: a channel name, or NULL. */
    Tcl_Obj *errorLog;		/* -errorlog: a channel name, or NULL. */
    Tcl_Channel accessChan;	/* The channels they named when set. */
    Tcl_Channel errorChan;
    Tcl_Obj *serverName;	/* -servername. */
    int deferAccept;		/* Accept a connection when its data came. */
    int followSymlinks;
    int maxConnections;
    DmLimits limits;		/* -maxrequestline, -maxheadersize,
				 * -maxheaders. */
    int timeouts[DM_TIMER_LISTS]; /* Milliseconds, by DM_TIMER_*. */
} DmConfig;

/*
 * Lines on their way to a log channel.  The channel is held by pointer
 * (a close handler forgets it), not looked up by name: a name can be
 * reused by another channel after the first one is closed.
 */

typedef struct DmLogSink {
    struct DmServer *srv;
    Tcl_Channel chan;		/* Where the lines go, or NULL. */
    char *buf;			/* Lines not yet written (malloc'ed). */
    size_t len, cap;
    int writing;		/* Inside Tcl_Write to chan: lines made by
				 * Tcl code it runs wait for the next
				 * write, never enter it. */
} DmLogSink;

/*
 * The scratch buffer's parts.  Its size never changes, so no change of
 * configuration can pull it from under a connection: a read goes to the
 * input part (input kept from before is put in front when it fits; a
 * longer head is read into the connection's own buffer), a reply head is
 * assembled after it, and a small file's bytes after that.
 */

#define DM_REPLY_HEAD_MAX 1024	/* A head without the variable fields. */
#define DM_SMALL_FILE 16384	/* Files up to this size go out with their
				 * head in one write; larger ones by
				 * sendfile. */
#define DM_MAX_SERVER_NAME 200	/* Longest -servername. */
#define DM_HTML_TYPE "Content-Type: text/html; charset=utf-8\r\n"

#define DM_READ_ROOM	65536	/* Bytes taken from a socket per read. */
#define DM_HEAD_ROOM	2048	/* A reply head without a Location. */

struct DmServer {
    Tcl_Interp *interp;		/* Where the handle command lives. */
    Tcl_Command cmdToken;	/* The handle command, NULL once closed. */
    DmConfig config;
    int rootFd;			/* The open document root. */
    char *realRoot;		/* Its canonical path. */
    char serverHeader[DM_MAX_SERVER_NAME + 16]; /* "Server: NAME\r\n". */
    size_t serverHeaderLen;
    DmWatch listen;		/* The listening socket. */
    char boundAddr[DM_ADDR_LEN];
    int boundPort;
    int acceptPaused;		/* Out of descriptors: listener unwatched. */
    int closing;		/* Closed; freed with the last connection. */
    int released;		/* Free once nothing uses it. */
    DmConn *conns;		/* Every open connection. */
    int numConns;
    DmTimerList timers[DM_TIMER_LISTS];
    Tcl_TimerToken timerToken;	/* Fires at the earliest deadline. */
    int64_t timerAt;		/* When it fires (ms), 0 if not armed. */
    uint64_t accepted, requests; /* Counters for stats. */
    uint64_t inputSeq;		/* Counts reads from sockets, so the cache
				 * knows which requests came after its last
				 * look for changes. */
    DmCache *cache;		/* Small files, by normalised path. */
    DmField *fields;		/* Room for -maxheaders fields of the head
				 * being parsed (valid until a call into
				 * Tcl, like the scratch buffer). */
    char *scratch;		/* Input and reply assembly, shared by all
				 * connections, DM_READ_ROOM + DM_HEAD_ROOM
				 * + DM_SMALL_FILE bytes.  Nothing in it
				 * lives across a call into Tcl, where
				 * another connection may use it. */
    int64_t dateSecond;		/* The second the dates below are for. */
    char dateHeader[48];	/* "Date: ...\r\n". */
    char logDate[DM_LOG_DATE_LEN + 1]; /* The same time for the log. */
    DmLogSink accessSink;	/* -accesslog and -errorlog lines, written */
    DmLogSink errorSink;	/* in batches, never in the middle of a
				 * request. */
    Tcl_TimerToken logTimer;	/* Writes them out soon. */
};

MODULE_SCOPE void	DmServerClose(DmServer *srv);
MODULE_SCOPE void	DmServerRelease(DmServer *srv);

MODULE_SCOPE void	DmConnAccept(void *clientData, int events);
MODULE_SCOPE void	DmConnExpire(DmServer *srv, int64_t now);
MODULE_SCOPE void	DmConnServerClosing(DmServer *srv);
MODULE_SCOPE void	DmConnRetime(DmServer *srv, int which, int64_t delta);
MODULE_SCOPE int64_t	DmConnNextDeadline(DmServer *srv);
MODULE_SCOPE void	DmTimerArm(DmServer *srv, int64_t deadline);

MODULE_SCOPE Tcl_ObjCmdProc DmServeObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmMimetypeObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmPumpObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmOnsignalObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmSetuserObjCmd;

/*
 * Building responses (generic/dmReply.c).  A reply is assembled in a
 * buffer the caller owns; DM_REPLY_HEAD_MAX bounds the head.
 */

typedef struct DmReply {
    int status;
    uint64_t contentLength;
    int64_t lastModified;	/* -1: no Last-Modified. */
    const char *contentType;	/* A whole "Content-Type: ...\r\n" line. */
    const char *lastModifiedText; /* Its formatted date, if known. */
    size_t contentTypeLen;
    int connection;		/* DM_CONN_HDR_*. */
    const char *extraName;	/* One more header (Location, Allow)... */
    const char *extraValue;	/* ...and its value; NULL for none. */
    size_t extraValueLen;
} DmReply;

enum {
    DM_CONN_HDR_NONE = 0,	/* HTTP/1.1 keep-alive: nothing to say. */
    DM_CONN_HDR_CLOSE,
    DM_CONN_HDR_KEEPALIVE	/* HTTP/1.0 keep-alive. */
};

MODULE_SCOPE size_t	DmReplyHead(DmServer *srv, const DmReply *reply,
			    char *buf, size_t size);
MODULE_SCOPE void	DmReplyClock(DmServer *srv);

/*
 * The access log (generic/dmLog.c).
 */

MODULE_SCOPE void	DmLogRequest(DmServer *srv, const char *peer,
			    const DmRequest *req, int status, uint64_t bytes);
MODULE_SCOPE void	DmLogFlush(DmServer *srv);
MODULE_SCOPE void	DmLogFlushDue(DmServer *srv);
MODULE_SCOPE void	DmLogSetChannel(DmLogSink *sink, Tcl_Channel chan);
MODULE_SCOPE void	DmLogEvent(DmServer *srv, const char *peer,
			    const char *format, ...)
			    __attribute__((format(printf, 3, 4)));
MODULE_SCOPE size_t	DmReplyErrorBody(int status, char *buf,
			    size_t size);
MODULE_SCOPE const char *DmReasonPhrase(int status);

/*
 * Copying into reply and log buffers, which are sized beforehand: these
 * replace snprintf on the hot path, where its parsing of a format costs
 * more than the rest of a reply.
 */

static inline char *
DmAppend(
    char *p,
    const char *s,
    size_t len)
{
    memcpy(p, s, len);
    return p + len;
}

#define DM_APPEND_LITERAL(p, lit) DmAppend((p), (lit), sizeof(lit) - 1)

static inline char *
DmAppendUnsigned(
    char *p,
    uint64_t n)
{
    char digits[24];
    int i = sizeof(digits);

    do {
	digits[--i] = (char) ('0' + n % 10);
	n /= 10;
    } while (n);
    return DmAppend(p, digits + i, sizeof(digits) - i);
}

#endif /* DM_INT_H */
