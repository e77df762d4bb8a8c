/*
 * dmPoll.c --
 *
 *	The event set for connection sockets where there is no epoll (macOS,
 *	the BSDs, Windows; on Linux with "configure --with-eventset=poll"):
 *	a helper thread waits in poll (WSAPoll on Windows) on every watched
 *	socket and alerts the Tcl thread's notifier, and an event source
 *	dispatches what it found.  Tcl's own notifier never sees a socket,
 *	so its select() never meets a descriptor of 1024 or more, and on
 *	Windows, where Tcl has no file handlers, sockets are watched all the
 *	same.
 *
 *	The two threads take turns.  The helper polls, hands the ready
 *	descriptors over and waits; the Tcl thread dispatches them and lets
 *	the helper poll again.  Polling only after the dispatch means the
 *	helper does not report again, level-triggered, what the Tcl thread
 *	has not yet read.  Tcl code run by a dispatch may enter the event
 *	loop (update, vwait): an event source lets the helper poll again as
 *	soon as that happens, so the nested loop sees socket events too (a
 *	descriptor of the outer batch may then be reported twice; the watch
 *	procedures take an event that finds nothing to do in their stride).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <stdlib.h>

#define DM_POLL_BATCH 256	/* Events dispatched from the stack; a
				 * larger batch is copied to the heap. */

/*
 * Where each descriptor is: its watch, and its slot in the poll set
 * (-1 when it is not in the set).
 */

typedef struct Entry {
    DmWatch *watch;
    int slot;
    int parked;			/* A send under way: see DmPollPark. */
} Entry;

typedef struct Ready {
    int fd;
    short revents;
    short completed;		/* From DmPollCompleted, not poll. */
} Ready;

/*
 * One event set per thread: Tcl's notifier and event loop are per thread.
 * The fields after the lock are shared with the helper and read or
 * written only under it.
 */

typedef struct ThreadData {
    int started;		/* The helper runs; -1 if it could not. */
    Tcl_ThreadId helper;
    Tcl_ThreadId owner;		/* The Tcl thread, to alert. */
    int wake[2];		/* To the helper: the set changed, or quit. */
    Entry *entries;		/* By descriptor (Tcl thread only). */
    int numEntries;
    int dispatching;		/* Dispatches under way (Tcl thread only). */
    int queued;			/* A dispatch event is in Tcl's queue (Tcl
				 * thread only). */

    Tcl_Mutex lock;
    Tcl_Condition resume;	/* Signalled when the helper may poll. */
    struct pollfd *set;		/* What to wait for, count entries. */
    int count, room;
    int polling;		/* The helper is in poll() with a copy: a
				 * change must wake it... */
    int poked;			/* ...unless one already did: it copies
				 * every change made before it takes the
				 * lock again. */
    unsigned changes;		/* Changes to the set, counted... */
    unsigned copied;		/* ...and how many the helper's copy has:
				 * a stop waits for a poll of an older one. */
    Tcl_Condition polled;	/* Signalled when a poll ends. */
    int held;			/* The helper waits for the Tcl thread. */
    int quit;
    Ready *ready;		/* Handed over, readyCount entries. */
    int readyCount, readyRoom;
} ThreadData;

static Tcl_ThreadDataKey dataKey;

/*
 * The event queued when the helper has handed events over.
 */

typedef struct PollEvent {
    Tcl_Event header;
    ThreadData *t;
} PollEvent;

static Tcl_ThreadCreateProc Helper;
static int	AddReady(ThreadData *t, int fd, short revents,
		    short completed);
static void	Park(ThreadData *t, int fd, int parked);
static void	Dispatch(ThreadData *t);
static int	EventProc(Tcl_Event *evPtr, int flags);
static void	PollExit(void *clientData);
static void	SetupProc(void *clientData, int flags);
static void	CheckProc(void *clientData, int flags);
static int	DeleteProc(Tcl_Event *evPtr, void *clientData);

/*
 *----------------------------------------------------------------------
 *
 * GetThreadData --
 *
 *	The calling thread's event set, with its helper started on first
 *	use.
 *
 * Results:
 *	The thread data, or NULL (errno set) if the helper cannot run.
 *
 * Side effects:
 *	May open the wake-up channel, start the helper, and register the
 *	event source.
 *
 *----------------------------------------------------------------------
 */

