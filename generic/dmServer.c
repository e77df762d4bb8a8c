/*
 * dmServer.c --
 *
 *	The "dustmote::serve" command and the server handles it returns:
 *	options, the listening socket, the timer that expires connections,
 *	and closing.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_BACKLOG	1024
#define LINGER_MS	2000	/* How long a closing connection drains. */
#define CACHE_BYTES	(8 << 20) /* File bytes each server may cache. */

/*
 * The options, in the order Tcl_GetIndexFromObj lists them.
 */

static const char *const optionNames[] = {
    "-accesslog", "-default", "-deferaccept", "-errorlog", "-followsymlinks",
    "-headtimeout", "-keepalivetimeout", "-maxconnections", "-maxheaders",
    "-maxheadersize", "-maxrequestline", "-myaddr", "-port", "-root",
    "-sendtimeout", "-servername", NULL
};
enum Option {
    OPT_ACCESSLOG, OPT_DEFAULT, OPT_DEFERACCEPT, OPT_ERRORLOG,
    OPT_FOLLOWSYMLINKS, OPT_HEADTIMEOUT,
    OPT_KEEPALIVETIMEOUT, OPT_MAXCONNECTIONS, OPT_MAXHEADERS,
    OPT_MAXHEADERSIZE, OPT_MAXREQUESTLINE, OPT_MYADDR, OPT_PORT, OPT_ROOT,
    OPT_SENDTIMEOUT, OPT_SERVERNAME
};

/*
 * Integer options: where each lives and what it may be.
 */

typedef struct IntOption {
    int option;
    int min, max;
} IntOption;

static const IntOption intOptions[] = {
    {OPT_HEADTIMEOUT, 1, 86400000},
    {OPT_KEEPALIVETIMEOUT, 1, 86400000},
    {OPT_SENDTIMEOUT, 1, 86400000},
    {OPT_MAXCONNECTIONS, 1, 10000000},
    {OPT_MAXHEADERS, 1, 100000},
    {OPT_MAXHEADERSIZE, 256, 16777216},
    {OPT_MAXREQUESTLINE, 64, 16777216},
    {OPT_PORT, 0, 65535},
    {-1, 0, 0}
};

static Tcl_ObjCmdProc ServerObjCmd;
static int	ServerSubcommand(DmServer *srv, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static void	ServerCmdDeleted(void *clientData);
static void	ServerTimerProc(void *clientData);
static DmFreeProc FreeServer;

/*
 *----------------------------------------------------------------------
 *
 * IntSlot --
 *
 *	Where an integer option is stored in a configuration.
 *
 * Results:
 *	A pointer into cfg, or NULL for -port (not part of DmConfig).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int *
IntSlot(
    DmConfig *cfg,
    int option)
{
    switch (option) {
    case OPT_HEADTIMEOUT:	return &cfg->timeouts[DM_TIMER_HEAD];
    case OPT_KEEPALIVETIMEOUT:	return &cfg->timeouts[DM_TIMER_IDLE];
    case OPT_SENDTIMEOUT:	return &cfg->timeouts[DM_TIMER_SEND];
    case OPT_MAXCONNECTIONS:	return &cfg->maxConnections;
    case OPT_MAXHEADERS:	return &cfg->limits.maxHeaders;
    default:			return NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ValueError --
 *
 *	Leaves an error about a bad option value in the interpreter.
 *
 * Results:
 *	TCL_ERROR.
 *
 * Side effects:
 *	Sets the result and -errorcode {DUSTMOTE VALUE option}.
 *
 *----------------------------------------------------------------------
 */

static int
ValueError(
    Tcl_Interp *interp,
    int option,
    Tcl_Obj *value,
    const char *expected)
{
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for %s: %s",
	    Tcl_GetString(value), optionNames[option], expected));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", optionNames[option], NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * GetOption --
 *
 *	Looks up an option name.
 *
 * Results:
 *	TCL_OK with *indexPtr set, or TCL_ERROR with a message naming every
 *	option and -errorcode {DUSTMOTE OPTION name}.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
