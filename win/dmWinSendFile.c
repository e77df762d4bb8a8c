/*
 * dmWinSendFile.c --
 *
 *	File bodies on Windows.  A connection socket of the event set sends
 *	large files with TransmitFile, overlapped: the system reads the file
 *	and sends it with no copy through the process, and the send runs
 *	while the Tcl thread goes on.  The socket is parked in the event set
 *	meanwhile (a socket with a send under way would be reported writable
 *	over and over); a thread-pool wait on the send's event reports its
 *	completion to the event set, which calls the connection as writable,
 *	and the connection's next call collects the result.
 *
 *	A send's size adapts to the client: a send must end well within
 *	-sendtimeout even for a slow reader (a send under way says nothing of
 *	its progress), and a fast one should cost few completions.  Small
 *	files, and sockets that are not the event set's (the pump's Tcl
 *	channels), go through a buffer (DmNetSendFileCopy).
 *
 *	Client editions of Windows run at most two TransmitFile calls at a
 *	time in the whole system and queue the rest, so the default there is
 *	the buffered copy (-sendfile 0); server editions default to
 *	TransmitFile.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <mswsock.h>
#include <versionhelpers.h>

#define TRANSMIT_MIN	(64 * 1024)	/* Smaller files are copied; a
					 * socket's first send. */
#define TRANSMIT_MAX	(1024 * 1024)	/* A client slower than this per
					 * -sendtimeout is cut. */
#define TRANSMIT_FAST	100		/* A send done within this many ms
					 * doubles the next one... */
#define TRANSMIT_SLOW	1000		/* ...one slower than this halves
					 * it. */
#define TRANSFER_BUCKETS 64		/* Of the table by socket. */

/*
 * A socket that has sent with TransmitFile, kept until it is closed.
 */

typedef struct Transfer {
    OVERLAPPED ov;			/* Its hEvent is manual-reset. */
    struct Transfer *next;		/* In its bucket. */
    int sock;
    int pending;			/* A send is under way. */
    HANDLE wait;			/* The thread pool's wait for it, or
					 * NULL. */
    void *set;				/* The event set it reports to (the
					 * thread's, which outlives it). */
    int parked;				/* In the event set. */
    int copy;				/* TransmitFile sent nothing where the
					 * file goes on: copy from now on. */
    DWORD size;				/* Bytes of the next send. */
    int64_t started;			/* DmNowMs when the send started. */
} Transfer;