static ThreadData *
GetThreadData(void)
{
    ThreadData *t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (t->started == 0) {
	if (DmWakeOpen(t->wake) < 0) {
	    t->started = -1;
	    return NULL;
	}
	t->owner = Tcl_GetCurrentThread();
	if (Tcl_CreateThread(&t->helper, Helper, t,
		TCL_THREAD_STACK_DEFAULT, TCL_THREAD_JOINABLE) != TCL_OK) {
	    DmWakeClose(t->wake);
	    t->started = -1;
	    errno = EAGAIN;
	    return NULL;
	}
	t->started = 1;
	Tcl_CreateEventSource(SetupProc, CheckProc, t);
	Tcl_CreateThreadExitHandler(PollExit, t);
    }
    if (t->started < 0) {
	errno = EAGAIN;
	return NULL;
    }
    return t;
}

/*
 *----------------------------------------------------------------------
 *
 * PollExit --
 *
 *	Stops the helper and closes the event set when the thread (or
 *	process) ends.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Joins the helper; frees the set; closes the wake-up channel.
 *
 *----------------------------------------------------------------------
 */

static void
PollExit(
    void *clientData)
{
    ThreadData *t = clientData;
    int result;

    Tcl_MutexLock(&t->lock);
    t->quit = 1;
    t->held = 0;
    Tcl_ConditionNotify(&t->resume);
    Tcl_MutexUnlock(&t->lock);
    DmWakePoke(t->wake[1]);
    Tcl_JoinThread(t->helper, &result);
    Tcl_DeleteEventSource(SetupProc, CheckProc, t);
    Tcl_DeleteEvents(DeleteProc, t);
    DmWakeClose(t->wake);
    Tcl_ConditionFinalize(&t->resume);
    Tcl_ConditionFinalize(&t->polled);
    Tcl_MutexFinalize(&t->lock);
    free(t->set);
    free(t->ready);
    free(t->entries);
    t->started = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Helper --
 *
 *	The helper thread: polls the set and the wake-up channel, hands what
 *	is ready over, alerts the Tcl thread, and waits until that lets it
 *	poll again.  It calls nothing of Tcl's but its mutex, condition and
 *	Tcl_ThreadAlert, which is meant to be called from other threads.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills the ready list; alerts the Tcl thread.
 *
 *----------------------------------------------------------------------
 */

static Tcl_ThreadCreateType
Helper(
    void *clientData)
{
    ThreadData *t = clientData;
    struct pollfd *fds = NULL;
    int room = 0, n, i, alert;

    for (;;) {
	Tcl_MutexLock(&t->lock);
	while (t->held && !t->quit) {
	    Tcl_ConditionWait(&t->resume, &t->lock, NULL);
	}
	if (t->quit) {
	    Tcl_MutexUnlock(&t->lock);
	    break;
	}
	n = t->count + 1;
	if (n > room) {
	    struct pollfd *more = realloc(fds, (size_t) n * sizeof(*fds));

	    if (more == NULL) {
		Tcl_MutexUnlock(&t->lock);
		continue;		/* Tried again: a close frees memory. */
	    }
	    fds = more;
	    room = n;
	}
	fds[0].fd = t->wake[0];
	fds[0].events = POLLIN;
	memcpy(fds + 1, t->set, (size_t) t->count * sizeof(*fds));
	t->polling = 1;
	t->poked = 0;
	t->copied = t->changes;
	Tcl_MutexUnlock(&t->lock);

	i = DmNetPoll(fds, n);

	Tcl_MutexLock(&t->lock);
	t->polling = 0;
	Tcl_ConditionNotify(&t->polled);
	if (i > 0 && (fds[0].revents & POLLIN)) {
	    DmWakeDrain(t->wake[0]);
	}
	for (i = 1; i < n; i++) {
	    if (fds[i].revents != 0
		    && AddReady(t, fds[i].fd, fds[i].revents, 0) < 0) {
		break;			/* The rest come again next time. */
	    }
	}
	alert = (t->readyCount > 0);
	if (alert) {
	    t->held = 1;
	}
	Tcl_MutexUnlock(&t->lock);
	if (alert) {
	    Tcl_ThreadAlert(t->owner);
	}
    }
    free(fds);

    /*
     * Tcl_JoinThread waits for Tcl_ExitThread, on Windows: returning alone
     * would leave PollExit waiting for ever.
     */

    Tcl_ExitThread(0);
    TCL_THREAD_CREATE_RETURN;
}

/*
 *----------------------------------------------------------------------
 *
 * AddReady --
 *
 *	Hands one descriptor's events over to the Tcl thread; called with
 *	the lock held.
 *
 * Results:
 *	0, or -1 if memory ran out.
 *
 * Side effects:
 *	May grow the ready list.
 *
 *----------------------------------------------------------------------
 */

static int
AddReady(
    ThreadData *t,
    int fd,
    short revents,
    short completed)
{
    if (t->readyCount == t->readyRoom) {
	int more = t->readyRoom ? 2 * t->readyRoom : DM_POLL_BATCH;
	Ready *r = realloc(t->ready, (size_t) more * sizeof(Ready));

	if (r == NULL) {
	    return -1;
	}
	t->ready = r;
	t->readyRoom = more;
    }
    t->ready[t->readyCount].fd = fd;
    t->ready[t->readyCount].completed = completed;
    t->ready[t->readyCount++].revents = revents;
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Release --
 *
 *	Lets the helper poll again, once everything it handed over has been
 *	taken.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Signals the helper.
 *
 *----------------------------------------------------------------------
 */

static void
Release(
    ThreadData *t)
{
    Tcl_MutexLock(&t->lock);
    if (t->held && t->readyCount == 0) {
	t->held = 0;
	Tcl_ConditionNotify(&t->resume);
    }
    Tcl_MutexUnlock(&t->lock);
}

/*
 *----------------------------------------------------------------------
 *
 * SetupProc, CheckProc --
 *
 *	The event source.  Setup, called each time the event loop is about
 *	to wait: inside a dispatch that is Tcl code entering the loop
 *	again, which must see socket events too, so the helper may poll;
 *	and the loop must not wait while events are handed over.  Check,
 *	called after the wait: queues one event to dispatch them.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May let the helper poll, shorten the wait, or queue an event.
 *
 *----------------------------------------------------------------------
 */

static int
HandedOver(
    ThreadData *t)
{
    int n;

    Tcl_MutexLock(&t->lock);
    n = t->readyCount;
    Tcl_MutexUnlock(&t->lock);
    return n > 0;
}

static void
SetupProc(
    void *clientData,
    int flags)
{
    ThreadData *t = clientData;

    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    if (t->dispatching > 0) {
	Release(t);
    }
    if (!t->queued && HandedOver(t)) {
	Tcl_Time zero = {0, 0};

	Tcl_SetMaxBlockTime(&zero);
    }
}

static void
CheckProc(
    void *clientData,
    int flags)
{
    ThreadData *t = clientData;

    if ((flags & TCL_FILE_EVENTS) && !t->queued && HandedOver(t)) {
	PollEvent *ev = (PollEvent *) Tcl_Alloc(sizeof(PollEvent));

	ev->header.proc = EventProc;
	ev->t = t;
	t->queued = 1;
	Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * EventProc, DeleteProc --
 *
 *	The queued event's procedure: dispatches what the helper handed
 *	over (file events only, as Tcl's own file handlers); and the filter
 *	that removes it from the queue when the set goes.
 *
 * Results:
 *	EventProc: 1 when the event was taken, 0 to leave it queued.
 *	DeleteProc: 1 for an event of this set.
 *
 * Side effects:
 *	See Dispatch.
 *
 *----------------------------------------------------------------------
 */

static int
EventProc(
    Tcl_Event *evPtr,
    int flags)
{
    ThreadData *t = ((PollEvent *) evPtr)->t;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    t->queued = 0;
    Dispatch(t);
    return 1;
}

static int
DeleteProc(
    Tcl_Event *evPtr,
    void *clientData)
{
    return evPtr->proc == EventProc
	    && ((PollEvent *) evPtr)->t == clientData;
}

/*
 *----------------------------------------------------------------------
 *
 * Dispatch --
 *
 *	Takes every event the helper handed over and calls each ready
 *	watch's procedure.  A watch stopped, or its descriptor reused by
 *	another, since the helper polled is skipped or gets an event it
 *	will find nothing for.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Whatever the watch procedures do; lets the helper poll again.
 *
 *----------------------------------------------------------------------
 */

static void
Dispatch(
    ThreadData *t)
{
    Ready stack[DM_POLL_BATCH], *batch = stack;
    int n, i;

    Tcl_MutexLock(&t->lock);
    n = t->readyCount;
    if (n > DM_POLL_BATCH) {
	batch = malloc((size_t) n * sizeof(Ready));
    }
    if (batch == NULL) {
	n = 0;				/* Polled again: they come back. */
    } else {
	memcpy(batch, t->ready, (size_t) n * sizeof(Ready));
    }
    t->readyCount = 0;
    Tcl_MutexUnlock(&t->lock);

    DmEnter();
    t->dispatching++;
    for (i = 0; i < n; i++) {
	int fd = batch[i].fd, mask = 0;
	short revents = batch[i].revents;
	DmWatch *w;

	if (batch[i].completed && fd < t->numEntries
		&& t->entries[fd].parked) {
	    /*
	     * The send is done: the socket is polled for writing again, so
	     * a watch that does not ask for it now hears of it later.
	     */

	    Park(t, fd, 0);
	}
	if (fd >= t->numEntries || (w = t->entries[fd].watch) == NULL
		|| w->fd != fd) {
	    continue;			/* Stopped meanwhile. */
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
	    mask |= DM_READABLE;
	}
	if (revents & (POLLOUT | POLLHUP | POLLERR)) {
	    mask |= DM_WRITABLE;
	}
#ifdef POLLRDHUP
	if (revents & (POLLRDHUP | POLLHUP | POLLERR)) {
	    mask |= DM_HANGUP;
	}
#else
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
	    mask |= DM_HANGUP;		/* Told apart by the reader. */
	}
#endif
	mask &= w->events;
	if (mask) {
	    w->proc(w->clientData, mask);
	}
    }
    t->dispatching--;
    Release(t);
    DmLeave();
    if (batch != stack) {
	free(batch);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PollMask --
 *
 *	Translates DM_READABLE/DM_WRITABLE/DM_HANGUP into poll's bits.
 *
 * Results:
 *	The poll event mask.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static short
PollMask(
    int events)
{
#ifdef POLLRDHUP
    const short hangup = POLLRDHUP;
#else
    const short hangup = POLLIN;
#endif

    return (short) (((events & DM_READABLE) ? POLLIN : 0)
	    | ((events & DM_WRITABLE) ? POLLOUT : 0)
	    | ((events & DM_HANGUP) ? hangup : 0));
}

/*
 *----------------------------------------------------------------------
 *
 * Grow, Update --
 *
 *	Update puts a watch's events in the set: adds its descriptor,
 *	changes its mask, or (events 0) takes it out; wakes the helper if it
 *	polls with an older copy.  A parked descriptor is not polled for
 *	writing.  Grow makes room for fd in the entries.
 *
 * Results:
 *	0, or -1 with errno set if memory ran out.
 *
 * Side effects:
 *	Changes the set; may write to the wake-up pipe.
 *
 *----------------------------------------------------------------------
 */

static int
Grow(
    ThreadData *t,
    int fd)
{
    int more = t->numEntries ? t->numEntries : 64, i;
    Entry *e;

    while (more <= fd) {
	more *= 2;
    }
    e = realloc(t->entries, (size_t) more * sizeof(Entry));
    if (e == NULL) {
	errno = ENOMEM;
	return -1;
    }
    for (i = t->numEntries; i < more; i++) {
	e[i].watch = NULL;
	e[i].slot = -1;
	e[i].parked = 0;
    }
    t->entries = e;
    t->numEntries = more;
    return 0;
}

static int
Update(
    ThreadData *t,
    DmWatch *w,
    int events)
{
    int fd = w->fd, slot, wake;

    if (fd >= t->numEntries && Grow(t, fd) < 0) {
	return -1;
    }
    t->entries[fd].watch = (events != 0 || w->registered) ? w : NULL;
    slot = t->entries[fd].slot;

    Tcl_MutexLock(&t->lock);
    if (events == 0) {
	if (slot >= 0) {		/* Out: the last slot takes its place. */
	    int last = --t->count;

	    if (slot != last) {
		t->set[slot] = t->set[last];
		t->entries[t->set[slot].fd].slot = slot;
	    }
	    t->entries[fd].slot = -1;
	}
    } else {
	if (slot < 0) {
	    if (t->count == t->room) {
		int more = t->room ? 2 * t->room : 64;
		struct pollfd *set = realloc(t->set,
			(size_t) more * sizeof(struct pollfd));

		if (set == NULL) {
		    Tcl_MutexUnlock(&t->lock);
		    errno = ENOMEM;
		    return -1;
		}
		t->set = set;
		t->room = more;
	    }
	    slot = t->count++;
	    t->entries[fd].slot = slot;
	    t->set[slot].fd = fd;
	}
	t->set[slot].events = PollMask(t->entries[fd].parked
		? (events & ~DM_WRITABLE) : events);
	t->set[slot].revents = 0;
    }
    t->changes++;
    wake = t->polling && !t->poked;
    t->poked |= wake;
    Tcl_MutexUnlock(&t->lock);
    if (wake) {
	DmWakePoke(t->wake[1]);
    }
    return 0;
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
    ThreadData *t = GetThreadData();

    if (t == NULL) {
	return -1;
    }
    DmWatchInit(w, fd, proc, clientData);
    w->events = events;
    w->registered = 1;
    if (Update(t, w, events) < 0) {
	w->registered = 0;
	w->fd = -1;
	return -1;
    }
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
 *	Changes the set if the events changed (or the watch enters it).
 *
 *----------------------------------------------------------------------
 */

void
DmWatchSet(
    DmWatch *w,
    int events)
{
    ThreadData *t;

    if (w->fd < 0 || (w->events == events && (w->registered || !events))) {
	return;
    }
    t = GetThreadData();
    if (t == NULL) {
	return;
    }
    w->events = events;
    w->registered = 1;
    Update(t, w, events);
}

/*
 *----------------------------------------------------------------------
 *
 * DmWatchStop, DmWatchStopSync --
 *
 *	Remove a watch from the event set; its descriptor stays open.  A
 *	poll holds the sockets it waits on, so a descriptor closed while
 *	the helper polls a copy of the set that has it lives on until that
 *	poll ends: harmless for a connection (its end goes out a moment
 *	later), not for a listener, which would go on accepting connections
 *	(and then reset them).  DmWatchStopSync, for listeners, returns only
 *	once that poll has ended; DmWatchStop does not wait, so closing many
 *	connections at once (keep-alive timeouts) costs no trip through the
 *	helper each.
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
    ThreadData *t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (w->registered && t->started > 0) {
	w->registered = 0;
	Update(t, w, 0);		/* Wakes a poll under way. */
    }
    w->fd = -1;
}

void
DmWatchStopSync(
    DmWatch *w)
{
    ThreadData *t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    DmWatchStop(w);
    if (t->started > 0) {
	Tcl_MutexLock(&t->lock);
	while (t->polling && t->copied != t->changes && !t->quit) {
	    Tcl_ConditionWait(&t->polled, &t->lock, NULL);
	}
	Tcl_MutexUnlock(&t->lock);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmPollPark, DmPollUnpark, DmPollCompleted --
 *
 *	For a platform whose file sends may complete later (TransmitFile on
 *	Windows).  While such a send runs, its socket is parked: not polled
 *	for writing, which poll would report at once and again and again
 *	until the send is done.  The platform reports the completion
 *	instead, from any thread, with DmPollCompleted: the socket's watch
 *	is then called as writable, and its send call collects the result
 *	and unparks it.
 *
 * Results:
 *	DmPollPark: the calling thread's event set, for DmPollCompleted;
 *	NULL (errno set) if there is none.
 *
 * Side effects:
 *	Change the set's mask for fd; DmPollCompleted hands an event over
 *	and alerts the set's Tcl thread.
 *
 *----------------------------------------------------------------------
 */

static void
Park(
    ThreadData *t,
    int fd,
    int parked)
{
    Entry *e = &t->entries[fd];

    e->parked = parked;
    if (e->slot >= 0 && e->watch != NULL) {
	Update(t, e->watch, e->watch->events);
    }
}

void *
DmPollPark(
    int fd)
{
    ThreadData *t = GetThreadData();

    if (t == NULL || (fd >= t->numEntries && Grow(t, fd) < 0)) {
	return NULL;
    }
    Park(t, fd, 1);
    return t;
}

void
DmPollUnpark(
    int fd)
{
    ThreadData *t = Tcl_GetThreadData(&dataKey, sizeof(ThreadData));

    if (fd < t->numEntries && t->entries[fd].parked) {
	Park(t, fd, 0);
    }
}

void
DmPollCompleted(
    void *set,
    int fd)
{
    ThreadData *t = set;

    Tcl_MutexLock(&t->lock);
    AddReady(t, fd, POLLOUT, 1);	/* Lost only if memory ran out: the
					 * send timeout ends that. */
    Tcl_MutexUnlock(&t->lock);
    Tcl_ThreadAlert(t->owner);
}