GetOption(
    Tcl_Interp *interp,
    Tcl_Obj *name,
    int *indexPtr)
{
    if (Tcl_GetIndexFromObj(interp, name, optionNames, "option", 0,
	    indexPtr) != TCL_OK) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "OPTION", Tcl_GetString(name),
		NULL);
	return TCL_ERROR;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseOptions --
 *
 *	Checks "-option value" pairs and stores them in *cfg, whose Tcl_Obj
 *	fields are left borrowed from objv (ConfigCommit takes references).
 *	-root is normalised; -port and -myaddr go to their own variables,
 *	or are refused when those are NULL (a running server).
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	None on error beyond the message.
 *
 *----------------------------------------------------------------------
 */

static int
ParseOptions(
    Tcl_Interp *interp,
    DmConfig *cfg,
    Tcl_Obj **myaddrPtr,
    int *portPtr,
    int objc,
    Tcl_Obj *const objv[])
{
    int i;

    if (objc % 2) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"value for \"%s\" missing", Tcl_GetString(objv[objc - 1])));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "MISSING", NULL);
	return TCL_ERROR;
    }
    for (i = 0; i < objc; i += 2) {
	Tcl_Obj *value = objv[i + 1];
	int option, n, k;
	Tcl_Size len;
	const char *s;

	if (GetOption(interp, objv[i], &option) != TCL_OK) {
	    return TCL_ERROR;
	}
	if ((option == OPT_PORT && portPtr == NULL)
		|| (option == OPT_MYADDR && myaddrPtr == NULL)) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "option %s cannot change after the server started",
		    optionNames[option]));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "READONLY",
		    optionNames[option], NULL);
	    return TCL_ERROR;
	}
	for (k = 0; intOptions[k].option >= 0; k++) {
	    if (intOptions[k].option == option) {
		break;
	    }
	}
	if (intOptions[k].option >= 0) {
	    int *slot;

	    if (Tcl_GetIntFromObj(NULL, value, &n) != TCL_OK
		    || n < intOptions[k].min || n > intOptions[k].max) {
		Tcl_Obj *msg = Tcl_ObjPrintf("must be an integer from %d to %d",
			intOptions[k].min, intOptions[k].max);

		Tcl_IncrRefCount(msg);
		ValueError(interp, option, value, Tcl_GetString(msg));
		Tcl_DecrRefCount(msg);
		return TCL_ERROR;
	    }
	    slot = IntSlot(cfg, option);
	    if (slot != NULL) {
		*slot = n;
	    } else if (option == OPT_PORT) {
		*portPtr = n;
	    } else if (option == OPT_MAXHEADERSIZE) {
		cfg->limits.maxHeadSize = (size_t) n;
	    } else {
		cfg->limits.maxRequestLine = (size_t) n;
	    }
	    continue;
	}
	switch ((enum Option) option) {
	case OPT_ACCESSLOG:
	case OPT_ERRORLOG: {
	    Tcl_Channel chan = NULL;

	    s = Tcl_GetStringFromObj(value, &len);
	    if (len > 0) {
		int mode;

		chan = Tcl_GetChannel(interp, s, &mode);
		if (chan == NULL) {
		    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE",
			    optionNames[option], NULL);
		    return TCL_ERROR;
		}
		if (!(mode & TCL_WRITABLE)) {
		    return ValueError(interp, option, value,
			    "channel is not writable");
		}
	    }
	    if (option == OPT_ACCESSLOG) {
		cfg->accessLog = (len > 0) ? value : NULL;
		cfg->accessChan = chan;
	    } else {
		cfg->errorLog = (len > 0) ? value : NULL;
		cfg->errorChan = chan;
	    }
	    break;
	}
	case OPT_DEFAULT: {
	    Tcl_Obj **names;
	    Tcl_Size count, j;

	    if (Tcl_ListObjGetElements(NULL, value, &count, &names) != TCL_OK) {
		return ValueError(interp, option, value, "must be a list");
	    }
	    for (j = 0; j < count; j++) {
		s = Tcl_GetStringFromObj(names[j], &len);
		if (len == 0 || len > 255 || strchr(s, '/') != NULL
			|| strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		    return ValueError(interp, option, value,
			    "must be a list of file names without \"/\"");
		}
	    }
	    cfg->defaults = value;
	    break;
	}
	case OPT_DEFERACCEPT:
	case OPT_FOLLOWSYMLINKS:
	    if (Tcl_GetBooleanFromObj(NULL, value,
		    (option == OPT_DEFERACCEPT) ? &cfg->deferAccept
		    : &cfg->followSymlinks) != TCL_OK) {
		return ValueError(interp, option, value, "must be a boolean");
	    }
	    break;
	case OPT_MYADDR:
	    *myaddrPtr = value;
	    break;
	case OPT_ROOT: {
	    Tcl_Obj *norm = Tcl_FSGetNormalizedPath(interp, value);

	    if (norm == NULL) {
		Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-root", NULL);
		return TCL_ERROR;
	    }
	    cfg->root = norm;
	    break;
	}
	case OPT_SERVERNAME:
	    s = Tcl_GetStringFromObj(value, &len);
	    for (n = 0; n < len; n++) {
		if (s[n] < 0x20 || s[n] == 0x7f) {
		    break;
		}
	    }
	    if (len == 0 || len > DM_MAX_SERVER_NAME || n < len) {
		return ValueError(interp, option, value,
			"must be 1 to 200 printable characters");
	    }
	    cfg->serverName = value;
	    break;
	default:
	    break;
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ConfigRetain --
 *
 *	Takes (delta 1) or drops (delta -1) a reference to every object of a
 *	configuration.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Changes reference counts; may free objects.
 *
 *----------------------------------------------------------------------
 */

