/*
 * dmServerCmd.c --
 *
 *	The "dustmote::serve" command and the handle commands it makes:
 *	cget, configure, stats, reopenlog, close, respond, and route and
 *	filter, whose tables and policy are kept in Tcl
 *	(library/route.tcl).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmPort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_BACKLOG	1024

static Tcl_ObjCmdProc ServerObjCmd;
static int	ServerSubcommand(DmServer *srv, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static void	ServerCmdDeleted(void *clientData);

/*
 *----------------------------------------------------------------------
 *
 * NewServer --
 *
 *	Allocates a server that is not configured yet.
 *
 * Results:
 *	The server, or NULL if memory ran out.
 *
 * Side effects:
 *	Allocates memory.
 *
 *----------------------------------------------------------------------
 */

static DmServer *
NewServer(
    Tcl_Interp *interp)
{
    DmServer *srv = calloc(1, sizeof(DmServer));

    if (srv == NULL) {
	return NULL;
    }
    srv->scratch = malloc(DM_READ_ROOM + DM_HEAD_ROOM + DM_SMALL_FILE);
    if (srv->scratch == NULL) {
	free(srv);
	return NULL;
    }
    srv->interp = interp;
    srv->root.fd = -1;
    srv->listen.fd = -1;
    srv->accessSink.srv = srv->errorSink.srv = srv;
    return srv;
}

/*
 *----------------------------------------------------------------------
 *
 * DmServeObjCmd --
 *
 *	Implements "dustmote::serve ?-option value ...?": starts a server
 *	and creates its handle command.
 *
 * Results:
 *	A standard Tcl result: the handle's name.
 *
 * Side effects:
 *	Opens the root and a listening socket.
 *
 *----------------------------------------------------------------------
 */

int
DmServeObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    DmServer *srv;
    DmConfig cfg;
    Tcl_Obj *name, *cwd, *defaults, *serverName;
    DmListenSpec spec = { NULL, DM_DEFAULT_PORT, -1, 0 };
    int fd, code;

    cwd = Tcl_FSGetCwd(interp);		/* A reference we own. */
    if (cwd == NULL) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "ROOT", NULL);
	return TCL_ERROR;
    }
    srv = NewServer(interp);
    if (srv == NULL) {
	Tcl_DecrRefCount(cwd);
	Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	return TCL_ERROR;
    }

    /*
     * Defaults, then the options; DmServerConfigure takes its own
     * references.
     */

    DmConfigDefaults(&cfg, cwd);
    defaults = cfg.defaults;
    serverName = cfg.serverName;
    Tcl_IncrRefCount(defaults);
    Tcl_IncrRefCount(serverName);
    code = DmConfigParse(interp, &cfg, &spec, objc - 1, objv + 1);
    if (code == TCL_OK && spec.fd >= 0 && spec.reusePort) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("-reuseport does not apply"
		" to an inherited socket (-fd): it is set where the socket is"
		" made", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-reuseport", NULL);
	code = TCL_ERROR;
    }
    if (code == TCL_OK) {
	code = DmServerConfigure(interp, srv, &cfg);
    }
    Tcl_DecrRefCount(cwd);
    Tcl_DecrRefCount(defaults);
    Tcl_DecrRefCount(serverName);
    if (code != TCL_OK) {
	srv->closing = 1;
	DmServerRelease(srv);
	return TCL_ERROR;
    }

    srv->inheritedFd = spec.fd;
    srv->reusePort = spec.reusePort;
    if (spec.fd >= 0) {
	fd = DmNetAdopt(spec.fd, srv->boundAddr, &srv->boundPort);
    } else {
	fd = DmNetListen(spec.myaddr ? Tcl_GetString(spec.myaddr) : "",
		spec.port, LISTEN_BACKLOG, spec.reusePort, srv->boundAddr,
		&srv->boundPort);
    }
    if (fd >= 0) {
	DmNetTuneListener(fd, srv->config.deferAccept,
		srv->config.sendLowat);
    }
    if (fd < 0 || DmWatchStart(&srv->listen, fd, DM_READABLE, DmConnAccept,
	    srv) < 0) {
	if (spec.reusePort && spec.fd < 0 && Tcl_GetErrno() == ENOTSUP) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("-reuseport is not"
		    " available on this system", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "UNSUPPORTED", "REUSEPORT",
		    NULL);
	} else {
	    if (spec.fd >= 0) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf("cannot serve on"
			" descriptor %d: %s", spec.fd,
			Tcl_PosixError(interp)));
	    } else {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"cannot listen on %s port %d: %s", spec.myaddr
			? Tcl_GetString(spec.myaddr) : "all addresses",
			spec.port, Tcl_PosixError(interp)));
	    }
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "LISTEN", Tcl_ErrnoId(),
		    NULL);
	}
	if (fd >= 0) {
	    DmNetClose(fd);
	}
	srv->closing = 1;
	DmServerRelease(srv);
	return TCL_ERROR;
    }
    srv->startMs = DmNowMs();

    name = Tcl_ObjPrintf("::dustmote::server%u", DmUniqueId());
    srv->cmdToken = Tcl_CreateObjCommand(interp, Tcl_GetString(name),
	    ServerObjCmd, srv, ServerCmdDeleted);
    Tcl_SetObjResult(interp, name);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmServerFromObj --
 *
 *	The server a handle names.
 *
 * Results:
 *	The server, or NULL with an error ({DUSTMOTE SERVER}) in interp.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

