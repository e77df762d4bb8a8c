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
#include "dmForm.h"
#include "dmCond.h"
#include "dmNego.h"
#include "dmProxy.h"
#include "dmPath.h"
#include "dmDate.h"

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/*
 *----------------------------------------------------------------
 * The event set (unix/dmEpoll.c, or generic/dmPoll.c where there is no
 * epoll, and on Windows).  Connection sockets live in an event
 * set of our own that Tcl sees as one file handler, so Tcl 8.6's select()
 * notifier never meets a descriptor of 1024 or more.
 *----------------------------------------------------------------
 */

enum {
    DM_READABLE = 1,
    DM_WRITABLE = 2,
    DM_HANGUP = 4		/* The peer closed (or shut its side):
				 * watched alone while input must wait. */
};

typedef void (DmWatchProc)(void *clientData, int events);

typedef struct DmWatch {
    int fd;			/* The descriptor watched, -1 if none. */
    int events;			/* DM_READABLE|DM_WRITABLE|DM_HANGUP now
				 * asked for. */
    int registered;		/* In the kernel's set yet. */
    DmWatchProc *proc;		/* Called with the events that fired. */
    void *clientData;
} DmWatch;

MODULE_SCOPE int	DmWatchStart(DmWatch *w, int fd, int events,
			    DmWatchProc *proc, void *clientData);
MODULE_SCOPE void	DmWatchSet(DmWatch *w, int events);
MODULE_SCOPE void	DmWatchStop(DmWatch *w);
MODULE_SCOPE void	DmWatchStopSync(DmWatch *w);
MODULE_SCOPE int64_t	DmNowMs(void);
MODULE_SCOPE int64_t	DmNowUs(void);

/*
 * DmWatchInit prepares a watch without entering it in the event set:
 * that waits for the first DmWatchSet asking for events, so a connection
 * answered and closed at once, before it ever waits, costs no system call
 * on the set at all.
 */

static inline void
DmWatchInit(
    DmWatch *w,
    int fd,
    DmWatchProc *proc,
    void *clientData)
{
    w->fd = fd;
    w->events = 0;
    w->registered = 0;
    w->proc = proc;
    w->clientData = clientData;
}

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
 * Sockets (generic/dmSock.c over unix/dmNet.c or win/dmWinNet.c).
 * Results follow the POSIX convention: -1 with errno set on failure.
 *----------------------------------------------------------------
 */

#define DM_ADDR_LEN 48		/* Longest printable address, with NUL. */

/*
 * DmNetSendFile's flags.  LATER, for a socket of the event set: the
 * platform may start a send that completes later (Windows'
 * TransmitFile), report EAGAIN meanwhile, and have the event set report
 * the socket writable when it is done; without it the call sends what it
 * can at once.  COPY: through a buffer, not zero-copy (-sendfile 0; a
 * send under way is collected first).  DmNetSendFileDefault says whether
 * zero-copy sends are the better default on this system.
 */

#define DM_SENDFILE_LATER 1
#define DM_SENDFILE_COPY 2

typedef struct DmBuf {
    const char *ptr;
    size_t len;
} DmBuf;

MODULE_SCOPE int	DmNetListen(const char *addr, int port, int backlog,
			    int reusePort, char *boundAddr, int *boundPortPtr);
MODULE_SCOPE int	DmNetAdopt(int fd, char *boundAddr, int *boundPortPtr);
MODULE_SCOPE int	DmNetAccept(int listenFd, char *peerAddr,
			    int *peerPortPtr);
MODULE_SCOPE int	DmNetName(int fd, int peer, char *addr,
			    int *portPtr);
MODULE_SCOPE long	DmNetRead(int fd, char *buf, size_t len, int peek);
#define DmNetRecv(fd, buf, len)	DmNetRead((fd), (buf), (len), 0)
MODULE_SCOPE long	DmNetSend(int fd, const DmBuf *bufs, int count,
			    int more);
MODULE_SCOPE long	DmNetSendFile(int sock, int fileFd, uint64_t *offsetPtr,
			    size_t count, int flags, int *zeroCopyPtr);
MODULE_SCOPE int	DmNetSendFileDefault(void);
MODULE_SCOPE long	DmNetSendFileCopy(int sock, int fileFd,
			    uint64_t *offsetPtr, size_t count);
typedef long (DmSendProc)(void *dest, const DmBuf *bufs, int count);
MODULE_SCOPE long	DmSendFileCopy(DmSendProc *sendProc, void *dest,
			    int fileFd, uint64_t *offsetPtr, size_t count);
MODULE_SCOPE void	DmNetTuneListener(int listenFd, int deferAccept,
			    int sendLowat);
MODULE_SCOPE void	DmNetShutdownWrite(int fd);
MODULE_SCOPE void	DmNetShutdownRead(int fd);
MODULE_SCOPE int	DmNetSetBlocking(int fd, int blocking);
MODULE_SCOPE int	DmNetError(int fd);
MODULE_SCOPE void	DmNetClose(int fd);
MODULE_SCOPE int	DmErrnoIsAgain(void);