static void
ConfigRetain(
    DmConfig *cfg,
    int delta)
{
    Tcl_Obj *objs[5];
    int i;

    objs[0] = cfg->root;
    objs[1] = cfg->defaults;
    objs[2] = cfg->serverName;
    objs[3] = cfg->accessLog;
    objs[4] = cfg->errorLog;
    for (i = 0; i < 5; i++) {
	if (objs[i] == NULL) {
	    continue;
	}
	if (delta > 0) {
	    Tcl_IncrRefCount(objs[i]);
	} else {
	    Tcl_DecrRefCount(objs[i]);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ConfigCommit --
 *
 *	Makes a parsed configuration the server's: takes references to its
 *	objects, drops the old ones, and updates what depends on it.  It
 *	calls no Tcl code: lines for a log channel being replaced were
 *	written before the options were parsed (see ServerObjCmd).
 *
 * Results:
 *	A standard Tcl result: TCL_ERROR if the new root cannot be opened,
 *	in which case nothing changed.
 *
 * Side effects:
 *	May reopen the root, rebuild the Server field, move deadlines and
 *	point the logs at other channels.
 *
 *----------------------------------------------------------------------
 */

static int
ConfigCommit(
    Tcl_Interp *interp,
    DmServer *srv,
    DmConfig *cfg)
{
    DmConfig *old = &srv->config;
    char *realRoot = NULL;
    DmField *fields = NULL;
    int rootFd = -1, which;

    if (cfg->limits.maxHeaders != old->limits.maxHeaders) {
	fields = malloc(sizeof(DmField) * (size_t) cfg->limits.maxHeaders);
	if (fields == NULL) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	    return TCL_ERROR;
	}
    }

    if (old->root == NULL || strcmp(Tcl_GetString(old->root),
	    Tcl_GetString(cfg->root)) != 0) {
	Tcl_DString ds;

	Tcl_UtfToExternalDString(NULL, Tcl_GetString(cfg->root),
		TCL_INDEX_NONE, &ds);
	rootFd = DmFileOpenRoot(Tcl_DStringValue(&ds), &realRoot);
	Tcl_DStringFree(&ds);
	if (rootFd < 0) {
	    free(fields);
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "cannot serve \"%s\": %s", Tcl_GetString(cfg->root),
		    Tcl_PosixError(interp)));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "ROOT",
		    Tcl_GetString(cfg->root), Tcl_ErrnoId(), NULL);
	    return TCL_ERROR;
	}
    }

    if (fields != NULL) {
	free(srv->fields);
	srv->fields = fields;
    }
    if (rootFd >= 0 || cfg->followSymlinks != old->followSymlinks) {
	DmCacheFlush(srv->cache);	/* Paths may name other files now. */
    }
    if (srv->listen.fd >= 0 && cfg->deferAccept != old->deferAccept) {
	DmNetDeferAccept(srv->listen.fd, cfg->deferAccept);
    }
    if (rootFd >= 0) {
	if (srv->rootFd >= 0) {
	    DmFileClose(srv->rootFd);
	}
	free(srv->realRoot);
	srv->rootFd = rootFd;
	srv->realRoot = realRoot;
    }
    srv->serverHeaderLen = (size_t) sprintf(srv->serverHeader,
	    "Server: %s\r\n", Tcl_GetString(cfg->serverName));
    for (which = 0; which < DM_TIMER_LISTS; which++) {
	if (old->timeouts[which] != 0
		&& old->timeouts[which] != cfg->timeouts[which]) {
	    DmConnRetime(srv, which,
		    cfg->timeouts[which] - old->timeouts[which]);
	}
    }
    DmLogSetChannel(&srv->accessSink, cfg->accessChan);
    DmLogSetChannel(&srv->errorSink, cfg->errorChan);

    ConfigRetain(cfg, 1);
    ConfigRetain(old, -1);
    *old = *cfg;
    if (srv->timerAt != 0) {
	DmTimerArm(srv, DmConnNextDeadline(srv));
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * OptionValue --
 *
 *	The current value of one option.
 *
 * Results:
 *	A new Tcl_Obj.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
OptionValue(
    DmServer *srv,
    int option)
{
    DmConfig *cfg = &srv->config;
    int *slot = IntSlot(cfg, option);

    if (slot != NULL) {
	return Tcl_NewIntObj(*slot);
    }
    switch ((enum Option) option) {
    case OPT_ACCESSLOG:			/* "" once the channel was closed. */
	return srv->accessSink.chan ? cfg->accessLog : Tcl_NewObj();
    case OPT_ERRORLOG:
	return srv->errorSink.chan ? cfg->errorLog : Tcl_NewObj();
    case OPT_DEFAULT:
	return cfg->defaults;
    case OPT_DEFERACCEPT:
	return Tcl_NewBooleanObj(cfg->deferAccept);
    case OPT_FOLLOWSYMLINKS:
	return Tcl_NewBooleanObj(cfg->followSymlinks);
    case OPT_MAXHEADERSIZE:
	return Tcl_NewWideIntObj((Tcl_WideInt) cfg->limits.maxHeadSize);
    case OPT_MAXREQUESTLINE:
	return Tcl_NewWideIntObj((Tcl_WideInt) cfg->limits.maxRequestLine);
    case OPT_MYADDR:
	return Tcl_NewStringObj(srv->boundAddr, -1);
    case OPT_PORT:
	return Tcl_NewIntObj(srv->boundPort);
    case OPT_ROOT:
	return cfg->root;
    case OPT_SERVERNAME:
	return cfg->serverName;
    default:
	return Tcl_NewObj();
    }
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
    static int counter = 0;	/* Handle names; only ever grows. */
    DmServer *srv;
    DmConfig cfg;
    Tcl_Obj *myaddr = NULL, *name, *cwd;
    int port = 8080, fd, code;

    cwd = Tcl_FSGetCwd(interp);		/* A reference we own. */
    if (cwd == NULL) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "ROOT", NULL);
	return TCL_ERROR;
    }
    srv = calloc(1, sizeof(DmServer));
    if (srv != NULL) {
	srv->scratch = malloc(DM_READ_ROOM + DM_HEAD_ROOM + DM_SMALL_FILE);
	srv->cache = DmCacheCreate(CACHE_BYTES);
	if (srv->scratch == NULL || srv->cache == NULL) {
	    free(srv->scratch);
	    if (srv->cache != NULL) {
		DmCacheDelete(srv->cache);
	    }
	    free(srv);
	    srv = NULL;
	}
    }
    if (srv == NULL) {
	Tcl_DecrRefCount(cwd);
	Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	return TCL_ERROR;
    }
    srv->interp = interp;
    srv->rootFd = -1;
    srv->listen.fd = -1;
    srv->accessSink.srv = srv->errorSink.srv = srv;

    /*
     * Defaults, then the options; ConfigCommit takes its own references.
     */

    memset(&cfg, 0, sizeof(cfg));
    cfg.root = cwd;
    cfg.defaults = Tcl_NewStringObj("index.html", -1);
    cfg.serverName = Tcl_NewStringObj("dustmote/" PACKAGE_VERSION, -1);
    cfg.deferAccept = 1;
    cfg.maxConnections = 10000;
    cfg.limits.maxRequestLine = 8192;
    cfg.limits.maxHeadSize = 16384;
    cfg.limits.maxHeaders = 100;
    cfg.timeouts[DM_TIMER_HEAD] = 10000;
    cfg.timeouts[DM_TIMER_IDLE] = 15000;
    cfg.timeouts[DM_TIMER_SEND] = 30000;
    cfg.timeouts[DM_TIMER_LINGER] = LINGER_MS;
    Tcl_IncrRefCount(cfg.defaults);
    Tcl_IncrRefCount(cfg.serverName);
    {
	Tcl_Obj *defaults = cfg.defaults, *serverName = cfg.serverName;

	code = ParseOptions(interp, &cfg, &myaddr, &port, objc - 1, objv + 1);
	if (code == TCL_OK) {
	    code = ConfigCommit(interp, srv, &cfg);
	}
	Tcl_DecrRefCount(cwd);
	Tcl_DecrRefCount(defaults);
	Tcl_DecrRefCount(serverName);
    }
    if (code != TCL_OK) {
	srv->closing = 1;
	DmServerRelease(srv);
	return TCL_ERROR;
    }

    fd = DmNetListen(myaddr ? Tcl_GetString(myaddr) : "", port,
	    LISTEN_BACKLOG, srv->boundAddr, &srv->boundPort);
    if (fd >= 0) {
	DmNetDeferAccept(fd, srv->config.deferAccept);
    }
    if (fd < 0 || DmWatchStart(&srv->listen, fd, DM_READABLE, DmConnAccept,
	    srv) < 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		"cannot listen on %s port %d: %s",
		myaddr ? Tcl_GetString(myaddr) : "all addresses", port,
		Tcl_PosixError(interp)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "LISTEN", Tcl_ErrnoId(), NULL);
	if (fd >= 0) {
	    DmNetClose(fd);
	}
	srv->closing = 1;
	DmServerRelease(srv);
	return TCL_ERROR;
    }

    name = Tcl_ObjPrintf("::dustmote::server%d", ++counter);
    srv->cmdToken = Tcl_CreateObjCommand(interp, Tcl_GetString(name),
	    ServerObjCmd, srv, ServerCmdDeleted);
    Tcl_SetObjResult(interp, name);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ServerObjCmd --
 *
 *	Implements a server handle: "$h cget -option", "$h configure
 *	?-option ?value ...??", "$h stats" and "$h close".  The server
 *	stays in memory until the command returns, whatever Tcl code run
 *	from it (a log channel's) does.
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
	"cget", "close", "configure", "stats", NULL
    };
    enum { SUB_CGET, SUB_CLOSE, SUB_CONFIGURE, SUB_STATS };
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
	if (GetOption(interp, objv[2], &option) != TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, OptionValue(srv, option));
	return TCL_OK;
    case SUB_CLOSE:
	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, 2, objv, NULL);
	    return TCL_ERROR;
	}
	Tcl_DeleteCommandFromToken(interp, srv->cmdToken);
	return TCL_OK;
    case SUB_CONFIGURE:
	if (objc == 2) {
	    Tcl_Obj *result = Tcl_NewObj();

	    for (option = 0; optionNames[option] != NULL; option++) {
		Tcl_ListObjAppendElement(NULL, result,
			Tcl_NewStringObj(optionNames[option], -1));
		Tcl_ListObjAppendElement(NULL, result,
			OptionValue(srv, option));
	    }
	    Tcl_SetObjResult(interp, result);
	    return TCL_OK;
	}
	if (objc == 3) {
	    if (GetOption(interp, objv[2], &option) != TCL_OK) {
		return TCL_ERROR;
	    }
	    Tcl_SetObjResult(interp, OptionValue(srv, option));
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
	    cfg.accessChan = srv->accessSink.chan;
	    cfg.errorChan = srv->errorSink.chan;
	    if (ParseOptions(interp, &cfg, NULL, NULL, objc - 2, objv + 2)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    return ConfigCommit(interp, srv, &cfg);
	}
    case SUB_STATS: {
	Tcl_Obj *d = Tcl_NewDictObj();
	uint64_t hits, stats;

	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, 2, objv, NULL);
	    return TCL_ERROR;
	}
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("connections", -1),
		Tcl_NewIntObj(srv->numConns));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("requests", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) srv->requests));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("accepted", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) srv->accepted));
	DmCacheCounts(srv->cache, &hits, &stats);
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("cachehits", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) hits));
	Tcl_DictObjPut(NULL, d, Tcl_NewStringObj("cachestats", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) stats));
	Tcl_SetObjResult(interp, d);
	return TCL_OK;
    }
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