DmServer *
DmServerFromObj(
    Tcl_Interp *interp,
    Tcl_Obj *obj)
{
    Tcl_CmdInfo info;

    if (!Tcl_GetCommandInfo(interp, Tcl_GetString(obj), &info)
	    || info.objProc != ServerObjCmd) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"\"%s\" is not a dustmote server", Tcl_GetString(obj)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "SERVER", Tcl_GetString(obj),
		NULL);
	return NULL;
    }
    return info.objClientData;
}

/*
 *----------------------------------------------------------------------
 *
 * DmInheritObjCmd --
 *
 *	dustmote::Inherit SERVER BOOLEAN: whether processes started from
 *	now inherit the server's listening socket.  The launcher lets a
 *	worker it starts again share its socket this way, for the moment of
 *	the start: once it has switched user, a new worker could not bind a
 *	port below 1024 itself.
 *
 * Results:
 *	A standard Tcl result: the socket's descriptor.
 *
 * Side effects:
 *	Changes the socket's close-on-exec (Windows: inherit) flag.
 *
 *----------------------------------------------------------------------
 */

int
DmInheritObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    DmServer *srv;
    int inherit;

    if (objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "server boolean");
	return TCL_ERROR;
    }
    if ((srv = DmServerFromObj(interp, objv[1])) == NULL
	    || Tcl_GetBooleanFromObj(interp, objv[2], &inherit) != TCL_OK) {
	return TCL_ERROR;
    }
    if (srv->closing || srv->listen.fd < 0) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("server was closed", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "CLOSED", NULL);
	return TCL_ERROR;
    }
    if (DmNetInherit(srv->listen.fd, inherit) < 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("cannot change the listening"
		" socket: %s", Tcl_PosixError(interp)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "INHERIT", Tcl_ErrnoId(), NULL);
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, Tcl_NewIntObj(srv->listen.fd));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ServerObjCmd --
 *
 *	Implements a server handle.  The server stays in memory until the
 *	command returns, whatever Tcl code run from it (a log channel's, a
 *	filter's) does.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	See the user documentation.
 *
 *----------------------------------------------------------------------
 */

static int
ServerObjCmd(
    void *clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    int code;

    DmEnter();
    code = ServerSubcommand(clientData, interp, objc, objv);
    DmLeave();
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * Stats --
 *
 *	The dict of "$server stats".
 *
 * Results:
 *	A new dict object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
Stats(
    DmServer *srv)
{
    Tcl_Obj *d = Tcl_NewDictObj(), *byStatus = Tcl_NewDictObj();
    uint64_t hits, stats;
    int routes, filters, status, i;

#define PUT(key, value) \
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj((key), -1), (value))
    PUT("connections", Tcl_NewIntObj(srv->numConns));
    PUT("requests", Tcl_NewWideIntObj((Tcl_WideInt) srv->requests));
    PUT("accepted", Tcl_NewWideIntObj((Tcl_WideInt) srv->accepted));
    DmCacheCounts(srv->root.cache, &hits, &stats);
    for (i = 0; i < srv->numVhosts; i++) {
	uint64_t h, st;

	DmCacheCounts(srv->vhosts[i].cache, &h, &st);
	hits += h;
	stats += st;
    }
    PUT("cachehits", Tcl_NewWideIntObj((Tcl_WideInt) hits));
    PUT("cachestats", Tcl_NewWideIntObj((Tcl_WideInt) stats));
    for (status = 100; status < 600; status++) {
	if (srv->responses[status] != 0) {
	    Tcl_DictObjPut(NULL, byStatus, Tcl_NewIntObj(status),
		    Tcl_NewWideIntObj((Tcl_WideInt) srv->responses[status]));
	}
    }
    PUT("responses", byStatus);
    PUT("bytes", Tcl_NewWideIntObj((Tcl_WideInt) srv->bytesSent));
    PUT("zerocopybytes", Tcl_NewWideIntObj((Tcl_WideInt)
	    srv->zeroCopyBytes));
    PUT("uptime", Tcl_NewWideIntObj((Tcl_WideInt)
	    ((DmNowMs() - srv->startMs) / 1000)));
    DmPipelineCounts(srv->pipeline, &routes, &filters);
    PUT("routes", Tcl_NewIntObj(routes));
    PUT("filters", Tcl_NewIntObj(filters));
#undef PUT
    return d;
}

/*
 *----------------------------------------------------------------------
 *
 * Drain --
 *
 *	Implements "$server close -drain MS": closes the server (no new
 *	connections; idle ones close now, replies in flight finish, held
 *	requests wait for their answer) and runs the event loop until its
 *	last connection is gone or MS have passed; then cuts what is left
 *	(a held request gets 503) and deletes the handle.  The handle lives
 *	until then, so that "respond" can answer held requests.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Runs the event loop; deletes the handle command; closes connections.
 *	The caller is inside DmEnter, so srv stays readable throughout.
 *
 *----------------------------------------------------------------------
 */

static void
DrainTimerProc(
    void *clientData)
{
    *(int *) clientData = 1;		/* Wakes the loop at the deadline. */
}

static void
Drain(
    DmServer *srv,
    Tcl_Interp *interp,
    int ms)
{
    int64_t deadline = DmNowMs() + ms;
    int late = 0;
    Tcl_TimerToken timer = Tcl_CreateTimerHandler(ms, DrainTimerProc, &late);

    srv->draining = 1;
    DmServerClose(srv);
    while (!srv->released && !late && DmNowMs() < deadline
	    && srv->cmdToken != NULL) {
	Tcl_DoOneEvent(TCL_ALL_EVENTS);
    }
    Tcl_DeleteTimerHandler(timer);
    if (!srv->released) {
	DmConnServerCut(srv);
    }
    if (srv->cmdToken != NULL) {
	Tcl_DeleteCommandFromToken(interp, srv->cmdToken);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ServerSubcommand --
 *
 *	The subcommands of a server handle, for ServerObjCmd.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	See the user documentation.
 *
 *----------------------------------------------------------------------
 */

static int
ServerSubcommand(
    DmServer *srv,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subcommands[] = {
	"cget", "close", "configure", "filter", "reopenlog", "respond",
	"route", "stats", NULL
    };
    enum {
	SUB_CGET, SUB_CLOSE, SUB_CONFIGURE, SUB_FILTER, SUB_REOPENLOG,
	SUB_RESPOND, SUB_ROUTE, SUB_STATS
    };
    int index, option;

    if (objc < 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "subcommand ?arg ...?");
	return TCL_ERROR;
    }
    if (Tcl_GetIndexFromObj(interp, objv[1], subcommands, "subcommand", 0,
	    &index) != TCL_OK) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "SUBCOMMAND",
		Tcl_GetString(objv[1]), NULL);
	return TCL_ERROR;
    }
    switch (index) {
    case SUB_CGET:
	if (objc != 3) {
	    Tcl_WrongNumArgs(interp, 2, objv, "option");
	    return TCL_ERROR;
	}
	if (DmConfigOption(interp, objv[2], &option) != TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, DmConfigValue(srv, option));
	return TCL_OK;
    case SUB_CLOSE: {
	int ms;

	if (objc != 2 && objc != 4) {
	    Tcl_WrongNumArgs(interp, 2, objv, "?-drain ms?");
	    return TCL_ERROR;
	}
	if (objc == 2) {
	    Tcl_DeleteCommandFromToken(interp, srv->cmdToken);
	    return TCL_OK;
	}
	if (strcmp(Tcl_GetString(objv[2]), "-drain") != 0) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad option \"%s\":"
		    " must be -drain", Tcl_GetString(objv[2])));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "OPTION",
		    Tcl_GetString(objv[2]), NULL);
	    return TCL_ERROR;
	}
	if (Tcl_GetIntFromObj(NULL, objv[3], &ms) != TCL_OK || ms < 0
		|| ms > 86400000) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for"
		    " -drain: must be an integer from 0 to 86400000",
		    Tcl_GetString(objv[3])));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-drain", NULL);
	    return TCL_ERROR;
	}
	Drain(srv, interp, ms);
	return TCL_OK;
    }
    case SUB_CONFIGURE:
	if (objc == 2) {
	    Tcl_Obj *result = Tcl_NewObj();
	    const char *name;

	    for (option = 0; (name = DmConfigName(option)) != NULL;
		    option++) {
		Tcl_ListObjAppendElement(NULL, result,
			Tcl_NewStringObj(name, -1));
		Tcl_ListObjAppendElement(NULL, result,
			DmConfigValue(srv, option));
	    }
	    Tcl_SetObjResult(interp, result);
	    return TCL_OK;
	}
	if (objc == 3) {
	    if (DmConfigOption(interp, objv[2], &option) != TCL_OK) {
		return TCL_ERROR;
	    }
	    Tcl_SetObjResult(interp, DmConfigValue(srv, option));
	    return TCL_OK;
	} else {
	    DmConfig cfg;

	    /*
	     * Lines already gathered go to the channels they were made
	     * for.  That write may run Tcl code, even close the server, so
	     * it comes before the options are parsed and committed.
	     */

	    DmLogFlush(srv);
	    if (srv->closing) {
		Tcl_SetObjResult(interp, Tcl_NewStringObj(
			"server was closed", -1));
		Tcl_SetErrorCode(interp, "DUSTMOTE", "CLOSED", NULL);
		return TCL_ERROR;
	    }
	    cfg = srv->config;
	    cfg.accessKind = srv->accessSink.kind;
	    cfg.accessChan = srv->accessSink.chan;
	    cfg.errorKind = srv->errorSink.kind;
	    cfg.errorChan = srv->errorSink.chan;
	    if (DmConfigParse(interp, &cfg, NULL, objc - 2, objv + 2)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    return DmServerConfigure(interp, srv, &cfg);
	}
    case SUB_FILTER:
    case SUB_ROUTE: {
	/*
	 * The tables and their policy are Tcl's: ::dustmote::Route or
	 * ::dustmote::Filter server ?arg ...?
	 */

	Tcl_Obj *cmd = Tcl_NewListObj(0, NULL);
	int code;

	Tcl_ListObjAppendElement(NULL, cmd, Tcl_NewStringObj(
		index == SUB_ROUTE ? "::dustmote::Route" : "::dustmote::Filter",
		-1));
	Tcl_ListObjAppendElement(NULL, cmd, objv[0]);
	Tcl_ListObjReplace(NULL, cmd, 2, 0, objc - 2, objv + 2);
	Tcl_IncrRefCount(cmd);
	code = Tcl_EvalObjEx(interp, cmd, TCL_EVAL_DIRECT);
	Tcl_DecrRefCount(cmd);
	return code;
    }
    case SUB_REOPENLOG:
	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, 2, objv, NULL);
	    return TCL_ERROR;
	}
	return DmLogReopen(interp, srv);
    case SUB_RESPOND:
	if (objc != 4) {
	    Tcl_WrongNumArgs(interp, 2, objv, "id response");
	    return TCL_ERROR;
	}
	return DmRespond(srv, interp, objv[2], objv[3]);
    case SUB_STATS:
	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, 2, objv, NULL);
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, Stats(srv));
	return TCL_OK;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ServerCmdDeleted --
 *
 *	The handle command is gone ("$h close", rename, or the interpreter
 *	being deleted): the server closes.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	See DmServerClose.
 *
 *----------------------------------------------------------------------
 */

static void
ServerCmdDeleted(
    void *clientData)
{
    DmServer *srv = clientData;

    srv->cmdToken = NULL;
    DmServerClose(srv);
}