/*
 *----------------------------------------------------------------
 * TLS (generic/dmTls.c): the contexts of a server's -tls, and each
 * connection's TLS, which moves bytes with DmNetRecv's and DmNetSend's
 * results.
 *----------------------------------------------------------------
 */

#define DM_TLS_MAX_CERTS 64	/* Certificates of one -tls. */
#define DM_TLS_USAGE "must be empty, or -certfile FILE -keyfile FILE (up to " \
	DM_STRINGIFY(DM_TLS_MAX_CERTS) " pairs) with -cafile, -ciphers," \
	" -ciphersuites, -protocols and -tickets"

typedef struct DmTlsConfig DmTlsConfig;
typedef struct DmTls DmTls;

enum {
    DM_TLS_DONE, DM_TLS_READ, DM_TLS_WRITE, DM_TLS_FAILED
};

MODULE_SCOPE int	DmTlsConfigNew(Tcl_Interp *interp, Tcl_Obj *value,
			    DmTlsConfig **configPtr);
MODULE_SCOPE void	DmTlsConfigFree(DmTlsConfig *tc);
#ifdef HAVE_OPENSSL
MODULE_SCOPE DmTls *	DmTlsNew(DmTlsConfig *tc, int fd);
MODULE_SCOPE void	DmTlsFree(DmTls *tls);
MODULE_SCOPE void	DmTlsShutdown(DmTls *tls);
MODULE_SCOPE int	DmTlsHandshake(DmTls *tls);
MODULE_SCOPE long	DmTlsRecv(DmTls *tls, char *buf, size_t len);
MODULE_SCOPE long	DmTlsSend(DmTls *tls, const DmBuf *bufs, int count);
MODULE_SCOPE long	DmTlsSendFile(DmTls *tls, int fileFd,
			    uint64_t *offsetPtr, size_t count,
			    int *zeroCopyPtr);
MODULE_SCOPE int	DmTlsPending(DmTls *tls);
MODULE_SCOPE void	DmTlsInfo(DmTls *tls, const char **protocolPtr,
			    const char **cipherPtr,
			    const char **serverNamePtr);
#else
/*
 * Without OpenSSL no server has -tls, so no connection has TLS and none
 * of these is reached.
 */
#   define DmTlsNew(tc, fd)		((DmTls *) NULL)
#   define DmTlsFree(tls)		((void) 0)
#   define DmTlsShutdown(tls)		((void) 0)
#   define DmTlsHandshake(tls)		DM_TLS_FAILED
#   define DmTlsRecv(tls, buf, len)	(-1L)
#   define DmTlsSend(tls, bufs, count)	(-1L)
#   define DmTlsSendFile(tls, fd, offPtr, count, zcPtr) (-1L)
#   define DmTlsPending(tls)		0
#   define DmTlsInfo(tls, protocolPtr, cipherPtr, serverNamePtr) \
	(*(protocolPtr) = *(cipherPtr) = *(serverNamePtr) = "")
#endif
MODULE_SCOPE int	DmErrnoIsFdLimit(void);

/*
 *----------------------------------------------------------------
 * Files (unix/dmFile.c, win/dmWinFile.c).
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

MODULE_SCOPE int	DmFileOpenRoot(const void *nativePath, char **realPtr);
MODULE_SCOPE int	DmFileOpenBeneath(int rootFd, const char *realRoot,
			    const char *relPath, int followSymlinks,
			    DmFileInfo *infoPtr, int *statusPtr);
MODULE_SCOPE long	DmFileRead(int fd, char *buf, size_t len,
			    uint64_t offset);
MODULE_SCOPE void	DmFileClose(int fd);
typedef void (DmDirNameProc)(void *clientData, const char *name);
MODULE_SCOPE int	DmFileListDir(int fd, DmDirNameProc *proc,
			    void *clientData);
MODULE_SCOPE int	DmFileIsRegular(int fd);
MODULE_SCOPE int	DmFileStat(int rootFd, const char *relPath,
			    int noFollow, DmFileInfo *infoPtr);
MODULE_SCOPE int	DmFileOpenPath(const void *nativePath,
			    DmFileInfo *infoPtr, int *statusPtr);
MODULE_SCOPE int	DmFileTemp(char **pathPtr);
MODULE_SCOPE int	DmFileWrite(int fd, const char *buf, size_t len);
MODULE_SCOPE void	DmFileRemove(const char *path);
MODULE_SCOPE const char *DmFileMap(const void *nativePath,
			    uint64_t *lenPtr);
MODULE_SCOPE void	DmFileUnmap(const char *addr, uint64_t len);

/*
 *----------------------------------------------------------------
 * Change notification for the cache (unix/dmChange.c, win/dmWinChange.c).
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
 * Signals for dustmote::onsignal (generic/dmOnsignal.c): the platform
 * (unix/dmSignal.c, win/dmWinSignal.c) names what it can catch, catches
 * it (on 1) or restores the default (on 0), and calls DmSignalRun from
 * the event loop of the thread that caught the first one.  Once no signal
 * is caught, DmSignalRelease (from that thread) lets another thread's
 * next catch take over.
 *----------------------------------------------------------------
 */

#define DM_MAX_SIGNAL 64

typedef struct DmSignalName {
    const char *name;		/* Without "SIG"; NULL ends the table. */
    int number;			/* 1 to DM_MAX_SIGNAL - 1. */
} DmSignalName;