/*
 *----------------------------------------------------------------------
 *
 * DmServerClose --
 *
 *	Stops listening at once; connections finish their replies in flight
 *	and close.  The log stops here, as the interpreter may be going.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Closes the listening socket; the server is freed with its last
 *	connection.
 *
 *----------------------------------------------------------------------
 */

void
DmServerClose(
    DmServer *srv)
{
    int fd = srv->listen.fd, i;

    if (srv->closing) {
	return;
    }
    DmEnter();
    srv->closing = 1;
    DmWatchStop(&srv->listen);
    DmNetClose(fd);
    DmLogFlush(srv);
    DmLogSetChannel(&srv->accessSink, NULL);
    DmLogSetChannel(&srv->errorSink, NULL);
    for (i = 0; i < 2; i++) {
	Tcl_Obj **logPtr = i ? &srv->config.errorLog : &srv->config.accessLog;

	if (*logPtr != NULL) {
	    Tcl_DecrRefCount(*logPtr);
	    *logPtr = NULL;
	}
    }
    DmConnServerClosing(srv);
    if (srv->numConns == 0) {
	DmServerRelease(srv);
    }
    DmLeave();
}

/*
 *----------------------------------------------------------------------
 *
 * DmServerRelease, FreeServer --
 *
 *	Let go of a closed server once no connection uses it: what it holds
 *	outside memory goes at once, the memory when no frame can point to
 *	it any more (see dmRetire.c).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Cancels the server's timers, closes its root and frees it.
 *
 *----------------------------------------------------------------------
 */