typedef struct ThreadData {
    Transfer *buckets[TRANSFER_BUCKETS];
    int count;				/* Transfers in the table. */
    int exitHandler;			/* Registered. */
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static Transfer **	Slot(ThreadData *t, int sock);
static long		Collect(Transfer *tr, int fileFd,
			    uint64_t *offsetPtr, size_t count,
			    int *zeroCopyPtr);
static void		Drop(ThreadData *t, Transfer **linkPtr);
static void		Finish(Transfer *tr);
static void		TransferExit(void *clientData);
static VOID CALLBACK	Completed(PVOID param, BOOLEAN timedOut);

/*
 *----------------------------------------------------------------------
 *
 * DmNetSendFileDefault --
 *
 *	Whether -sendfile is on by default: on server editions only (see
 *	above).
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmNetSendFileDefault(void)
{
    return IsWindowsServer() ? 1 : 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Slot --
 *
 *	Where a socket's transfer is, or would go, in the table.
 *
 * Results:
 *	The link that holds it (pointing to NULL if there is none).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Transfer **
Slot(
    ThreadData *t,
    int sock)
{
    Transfer **linkPtr = &t->buckets[((unsigned) sock >> 2)
	    % TRANSFER_BUCKETS];	/* Handles are multiples of 4. */

    while (*linkPtr != NULL && (*linkPtr)->sock != sock) {
	linkPtr = &(*linkPtr)->next;
    }
    return linkPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * DmNetSendFile --
 *
 *	Sends file bytes from *offsetPtr.  With DM_SENDFILE_LATER and count
 *	of TRANSMIT_MIN or more, starts a TransmitFile send, or collects
 *	the one under way once it is done; otherwise copies through a
 *	buffer.
 *
 * Results:
 *	Bytes sent (0 if the file ended early), or -1 with errno set:
 *	EAGAIN while a send is under way (the event set reports the socket
 *	writable when it is done).
 *
 * Side effects:
 *	Advances *offsetPtr; may start a send, park the socket in the
 *	event set and register a thread-pool wait.  Sets *zeroCopyPtr
 *	(unless NULL) to 1 when TransmitFile sent the bytes.
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
    ThreadData *t;
    Transfer **linkPtr, *tr;
    DWORD want;

    t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    linkPtr = Slot(t, sock);
    tr = *linkPtr;
    if (tr != NULL && tr->pending) {
	if (!HasOverlappedIoCompleted(&tr->ov)) {
	    errno = EAGAIN;		/* Woken early: by a read, say. */
	    return -1;
	}
	/* Collected even if -sendfile changed meanwhile. */
	return Collect(tr, fileFd, offsetPtr, count, zeroCopyPtr);
    }
    if (!(flags & DM_SENDFILE_LATER) || count < TRANSMIT_MIN
	    || (tr != NULL && tr->copy)) {
	return DmNetSendFileCopy(sock, fileFd, offsetPtr, count);
    }
    if (tr == NULL) {
	tr = calloc(1, sizeof(Transfer));
	if (tr == NULL) {
	    return DmNetSendFileCopy(sock, fileFd, offsetPtr, count);
	}
	tr->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (tr->ov.hEvent == NULL) {
	    free(tr);
	    return DmNetSendFileCopy(sock, fileFd, offsetPtr, count);
	}
	tr->sock = sock;
	tr->size = TRANSMIT_MIN;
	*linkPtr = tr;
	t->count++;
	if (!t->exitHandler) {
	    Tcl_CreateThreadExitHandler(TransferExit, t);
	    t->exitHandler = 1;
	}
    }

    want = count < tr->size ? (DWORD) count : tr->size;
    tr->ov.Internal = 0;
    tr->ov.InternalHigh = 0;
    tr->ov.Offset = (DWORD) *offsetPtr;
    tr->ov.OffsetHigh = (DWORD) (*offsetPtr >> 32);
    tr->started = DmNowMs();
    tr->pending = 1;
    ResetEvent(tr->ov.hEvent);		/* Not every system does it. */
    if (!TransmitFile(DM_SOCKET(sock), DM_HANDLE(fileFd), want, 0, &tr->ov,
	    NULL, 0)) {
	DWORD err = (DWORD) WSAGetLastError();

	if (err != WSA_IO_PENDING) {
	    tr->pending = 0;
	    errno = DmWinErrno(err);
	    return -1;
	}
	if (!HasOverlappedIoCompleted(&tr->ov)) {
	    tr->set = DmPollPark(sock);
	    tr->parked = (tr->set != NULL);
	    if (!tr->parked || !RegisterWaitForSingleObject(&tr->wait,
		    tr->ov.hEvent, Completed, tr, INFINITE,
		    WT_EXECUTEONLYONCE)) {
		/*
		 * Nothing would report the completion (out of memory):
		 * cancel the send and take what it sent, rather than wait
		 * for a client that may not read.
		 */

		tr->wait = NULL;
		CancelIoEx(DM_HANDLE(sock), &tr->ov);
		WaitForSingleObject(tr->ov.hEvent, INFINITE);
		return Collect(tr, fileFd, offsetPtr, count, zeroCopyPtr);
	    }
	    errno = EAGAIN;
	    return -1;
	}
    }
    return Collect(tr, fileFd, offsetPtr, count, zeroCopyPtr); /* At once. */
}

/*
 *----------------------------------------------------------------------
 *
 * Completed --
 *
 *	The thread pool's call when a send's event is set: tells the
 *	socket's event set.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Hands a writable event over to the Tcl thread.
 *
 *----------------------------------------------------------------------
 */