MODULE_SCOPE const DmSignalName dmSignalNames[];
MODULE_SCOPE int	DmSignalCatch(int signo, int on);
MODULE_SCOPE void	DmSignalRelease(void);
MODULE_SCOPE void	DmSignalRun(int signo);

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
MODULE_SCOPE DmCacheEntry *DmCacheGet(DmCache *cache, int rootFd,
			    const char *path, uint64_t inputSeq,
			    const char **dataPtr, DmFileInfo *infoPtr);
MODULE_SCOPE DmCacheTicket DmCacheWatch(DmCache *cache, int rootFd,
			    const char *path, int fd,
			    const DmFileInfo *infoPtr);
MODULE_SCOPE DmCacheEntry *DmCachePut(DmCache *cache, const char *path,
			    const DmFileInfo *infoPtr, const char *data,
			    long len, DmCacheTicket ticket);
MODULE_SCOPE void	DmCacheCounts(const DmCache *cache,
			    uint64_t *hitsPtr, uint64_t *statsPtr);
MODULE_SCOPE const char *DmCacheLastModified(const DmCacheEntry *entry);
MODULE_SCOPE const char *DmCacheETag(const DmCacheEntry *entry,
			    size_t *lenPtr);
MODULE_SCOPE const char *DmCacheType(DmCacheEntry *entry, const char *path,
			    size_t len, size_t *lenPtr);
MODULE_SCOPE const char *DmCacheVariant(const DmCacheEntry *entry,
			    int encoding, size_t *lenPtr);
MODULE_SCOPE int	DmCacheAddVariant(DmCache *cache, DmCacheEntry *entry,
			    int encoding, char *data, size_t len);

/*
 *----------------------------------------------------------------
 * Compression for -compress (generic/dmCompress.c).
 *----------------------------------------------------------------
 */

MODULE_SCOPE unsigned	DmCompressAvailable(void);
MODULE_SCOPE char *	DmCompress(int encoding, const char *data,
			    size_t len, size_t *outLenPtr);

/*
 *----------------------------------------------------------------
 * The MIME table (generic/dmMime.c).
 *----------------------------------------------------------------
 */

MODULE_SCOPE const char *DmMimeHeader(const char *path, size_t len,
			    size_t *lenPtr);
MODULE_SCOPE int	DmMimeCompressible(const char *header, size_t len);
MODULE_SCOPE unsigned	DmMimeEpoch(void);

/*
 *----------------------------------------------------------------
 * Servers and connections (generic/dmServer.c, dmConn.c, dmReply.c).
 *----------------------------------------------------------------
 */

typedef struct DmServer DmServer;
typedef struct DmConn DmConn;
typedef struct DmPipeline DmPipeline;

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
    DM_TIMER_HANDLER,		/* A request held for "$server respond". */
    DM_TIMER_LISTS
};

/*
 * Per-server settings, changed only by configure.
 */

enum {
    DM_LISTINGS_OFF,
    DM_LISTINGS_VISIBLE,	/* Dotfiles left out. */
    DM_LISTINGS_ALL
};

typedef struct DmConfig {
    Tcl_Obj *root;		/* -root as given. */
    Tcl_Obj *defaults;		/* -default: a list of index names. */
    Tcl_Obj *accessLog;		/* -accesslog: a channel, file or command. */
    Tcl_Obj *errorLog;		/* -errorlog: the same, or NULL for none. */
    int accessKind, errorKind;	/* What they name (DM_SINK_*), and the */
    Tcl_Channel accessChan;	/* channels, when they name channels. */
    Tcl_Channel errorChan;
    Tcl_Obj *logFormat;		/* -logformat. */
    Tcl_Obj *vhosts;		/* -vhosts: a list of names and roots. */
    Tcl_Obj *errorPages;	/* -errorpages: a list of statuses and
				 * paths below the root. */
    Tcl_Obj *serverName;	/* -servername. */
    Tcl_WideInt maxBody;	/* -maxbody: longest body for a handler. */
    Tcl_WideInt bodySpool;	/* -bodyspool: bodies above go to a file. */
    int deferAccept;		/* Accept a connection when its data came. */
    int sendLowat;		/* -sendlowat: unsent bytes a socket holds. */
    int sendFile;		/* Zero-copy file sends (-sendfile). */
    int followSymlinks;
    int dotfiles;		/* -dotfiles: 0 deny, 1 allow. */
    int compress;		/* -compress: text bodies on the fly. */
    int precompressed;		/* -precompressed: NAME.br, NAME.gz. */
    int listings;		/* -listings: DM_LISTINGS_*. */
    int proxyProtocol;		/* -proxyprotocol: a PROXY header first. */
    Tcl_Obj *trustedProxies;	/* -trustedproxies: CIDR ranges, or NULL. */
    Tcl_Obj *tls;		/* -tls as given, or NULL for none; */
    int tlsGiven;		/* given to this configure: (re)load it. */
    int maxAge;			/* -maxage: seconds, or -1 for none. */
    Tcl_Obj *headers;		/* -headers: names and values for every
				 * file reply, or NULL. */
    int maxConnections;
    int maxRanges;		/* -maxranges: more get the whole file. */
    DmLimits limits;		/* -maxrequestline, -maxheadersize,
				 * -maxheaders. */
    int timeouts[DM_TIMER_LISTS]; /* Milliseconds, by DM_TIMER_*. */
} DmConfig;