void
DmServerRelease(
    DmServer *srv)
{
    if (srv->released) {
	return;
    }
    srv->released = 1;
    if (srv->timerToken) {
	Tcl_DeleteTimerHandler(srv->timerToken);
	srv->timerToken = NULL;
    }
    if (srv->logTimer) {
	Tcl_DeleteTimerHandler(srv->logTimer);
	srv->logTimer = NULL;
    }
    DmLogSetChannel(&srv->accessSink, NULL);
    DmLogSetChannel(&srv->errorSink, NULL);
    if (srv->rootFd >= 0) {
	DmFileClose(srv->rootFd);
	srv->rootFd = -1;
    }
    DmRetire(FreeServer, srv);
}

static void
FreeServer(
    void *ptr)
{
    DmServer *srv = ptr;

    free(srv->realRoot);
    free(srv->scratch);
    free(srv->fields);
    free(srv->accessSink.buf);
    free(srv->errorSink.buf);
    if (srv->cache != NULL) {
	DmCacheDelete(srv->cache);
    }
    ConfigRetain(&srv->config, -1);
    free(srv);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTimerArm, ServerTimerProc --
 *
 *	One Tcl timer per server fires at the earliest connection deadline
 *	(or to retry accepting after running out of descriptors).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Expires connections; re-arms itself.
 *
 *----------------------------------------------------------------------
 */

void
DmTimerArm(
    DmServer *srv,
    int64_t deadline)
{
    int64_t wait;

    if (srv->timerToken) {
	Tcl_DeleteTimerHandler(srv->timerToken);
	srv->timerToken = NULL;
    }
    srv->timerAt = 0;
    if (deadline == 0 || srv->released) {
	return;
    }
    wait = deadline - DmNowMs();
    srv->timerAt = deadline;
    srv->timerToken = Tcl_CreateTimerHandler(wait < 0 ? 0 : (int) wait,
	    ServerTimerProc, srv);
}

static void
ServerTimerProc(
    void *clientData)
{
    DmServer *srv = clientData;
    int64_t next;

    srv->timerToken = NULL;
    srv->timerAt = 0;
    DmEnter();
    DmConnExpire(srv, DmNowMs());
    if (srv->acceptPaused && !srv->closing) {
	srv->acceptPaused = 0;
	DmWatchSet(&srv->listen, DM_READABLE);
    }
    next = DmConnNextDeadline(srv);
    if (next != 0 && (srv->timerAt == 0 || next < srv->timerAt)) {
	DmTimerArm(srv, next);
    }
    DmLogFlushDue(srv);
    DmLeave();
}
