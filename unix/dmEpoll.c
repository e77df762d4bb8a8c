/*
 * dmEpoll.c --
 *
 *	The event set for connection sockets on Linux: an epoll instance that
 *	Tcl's notifier watches as a single file handler (dmPoll.c is the
 *	poll() one, for the other systems).  Tcl 8.6's select()
 *	notifier cannot take a descriptor of 1024 or more, and keeping every
 *	connection out of it also makes the cost of one event independent of
 *	the number of connections.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>

#define DM_POLL_BATCH 256	/* Events taken per epoll_wait. */
#define DM_POLL_ROUNDS 8	/* epoll_waits per notifier callback. */

/*
 * One event set per thread: Tcl's notifier and event loop are per thread.
 */

typedef struct ThreadData {
    int epfd;			/* -1 until the first watch. */
} ThreadData;

static Tcl_ThreadDataKey dataKey;

static void	PollProc(void *clientData, int mask);
static void	Dispatch(struct epoll_event *events, int n);
static void	PollExit(void *clientData);

/*
 *----------------------------------------------------------------------
 *
 * GetThreadData --
 *
 *	The calling thread's event set, created on first use.
 *
 * Results:
 *	The thread data, or NULL (errno set) if epoll is unavailable.
 *
 * Side effects:
 *	May create the epoll instance and register it with the notifier.
 *
 *----------------------------------------------------------------------
 */

static ThreadData *
GetThreadData(void)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (tsdPtr->epfd <= 0) {
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
	    return NULL;
	}
	tsdPtr->epfd = fd;
	Tcl_CreateFileHandler(fd, TCL_READABLE, PollProc, tsdPtr);
	Tcl_CreateThreadExitHandler(PollExit, tsdPtr);
    }
    return tsdPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * PollExit --
 *
 *	Closes the thread's event set when the thread (or process) ends.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes the epoll descriptor.
 *
 *----------------------------------------------------------------------
 */

static void
PollExit(
    void *clientData)
{
    ThreadData *tsdPtr = clientData;

    Tcl_DeleteFileHandler(tsdPtr->epfd);
    close(tsdPtr->epfd);
    tsdPtr->epfd = -1;
}

/*
 *----------------------------------------------------------------------
 *
 * PollProc --
 *
 *	Called by Tcl's notifier when the event set has events: takes them
 *	in batches and dispatches them.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Whatever the watch procedures do.
 *
 *----------------------------------------------------------------------
 */

static void
PollProc(
    void *clientData,
    TCL_UNUSED(int) /*mask*/)
{
    ThreadData *tsdPtr = clientData;
    struct epoll_event events[DM_POLL_BATCH];
    int n, round;

    /*
     * A trip through Tcl's notifier costs more than an epoll_wait, so
     * while events keep coming they are taken here, a few rounds at most
     * so that timers and other event sources still get their turn.
     * A watch procedure may run Tcl code that enters the event loop
     * again (this procedure with it): what it frees is only retired, so
     * the watches of this batch stay readable until the batch is done.
     */

    DmEnter();
    for (round = 0; round < DM_POLL_ROUNDS; round++) {
	n = epoll_wait(tsdPtr->epfd, events, DM_POLL_BATCH, 0);
	if (n <= 0) {
	    break;
	}
	Dispatch(events, n);
    }
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * Dispatch --
 *
 *	Calls each ready watch's procedure.  A watch stopped earlier in the
 *	batch (its connection closed) is skipped; its memory is still there
 *	because the caller is inside DmEnter.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Whatever the watch procedures do.
 *
 *----------------------------------------------------------------------
 */

static void
Dispatch(
    struct epoll_event *events,
    int n)
{
    int i;

    for (i = 0; i < n; i++) {
	DmWatch *w = events[i].data.ptr;
	int mask = 0;

	if (w->fd < 0) {
	    continue;			/* Stopped earlier in this batch. */
	}
	if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
	    mask |= DM_READABLE;
	}
	if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
	    mask |= DM_WRITABLE;
	}
	if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
	    mask |= DM_HANGUP;
	}
	mask &= w->events;
	if (mask) {
	    w->proc(w->clientData, mask);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * EpollMask --
 *
 *	Translates DM_READABLE/DM_WRITABLE/DM_HANGUP into epoll's bits.
 *
 * Results:
 *	The epoll event mask.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static uint32_t
EpollMask(
    int events)
{
    return ((events & DM_READABLE) ? EPOLLIN | EPOLLRDHUP : 0)
	    | ((events & DM_WRITABLE) ? EPOLLOUT : 0)
	    | ((events & DM_HANGUP) ? EPOLLRDHUP : 0);
}

/*
 *----------------------------------------------------------------------
 *
 * DmWatchStart --
 *
 *	Adds fd to the event set: proc is called with the events among
 *	`events' that are ready, level-triggered.
 *
 * Results:
 *	0, or -1 with errno set.
 *
 * Side effects:
 *	Fills *w, which must stay at the same address until DmWatchStop.
 *
 *----------------------------------------------------------------------
 */

int
DmWatchStart(
    DmWatch *w,
    int fd,
    int events,
    DmWatchProc *proc,
    void *clientData)
{
    ThreadData *tsdPtr = GetThreadData();
    struct epoll_event ev;

    if (tsdPtr == NULL) {
	return -1;
    }
    DmWatchInit(w, fd, proc, clientData);
    w->events = events;
    ev.events = EpollMask(events);
    ev.data.ptr = w;
    if (epoll_ctl(tsdPtr->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
	w->fd = -1;
	return -1;
    }
    w->registered = 1;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmWatchSet --
 *
 *	Changes the events a watch asks for.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	One epoll_ctl call if the set changed (or the watch enters it).
 *
 *----------------------------------------------------------------------
 */

void
DmWatchSet(
    DmWatch *w,
    int events)
{
    ThreadData *tsdPtr;
    struct epoll_event ev;

    if (w->fd < 0 || (w->events == events && (w->registered || !events))) {
	return;
    }
    tsdPtr = GetThreadData();
    w->events = events;
    ev.events = EpollMask(events);
    ev.data.ptr = w;
    if (w->registered) {
	epoll_ctl(tsdPtr->epfd, EPOLL_CTL_MOD, w->fd, &ev);
    } else if (tsdPtr != NULL
	    && epoll_ctl(tsdPtr->epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0) {
	w->registered = 1;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmWatchStop, DmWatchStopSync --
 *
 *	Remove a watch from the event set; its descriptor stays open.
 *	epoll lets go of a descriptor at once, so DmWatchStopSync (for a
 *	listener that must refuse connections as soon as it is closed; see
 *	dmPoll.c) has nothing more to wait for.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	w->fd becomes -1, so a pending event of this batch is skipped.
 *
 *----------------------------------------------------------------------
 */

void
DmWatchStop(
    DmWatch *w)
{
    ThreadData *tsdPtr = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (w->registered) {
	epoll_ctl(tsdPtr->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->registered = 0;
    }
    w->fd = -1;
}

void
DmWatchStopSync(
    DmWatch *w)
{
    DmWatchStop(w);
}