/*
 * Where a log goes, and what waits to go there.  A channel given by name
 * is held by pointer (a close handler forgets it), not looked up by name:
 * a name can be reused by another channel after the first one is closed.
 */

enum {
    DM_SINK_NONE,		/* No log. */
    DM_SINK_CHANNEL,		/* A channel of the program's. */
    DM_SINK_FILE,		/* A file the server opened for append. */
    DM_SINK_COMMAND		/* A command called for each record. */
};

typedef struct DmLogFormat DmLogFormat;

typedef struct DmLogSink {
    struct DmServer *srv;
    int kind;			/* DM_SINK_*. */
    Tcl_Channel chan;		/* CHANNEL, FILE. */
    Tcl_Obj *target;		/* The value that named the target. */
    Tcl_Obj *records;		/* COMMAND: dicts (or lines) waiting. */
    char *buf;			/* CHANNEL, FILE: lines waiting. */
    size_t len, cap;		/* Bytes (or records) waiting. */
    size_t flushAt;		/* Written at a safe point past this. */
    int writing;		/* Inside a write: what Tcl code it runs
				 * logs waits for the next write, never
				 * enters it. */
    int released;		/* DmLogSinkFree ran (while it wrote). */
} DmLogSink;

/*
 * The scratch buffer's parts.  Its size never changes, so no change of
 * configuration can pull it from under a connection: a read goes to the
 * input part (input kept from before is put in front when it fits; a
 * longer head is read into the connection's own buffer), a reply head is
 * assembled after it, and a small file's bytes after that.
 */

#define DM_REPLY_HEAD_MAX 1024	/* A head without the variable fields. */
#define DM_MAX_FILE_FIELDS 768	/* The most bytes of -headers. */
#define DM_MAX_TRUSTED	256	/* The most -trustedproxies ranges. */

/*
 * A number macro as a string literal, for messages.
 */

#define DM_STRINGIFY(x)	DM_STRINGIFY1(x)
#define DM_STRINGIFY1(x) #x
#define DM_MAX_RANGES	100	/* The largest -maxranges. */
#define DM_MULTIRANGE_MAX (1 << 20) /* Larger answers to several ranges:
				 * the whole file instead. */
#define DM_SMALL_FILE 16384	/* Files up to this size go out with their
				 * head in one write; larger ones by
				 * sendfile. */
#define DM_MAX_SERVER_NAME 200	/* Longest -servername. */
#define DM_HTML_TYPE "Content-Type: text/html; charset=utf-8\r\n"

#define DM_READ_ROOM	65536	/* Bytes taken from a socket per read. */
#define DM_HEAD_ROOM	3072	/* A reply head without a Location (with
				 * -servername and -headers at their most). */

/*
 * A document root: the -root, or the root of one of the -vhosts.
 */

typedef struct DmRoot {
    char *host;			/* Lower-case host name (vhosts), or NULL. */
    size_t hostLen;
    Tcl_Obj *path;		/* The root as configured (normalised). */
    int fd;			/* The open directory, or -1. */
    char *real;			/* Its canonical path. */
    DmCache *cache;		/* Its small files. */
} DmRoot;