static VOID CALLBACK
Completed(
    PVOID param,
    BOOLEAN timedOut)
{
    Transfer *tr = param;

    (void) timedOut;			/* INFINITE: never. */
    DmPollCompleted(tr->set, tr->sock);
}

/*
 *----------------------------------------------------------------------
 *
 * Collect --
 *
 *	Takes the result of a finished send, and sizes the next one by how
 *	long this one took.  A send that sent nothing, though the file goes
 *	on, is not the end of the file: a socket whose client has shut down
 *	its side ends sends that way under wine.  The socket copies from
 *	then on, which tells a file that did shrink by sending nothing too.
 *
 * Results:
 *	Bytes sent, or -1 with errno set.
 *
 * Side effects:
 *	Advances *offsetPtr; ends the wait; unparks the socket.  Sets
 *	*zeroCopyPtr as DmNetSendFile does.
 *
 *----------------------------------------------------------------------
 */

static long
Collect(
    Transfer *tr,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count,
    int *zeroCopyPtr)
{
    DWORD sent = 0, flags = 0;
    int64_t took;

    Finish(tr);
    if (!WSAGetOverlappedResult(DM_SOCKET(tr->sock), &tr->ov, &sent, FALSE,
	    &flags)) {
	errno = DmWinErrno((DWORD) WSAGetLastError());
	return -1;
    }
    if (sent == 0) {
	tr->copy = 1;
	return DmNetSendFileCopy(tr->sock, fileFd, offsetPtr, count);
    }
    took = DmNowMs() - tr->started;
    if (took < TRANSMIT_FAST && sent == tr->size && tr->size < TRANSMIT_MAX) {
	tr->size *= 2;
    } else if (took > TRANSMIT_SLOW && tr->size > TRANSMIT_MIN) {
	tr->size /= 2;
    }
    *offsetPtr += sent;
    if (zeroCopyPtr != NULL) {
	*zeroCopyPtr = 1;
    }
    return (long) sent;
}

/*
 *----------------------------------------------------------------------
 *
 * Finish --
 *
 *	Ends what a finished (or cancelled) send left: its wait, which may
 *	be running its callback right now, and the socket's parking.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May wait for the thread pool's callback to return.
 *
 *----------------------------------------------------------------------
 */

static void
Finish(
    Transfer *tr)
{
    if (tr->wait != NULL) {
	UnregisterWaitEx(tr->wait, INVALID_HANDLE_VALUE);
	tr->wait = NULL;
    }
    if (tr->parked) {
	DmPollUnpark(tr->sock);
	tr->parked = 0;
    }
    tr->pending = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Drop, DmWinSendFileClosed --
 *
 *	Before a socket is closed: a send under way is cancelled and waited
 *	for (the system writes its OVERLAPPED until then), and the socket's
 *	transfer is taken from the table and freed.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May wait for the cancelled send; frees memory.
 *
 *----------------------------------------------------------------------
 */

static void
Drop(
    ThreadData *t,
    Transfer **linkPtr)
{
    Transfer *tr = *linkPtr;

    *linkPtr = tr->next;
    t->count--;
    if (tr->pending) {
	CancelIoEx(DM_HANDLE(tr->sock), &tr->ov);
	WaitForSingleObject(tr->ov.hEvent, INFINITE);
	Finish(tr);
    }
    CloseHandle(tr->ov.hEvent);
    free(tr);
}

void
DmWinSendFileClosed(
    int sock)
{
    ThreadData *t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));
    Transfer **linkPtr;

    if (t->count > 0 && *(linkPtr = Slot(t, sock)) != NULL) {
	Drop(t, linkPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * TransferExit --
 *
 *	When the thread ends with sockets it never closed: their sends are
 *	cancelled and waited for before the event set goes (exit handlers
 *	run newest first, and the set was made before any send).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Cancels sends; frees the table's memory.
 *
 *----------------------------------------------------------------------
 */

static void
TransferExit(
    void *clientData)
{
    ThreadData *t = clientData;
    int i;

    for (i = 0; i < TRANSFER_BUCKETS; i++) {
	while (t->buckets[i] != NULL) {
	    Drop(t, &t->buckets[i]);
	}
    }
}