struct DmServer {
    Tcl_Interp *interp;		/* Where the handle command lives. */
    Tcl_Command cmdToken;	/* The handle command, NULL once closed. */
    DmConfig config;
    DmRoot root;		/* The document root. */
    DmRoot *vhosts;		/* The roots of -vhosts, */
    int numVhosts;		/* picked by the Host field. */
    Tcl_Obj *errorPages[200];	/* -errorpages: paths for 400 to 599. */
    char serverHeader[DM_MAX_SERVER_NAME + 16]; /* "Server: NAME\r\n". */
    size_t serverHeaderLen;
    DmWatch listen;		/* The listening socket. */
    char boundAddr[DM_ADDR_LEN];
    int boundPort;
    int acceptPaused;		/* Out of descriptors: listener unwatched. */
    int closing;		/* Closed; freed with the last connection. */
    DmCidr *trusted;		/* -trustedproxies, parsed: numTrusted. */
    int numTrusted;
    int reusePort;		/* -reuseport: the port may be shared. */
    DmTlsConfig *tls;		/* -tls, made: NULL for plain HTTP. */
    int inheritedFd;		/* -fd: the listening socket was given, or
				 * -1. */
    int draining;		/* Closed by "close -drain": held requests
				 * wait for their answers. */
    int released;		/* Free once nothing uses it. */
    DmConn *conns;		/* Every open connection. */
    int numConns;
    DmTimerList timers[DM_TIMER_LISTS];
    Tcl_TimerToken timerToken;	/* Fires at the earliest deadline. */
    int64_t timerAt;		/* When it fires (ms), 0 if not armed. */
    uint64_t accepted, requests; /* Counters for stats. */
    uint64_t responses[600];	/* Replies done, by status. */
    uint64_t bytesSent;		/* Bytes of replies (heads too) sent. */
    uint64_t zeroCopyBytes;	/* File bytes of those sent with no copy
				 * through the process. */
    int64_t startMs;		/* When it started listening. */
    uint64_t inputSeq;		/* Counts reads from sockets, so the cache
				 * knows which requests came after its last
				 * look for changes. */
    DmPipeline *pipeline;	/* Routes and filters, or NULL for none. */
    DmField *fields;		/* Room for -maxheaders fields of the head
				 * being parsed (valid until a call into
				 * Tcl, like the scratch buffer). */
    char *scratch;		/* Input and reply assembly, shared by all
				 * connections, DM_READ_ROOM + DM_HEAD_ROOM
				 * + DM_SMALL_FILE bytes.  Nothing in it
				 * lives across a call into Tcl, where
				 * another connection may use it. */
    int64_t dateSecond;		/* The second the dates below are for. */
    unsigned boundaries;	/* Multipart boundaries made. */
    char dateHeader[48];	/* "Date: ...\r\n". */
    char expiresHeader[48];	/* "Expires: ...\r\n" for -maxage. */
    char fileFields[DM_MAX_FILE_FIELDS + 40];
				/* Cache-Control and -headers lines, for
				 * every file reply; fileFieldsLen bytes. */
    size_t fileFieldsLen;
    char logDate[DM_LOG_DATE_LEN + 1]; /* The same time for the log. */
    char isoDate[DM_ISO_DATE_LEN + 1]; /* And for the JSON log. */
    DmLogSink accessSink;	/* -accesslog and -errorlog lines, written */
    DmLogSink errorSink;	/* in batches, never in the middle of a
				 * request. */
    Tcl_TimerToken logTimer;	/* Writes them out soon. */
    DmLogFormat *logFormat;	/* -logformat, compiled. */
    int logTimed;		/* It wants reply times. */
};

/*
 * A copy of a request head and its fields, with every span pointing
 * into the copy: what outlives the input buffer when a reply does (for
 * the access log) or when Tcl code runs in the middle of a request.
 */

typedef struct DmSavedRequest {
    DmRequest req;		/* Spans point into head below. */
    size_t headLen;
    char *head;			/* The bytes of the head the spans are in:
				 * from the request line to the last field. */
} DmSavedRequest;

MODULE_SCOPE DmSavedRequest *DmSaveRequest(const DmRequest *req);
MODULE_SCOPE void	DmFreeSavedRequest(DmSavedRequest *saved);

/*
 * One connection (generic/dmConn.c).  The static handler, the Tcl bridge
 * and request bodies work on it too.
 */

typedef struct DmExchange DmExchange;

enum {
    DM_CONN_READ,		/* Reading request heads and bodies. */
    DM_CONN_SEND,		/* A reply waits for the socket. */
    DM_CONN_LINGER,		/* Reply sent, write side shut: draining
				 * input until the peer closes. */
    DM_CONN_HELD		/* A handler will answer later. */
};

struct DmConn {
    DmWatch watch;		/* Holds the socket. */
    DmServer *srv;
    DmConn *prev, *next;	/* In srv->conns. */
    DmConn *drainNext;		/* In DmConnServerClosing's list. */
    DmConn *tprev, *tnext;	/* In srv->timers[timer]. */
    int timer;			/* DM_TIMER_*, or DM_TIMER_NONE. */
    int64_t deadline;		/* When the timer expires (ms). */
    int state;			/* DM_CONN_*. */
    int busy;			/* Inside a call into Tcl made for this
				 * connection: it takes no events then. */
    int keepAlive;		/* Stay open after the current reply. */
    int answered;		/* A request was answered: waiting is idle. */
    int linger;			/* Drain input before closing: the reply
				 * was an error and input may be left. */
    char *in;			/* Input not yet processed (malloc'ed), */
    size_t inLen, inCap;	/* NULL when there is none. */
    size_t inParsed;		/* Length of the unfinished head in `in'
				 * when it was last parsed, 0 if none, */
    size_t inCheckAt;		/* and the length at which a limit would
				 * be passed (DmRequest.checkAt). */
    uint64_t inputSeq;		/* srv->inputSeq of the last read. */
    char *out;			/* Reply bytes the socket did not take */
    size_t outLen, outPos;	/* yet (malloc'ed). */
    int fileFd;			/* File still to send after out, or -1, */
    char *filePath;		/* and its path, for the error log. */
    uint64_t fileOff, fileEnd;
    int bodyKind;		/* DM_BODY_* of a request body being */
    uint64_t bodyLeft;		/* skipped, and its progress. */
    DmChunked chunked;
    Tcl_Channel bodyChan;	/* A reply body pumped from a channel the
				 * server owns, or NULL; */
    int64_t chanLeft;		/* its bytes still to send (-1: up to its
				 * end), */
    int chanChunked;		/* whether they are sent chunked, */
    int chanWaiting;		/* and whether we wait for it to be
				 * readable. */
    DmExchange *ex;		/* The request on its way through Tcl code,
				 * or NULL. */
    int replyStatus;		/* The reply being sent, for the access */
    uint64_t replyHead;		/* log: its status, head length, bytes */
    uint64_t replySent;		/* sent so far, and when its request */
    int64_t replyStart;		/* arrived (microseconds, 0 if untimed). */
    const DmRequest *logReq;	/* Its request while the head is in the
				 * input buffer, */
    DmSavedRequest *logSaved;	/* or a copy made when it no longer is. */
    char peer[DM_ADDR_LEN];	/* The client's address, for the log (of
				 * this request: -trustedproxies). */
    int peerPort;
    char sockPeer[DM_ADDR_LEN];	/* The connection's peer (its PROXY
				 * header's client). */
    int sockPeerPort;
    int proxyPending;		/* A PROXY header is yet to come. */
    DmTls *tls;			/* -tls: the connection's TLS, or NULL; */
    int tlsShake;		/* its handshake is under way (2: its first
				 * byte is yet to be seen). */
};

MODULE_SCOPE void	DmServerClose(DmServer *srv);
MODULE_SCOPE void	DmServerRelease(DmServer *srv);
MODULE_SCOPE int	DmServerConfigure(Tcl_Interp *interp, DmServer *srv,
			    DmConfig *cfg);

/*
 * The options (generic/dmConfig.c).
 */

#define DM_DEFAULT_PORT	8080	/* dustmote::serve without -port. */
MODULE_SCOPE void	DmConfigDefaults(DmConfig *cfg, Tcl_Obj *root);
MODULE_SCOPE void	DmConfigRetain(DmConfig *cfg, int delta);
MODULE_SCOPE int	DmConfigOption(Tcl_Interp *interp, Tcl_Obj *name,
			    int *indexPtr);
MODULE_SCOPE const char *DmConfigName(int index);
/*
 * Where a new server listens: -myaddr and -port, or an inherited
 * listening socket (-fd, -1 for none).  They cannot change afterwards.
 */

typedef struct DmListenSpec {
    Tcl_Obj *myaddr;
    int port;
    int fd;
    int reusePort;
} DmListenSpec;

MODULE_SCOPE int	DmConfigParse(Tcl_Interp *interp, DmConfig *cfg,
			    DmListenSpec *listenPtr, int objc,
			    Tcl_Obj *const objv[]);
MODULE_SCOPE Tcl_Obj *	DmConfigValue(DmServer *srv, int option);
MODULE_SCOPE Tcl_ObjCmdProc DmDefaultsObjCmd;

MODULE_SCOPE void	DmConnAccept(void *clientData, int events);
MODULE_SCOPE void	DmConnExpire(DmServer *srv, int64_t now);
MODULE_SCOPE void	DmConnServerClosing(DmServer *srv);
MODULE_SCOPE void	DmConnServerCut(DmServer *srv);
MODULE_SCOPE void	DmConnRetime(DmServer *srv, int which, int64_t delta);
MODULE_SCOPE int64_t	DmConnNextDeadline(DmServer *srv);
MODULE_SCOPE void	DmTimerArm(DmServer *srv, int64_t deadline);
MODULE_SCOPE void	DmConnDestroy(DmConn *conn);
MODULE_SCOPE void	DmConnTimerSet(DmConn *conn, int which);
MODULE_SCOPE void	DmConnTimerUnlink(DmConn *conn);
MODULE_SCOPE int	DmConnQueue(DmConn *conn, const DmRequest *req,
			    int status, const char *head, size_t headLen,
			    const char *body, size_t bodyLen, int fileFd,
			    uint64_t fileOff, uint64_t fileLen);
MODULE_SCOPE long	DmConnWrite(DmConn *conn, const DmBuf *bufs, int count,
			    int more);
MODULE_SCOPE int	DmConnDetach(DmConn *conn, char **inPtr,
			    size_t *inLenPtr, DmTls **tlsPtr);
MODULE_SCOPE void	DmConnTakeChannel(DmConn *conn, Tcl_Interp *interp,
			    Tcl_Channel chan, int64_t size, int chunked);
MODULE_SCOPE void	DmCloseChannelLater(Tcl_Channel chan);
MODULE_SCOPE int	DmConnError(DmConn *conn, int status,
			    const DmRequest *req, const char *extraName,
			    const char *extraValue, size_t extraValueLen);
MODULE_SCOPE void	DmConnSkipBody(DmConn *conn, DmRequest *req,
			    int haveBytes);
MODULE_SCOPE void	DmConnBusy(DmConn *conn);
MODULE_SCOPE int	DmConnIdle(DmConn *conn);
MODULE_SCOPE int	DmConnResume(DmConn *conn);
MODULE_SCOPE int	DmConnStash(DmConn *conn, const char *buf,
			    size_t len);
MODULE_SCOPE void	DmConnSaveLog(DmConn *conn);

/*
 * Results of the request handlers besides a byte count: -1 means the
 * connection was destroyed.
 */

#define DM_STASHED	(-2)	/* Tcl code ran: the input left was copied
				 * aside to conn->in. */
#define DM_NOT_ROUTED	(-3)	/* No route or filter applies. */

/*
 * Routes and filters (generic/dmRoute.c): what applies to one request.
 */

typedef struct DmMatch {
    Tcl_Obj *handler;		/* The route's command (the pipeline's), or
				 * NULL: the static files. */
    int takeover;
    Tcl_Obj *params;		/* New dict of the path's named parts. */
    Tcl_Obj *allow;		/* New list: routes match the path but not
				 * the method, and take these. */
    Tcl_Obj *before, *after;	/* New lists of filter commands. */
} DmMatch;

MODULE_SCOPE Tcl_ObjCmdProc DmPipelineObjCmd;
MODULE_SCOPE void	DmPipelineMatch(const DmPipeline *pl,
			    const DmRequest *req, const char *path,
			    size_t pathLen, DmMatch *matchPtr);
MODULE_SCOPE void	DmPipelineFree(void *ptr);
MODULE_SCOPE void	DmPipelineCounts(const DmPipeline *pl,
			    int *routesPtr, int *filtersPtr);

/*
 * Request bodies for handlers (generic/dmBody.c).
 */

typedef struct DmBody {
    int kind;			/* DM_BODY_*. */
    uint64_t left;		/* DM_BODY_LENGTH: bytes still to come. */
    DmChunked chunked;
    uint64_t len;		/* Data bytes so far. */
    int done;			/* Whole. */
    int status;			/* 400, 413 or 500 if it cannot be had. */
    char *mem;			/* In memory (malloc'ed)... */
    size_t memLen, memCap;
    int spoolFd;		/* ...or in a temporary file, or -1. */
    char *spoolPath;
} DmBody;

MODULE_SCOPE int	DmBodyBegin(DmConn *conn, DmBody *body,
			    const DmRequest *req, int haveBytes);
MODULE_SCOPE long	DmBodyFeed(DmConn *conn, DmBody *body,
			    const char *buf, size_t len);
MODULE_SCOPE int	DmBodyFinish(DmBody *body, Tcl_Obj *request);
MODULE_SCOPE void	DmBodyFree(DmBody *body);

/*
 * The bridge to Tcl code (generic/dmTclReq.c) and connection takeover
 * (generic/dmTakeover.c).
 */

MODULE_SCOPE long	DmExchangeStart(DmConn *conn, DmRequest *req,
			    const char *path, size_t pathLen,
			    const char *head, size_t headLen, size_t len);
MODULE_SCOPE long	DmExchangeBody(DmConn *conn, const char *buf,
			    size_t len);
MODULE_SCOPE long	DmExchangeRun(DmConn *conn, const char *rest,
			    size_t restLen);
MODULE_SCOPE int	DmExchangeAnswer(DmExchange *ex, Tcl_Obj *response,
			    int status);
MODULE_SCOPE void	DmExchangeHold(DmExchange *ex);
MODULE_SCOPE void	DmExchangeTimeout(DmExchange *ex);
MODULE_SCOPE void	DmExchangeStalled(DmConn *conn);
MODULE_SCOPE void	DmExchangeDone(DmExchange *ex);
MODULE_SCOPE void	DmExchangeOrphan(DmExchange *ex);
MODULE_SCOPE int	DmExchangeFilters(const DmConn *conn);
MODULE_SCOPE int	DmExchangeFilter(DmConn *conn, const DmRequest *req,
			    int status, const char *head, size_t headLen,
			    const char *body, size_t bodyLen, int fileFd,
			    uint64_t fileOff, uint64_t fileLen);
MODULE_SCOPE int	DmRespond(DmServer *srv, Tcl_Interp *interp,
			    Tcl_Obj *idObj, Tcl_Obj *response);
MODULE_SCOPE int	DmExchangeAddFile(Tcl_WideInt id, Tcl_Obj *path);
MODULE_SCOPE Tcl_ObjCmdProc DmFormpartsObjCmd;
MODULE_SCOPE Tcl_Obj *	DmFormList(const char *p, const char *end);
MODULE_SCOPE int	DmOpenFileObj(Tcl_Obj *pathObj, DmFileInfo *infoPtr,
			    int *statusPtr);
MODULE_SCOPE Tcl_Obj *	DmUtf8Obj(const char *bytes, size_t len);
MODULE_SCOPE Tcl_Obj *	DmLatin1Obj(const char *bytes, size_t len);
MODULE_SCOPE void	DmBytesOf(Tcl_Obj *obj, Tcl_DString *dsPtr);
MODULE_SCOPE const Tcl_ObjType *dmByteArrayType;
MODULE_SCOPE unsigned	DmUniqueId(void);
MODULE_SCOPE int	DmTakeover(DmConn *conn, DmSavedRequest *saved,
			    Tcl_Obj *handler, Tcl_Obj *request);
MODULE_SCOPE DmServer *	DmServerFromObj(Tcl_Interp *interp, Tcl_Obj *obj);

/*
 * The static handler (generic/dmStatic.c).
 */

MODULE_SCOPE int	DmStaticHandle(DmConn *conn, const DmRequest *req,
			    char *path, size_t pathLen);
MODULE_SCOPE int	DmFileDecide(DmServer *srv, const DmRequest *req,
			    const DmValidator *v, uint64_t size,
			    DmByteRange *ranges, int *nPtr, char *text,
			    size_t *textLenPtr);
MODULE_SCOPE int	DmListingReply(DmConn *conn, const DmRequest *req,
			    const DmRoot *root, char *path, size_t pathLen);
MODULE_SCOPE int	DmStaticErrorPage(DmServer *srv,
			    const DmRequest *req, int status,
			    DmFileInfo *infoPtr, const char **typePtr,
			    size_t *typeLenPtr);
MODULE_SCOPE const DmRoot *DmRootFor(const DmServer *srv,
			    const DmRequest *req);
MODULE_SCOPE int	DmRootOpen(Tcl_Interp *interp, DmRoot *root,
			    Tcl_Obj *path, const char *host, size_t hostLen);
MODULE_SCOPE void	DmRootClose(DmRoot *root);

#define DM_PATH_MAX	4096	/* Longest normalised path served; path
				 * buffers have DM_PATH_MAX bytes, with
				 * room for an index name after it. */
#define DM_INDEX_ROOM	256

MODULE_SCOPE Tcl_ObjCmdProc DmServeObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmInheritObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmMimetypeObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmPumpObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmOnsignalObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmSetuserObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc DmTicketsecretObjCmd;	/* dmTls.c */

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
    const char *etag;		/* The entity-tag, or NULL... */
    size_t etagLen;		/* ...with Accept-Ranges after it, and the
				 * server's fields for files. */
    int encoding;		/* DM_ENC_*: Content-Encoding unless
				 * identity. */
    int vary;			/* Send "Vary: Accept-Encoding". */
    const char *extraName;	/* One more header (Location, Allow)... */
    const char *extraValue;	/* ...and its value; NULL for none. */
    size_t extraValueLen;
} DmReply;

enum {
    DM_CONN_HDR_NONE = 0,	/* HTTP/1.1 keep-alive: nothing to say. */
    DM_CONN_HDR_CLOSE,
    DM_CONN_HDR_KEEPALIVE	/* HTTP/1.0 keep-alive. */
};

MODULE_SCOPE size_t	DmReplyHeadSize(const DmServer *srv,
			    const DmReply *reply);
MODULE_SCOPE size_t	DmReplyHead(DmServer *srv, const DmReply *reply,
			    char *buf, size_t size);

enum {
    DM_FRAME_NONE,		/* No body (204, 304), or framed already. */
    DM_FRAME_LENGTH,		/* Content-Length. */
    DM_FRAME_CHUNKED,		/* Transfer-Encoding: chunked. */
    DM_FRAME_CLOSE		/* The body ends with the connection. */
};

MODULE_SCOPE void	DmReplyBuildHead(DmServer *srv, int status,
			    const char *fields, size_t fieldsLen,
			    int addServer, int framing, uint64_t length,
			    int connection, Tcl_DString *dsPtr);
MODULE_SCOPE void	DmReplyClock(DmServer *srv);

/*
 * The access log (generic/dmLog.c).
 */

MODULE_SCOPE void	DmLogRequest(DmServer *srv, const char *peer,
			    const DmRequest *req, int status, uint64_t bytes,
			    int64_t micros);
MODULE_SCOPE DmLogFormat *DmLogFormatCompile(Tcl_Interp *interp,
			    Tcl_Obj *spec);
MODULE_SCOPE void	DmLogFormatFree(DmLogFormat *fmt);
MODULE_SCOPE int	DmLogFormatTimed(const DmLogFormat *fmt);
MODULE_SCOPE int	DmLogTarget(Tcl_Interp *interp, const char *option,
			    Tcl_Obj *value, int *kindPtr,
			    Tcl_Channel *chanPtr);
MODULE_SCOPE int	DmLogSetTarget(Tcl_Interp *interp, DmLogSink *sink,
			    int kind, Tcl_Channel chan, Tcl_Obj *value);
MODULE_SCOPE int	DmLogReopen(Tcl_Interp *interp, DmServer *srv);
MODULE_SCOPE void	DmLogSinkFree(DmLogSink *sink);
MODULE_SCOPE void	DmLogReply(DmConn *conn);
MODULE_SCOPE void	DmLogFlush(DmServer *srv);

#define DM_LOG_BUFFER	65536	/* Bytes gathered before a write. */
#define DM_LOG_LINE_MAX	2048	/* Longest line; request lines are cut. */

/*
 * DmLogFlushDue: at a safe point (after an event), writes the logs if the
 * access log gathered enough or an error was logged.
 */

static inline void
DmLogFlushDue(
    DmServer *srv)
{
    if (srv->accessSink.len > srv->accessSink.flushAt
	    || srv->errorSink.len > 0) {
	DmLogFlush(srv);
    }
}

/*
 * DmConnHeader: whether the connection stays open after this reply, and
 * what the Connection field says about it (a DM_CONN_HDR_* value); sets
 * conn->keepAlive.
 */

static inline int
DmConnHeader(
    DmConn *conn,
    int keepAlive,		/* The request allows it. */
    int versionMinor,
    int mustClose)
{
    conn->keepAlive = keepAlive && !mustClose && !conn->srv->closing;
    if (!conn->keepAlive) {
	return DM_CONN_HDR_CLOSE;
    }
    return (versionMinor == 0) ? DM_CONN_HDR_KEEPALIVE : DM_CONN_HDR_NONE;
}
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
