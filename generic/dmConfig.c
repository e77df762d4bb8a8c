/*
 * dmConfig.c --
 *
 *	The options of "dustmote::serve", "cget" and "configure": one table
 *	of names, kinds, places in DmConfig and bounds, the checks of the
 *	values that are more than a number, and the defaults.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
    KIND_INT,			/* int, from min to max. */
    KIND_SIZE,			/* size_t, from min to max. */
    KIND_WIDE,			/* Tcl_WideInt, from min to max. */
    KIND_BOOL,			/* int, 0 or 1. */
    KIND_OTHER			/* Checked by ParseOther. */
};

typedef struct OptionSpec {
    const char *name;
    int kind;
    size_t offset;		/* Of the value in DmConfig. */
    Tcl_WideInt min, max;
} OptionSpec;

#define AT(field)	offsetof(DmConfig, field)
#define DAY_MS		86400000

/*
 * Every option, in the order Tcl_GetIndexFromObjStruct lists them
 * (alphabetical); the table below is indexed by these.
 */

enum {
    OPT_ACCESSLOG, OPT_BODYSPOOL, OPT_COMPRESS, OPT_DEFAULT,
    OPT_DEFERACCEPT, OPT_DOTFILES, OPT_ERRORLOG, OPT_ERRORPAGES, OPT_FD,
    OPT_FOLLOWSYMLINKS, OPT_HANDLERTIMEOUT, OPT_HEADERS, OPT_HEADTIMEOUT,
    OPT_KEEPALIVETIMEOUT, OPT_LISTINGS, OPT_LOGFORMAT, OPT_MAXAGE,
    OPT_MAXBODY, OPT_MAXCONNECTIONS, OPT_MAXHEADERS, OPT_MAXHEADERSIZE,
    OPT_MAXRANGES, OPT_MAXREQUESTLINE, OPT_MYADDR, OPT_PORT,
    OPT_PRECOMPRESSED, OPT_PROXYPROTOCOL, OPT_REUSEPORT, OPT_ROOT,
    OPT_SENDFILE, OPT_SENDLOWAT,
    OPT_SENDTIMEOUT, OPT_SERVERNAME, OPT_TLS, OPT_TRUSTEDPROXIES, OPT_VHOSTS,
    OPT_COUNT
};

static const OptionSpec options[OPT_COUNT + 1] = {
    [OPT_ACCESSLOG] =	{"-accesslog", KIND_OTHER, 0, 0, 0},
    [OPT_BODYSPOOL] =	{"-bodyspool", KIND_WIDE, AT(bodySpool), 0,
			    INT64_MAX / 2},
    [OPT_COMPRESS] =	{"-compress", KIND_OTHER, 0, 0, 0},
    [OPT_DEFAULT] =	{"-default", KIND_OTHER, 0, 0, 0},
    [OPT_DEFERACCEPT] =	{"-deferaccept", KIND_BOOL, AT(deferAccept), 0, 1},
    [OPT_DOTFILES] =	{"-dotfiles", KIND_OTHER, 0, 0, 0},
    [OPT_ERRORLOG] =	{"-errorlog", KIND_OTHER, 0, 0, 0},
    [OPT_ERRORPAGES] =	{"-errorpages", KIND_OTHER, 0, 0, 0},
    [OPT_FD] =		{"-fd", KIND_OTHER, 0, 0, 0},
    [OPT_FOLLOWSYMLINKS] = {"-followsymlinks", KIND_BOOL,
			    AT(followSymlinks), 0, 1},
    [OPT_HANDLERTIMEOUT] = {"-handlertimeout", KIND_INT,
			    AT(timeouts[DM_TIMER_HANDLER]), 1, DAY_MS},
    [OPT_HEADERS] =	{"-headers", KIND_OTHER, 0, 0, 0},
    [OPT_HEADTIMEOUT] =	{"-headtimeout", KIND_INT,
			    AT(timeouts[DM_TIMER_HEAD]), 1, DAY_MS},
    [OPT_KEEPALIVETIMEOUT] = {"-keepalivetimeout", KIND_INT,
			    AT(timeouts[DM_TIMER_IDLE]), 1, DAY_MS},
    [OPT_LISTINGS] =	{"-listings", KIND_OTHER, 0, 0, 0},
    [OPT_LOGFORMAT] =	{"-logformat", KIND_OTHER, 0, 0, 0},
    [OPT_MAXAGE] =	{"-maxage", KIND_INT, AT(maxAge), -1, 315360000},
    [OPT_MAXBODY] =	{"-maxbody", KIND_WIDE, AT(maxBody), 0,
			    INT64_MAX / 2},
    [OPT_MAXCONNECTIONS] = {"-maxconnections", KIND_INT,
			    AT(maxConnections), 1, 10000000},
    [OPT_MAXHEADERS] =	{"-maxheaders", KIND_INT, AT(limits.maxHeaders),
			    1, 100000},
    [OPT_MAXHEADERSIZE] = {"-maxheadersize", KIND_SIZE,
			    AT(limits.maxHeadSize), 256, 16777216},
    [OPT_MAXRANGES] =	{"-maxranges", KIND_INT, AT(maxRanges), 1,
			    DM_MAX_RANGES},
    [OPT_MAXREQUESTLINE] = {"-maxrequestline", KIND_SIZE,
			    AT(limits.maxRequestLine), 64, 16777216},
    [OPT_MYADDR] =	{"-myaddr", KIND_OTHER, 0, 0, 0},
    [OPT_PORT] =	{"-port", KIND_OTHER, 0, 0, 0},
    [OPT_PRECOMPRESSED] = {"-precompressed", KIND_BOOL, AT(precompressed),
			    0, 1},
    [OPT_PROXYPROTOCOL] = {"-proxyprotocol", KIND_BOOL, AT(proxyProtocol),
			    0, 1},
    [OPT_REUSEPORT] =	{"-reuseport", KIND_OTHER, 0, 0, 0},
    [OPT_ROOT] =	{"-root", KIND_OTHER, 0, 0, 0},
    [OPT_SENDFILE] =	{"-sendfile", KIND_BOOL, AT(sendFile), 0, 1},
    [OPT_SENDLOWAT] =	{"-sendlowat", KIND_INT, AT(sendLowat), 0, 16777216},
    [OPT_SENDTIMEOUT] =	{"-sendtimeout", KIND_INT,
			    AT(timeouts[DM_TIMER_SEND]), 1, DAY_MS},
    [OPT_SERVERNAME] =	{"-servername", KIND_OTHER, 0, 0, 0},
    [OPT_TLS] =		{"-tls", KIND_OTHER, 0, 0, 0},
    [OPT_TRUSTEDPROXIES] = {"-trustedproxies", KIND_OTHER, 0, 0, 0},
    [OPT_VHOSTS] =	{"-vhosts", KIND_OTHER, 0, 0, 0},
    [OPT_COUNT] =	{NULL, 0, 0, 0, 0}
};

/*
 *----------------------------------------------------------------------
 *
 * DmConfigDefaults --
 *
 *	Fills a configuration with the defaults (-root is the current
 *	directory, given by the caller).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *cfg; its objects have no references yet.
 *
 *----------------------------------------------------------------------
 */

void
DmConfigDefaults(
    DmConfig *cfg,
    Tcl_Obj *root)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->root = root;
    cfg->defaults = Tcl_NewStringObj("index.html", -1);
    cfg->serverName = Tcl_NewStringObj("dustmote/" PACKAGE_VERSION, -1);
    cfg->logFormat = Tcl_NewStringObj("common", -1);
    cfg->deferAccept = 1;
    cfg->sendLowat = 131072;
    cfg->sendFile = DmNetSendFileDefault();
    cfg->maxConnections = 10000;
    cfg->maxRanges = 16;
    cfg->maxAge = -1;
    cfg->limits.maxRequestLine = 8192;
    cfg->limits.maxHeadSize = 16384;
    cfg->limits.maxHeaders = 100;
    cfg->maxBody = 1 << 20;
    cfg->bodySpool = 1 << 16;
    cfg->timeouts[DM_TIMER_HEAD] = 10000;
    cfg->timeouts[DM_TIMER_IDLE] = 15000;
    cfg->timeouts[DM_TIMER_SEND] = 30000;
    cfg->timeouts[DM_TIMER_LINGER] = 2000;
    cfg->timeouts[DM_TIMER_HANDLER] = 30000;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConfigRetain --
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

void
DmConfigRetain(
    DmConfig *cfg,
    int delta)
{
    Tcl_Obj *objs[11];
    int i;

    objs[0] = cfg->root;
    objs[1] = cfg->defaults;
    objs[2] = cfg->serverName;
    objs[3] = cfg->accessLog;
    objs[4] = cfg->errorLog;
    objs[5] = cfg->logFormat;
    objs[6] = cfg->vhosts;
    objs[7] = cfg->errorPages;
    objs[8] = cfg->headers;
    objs[9] = cfg->trustedProxies;
    objs[10] = cfg->tls;
    for (i = 0; i < 11; i++) {
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
 * DmConfigOption --
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

int
DmConfigOption(
    Tcl_Interp *interp,
    Tcl_Obj *name,
    int *indexPtr)
{
    if (Tcl_GetIndexFromObjStruct(interp, name, options, sizeof(OptionSpec),
	    "option", 0, indexPtr) != TCL_OK) {
	Tcl_SetErrorCode(interp, "DUSTMOTE", "OPTION", Tcl_GetString(name),
		NULL);
	return TCL_ERROR;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConfigName --
 *
 *	The name of an option by index.
 *
 * Results:
 *	The name, or NULL past the last one.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const char *
DmConfigName(
    int index)
{
    return options[index].name;
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
	    Tcl_GetString(value), options[option].name, expected));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", options[option].name,
	    NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseOther --
 *
 *	Checks and stores the value of an option that is not a plain number
 *	or boolean.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Stores into *cfg (objects borrowed from the caller) or the caller's
 *	-port and -myaddr variables.
 *
 *----------------------------------------------------------------------
 */

static int
ParseOther(
    Tcl_Interp *interp,
    DmConfig *cfg,
    int option,
    Tcl_Obj *value,
    DmListenSpec *listenPtr)
{
    Tcl_Size len, i;
    const char *s = Tcl_GetStringFromObj(value, &len);

    switch (option) {
    case OPT_ACCESSLOG:
    case OPT_ERRORLOG: {
	Tcl_Channel chan;
	int kind;

	if (DmLogTarget(interp, options[option].name, value, &kind, &chan)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	if (option == OPT_ACCESSLOG) {
	    cfg->accessLog = (len > 0) ? value : NULL;
	    cfg->accessKind = kind;
	    cfg->accessChan = chan;
	} else {
	    cfg->errorLog = (len > 0) ? value : NULL;
	    cfg->errorKind = kind;
	    cfg->errorChan = chan;
	}
	return TCL_OK;
    }
    case OPT_LOGFORMAT: {
	DmLogFormat *fmt = DmLogFormatCompile(interp, value);

	if (fmt == NULL) {
	    return TCL_ERROR;
	}
	DmLogFormatFree(fmt);
	cfg->logFormat = value;
	return TCL_OK;
    }
    case OPT_HEADERS: {
	Tcl_Obj **v;
	Tcl_Size n, total = 0;

	if (Tcl_ListObjGetElements(NULL, value, &n, &v) != TCL_OK || n % 2) {
	    return ValueError(interp, option, value,
		    "must be a list of field names and values");
	}
	for (i = 0; i < n; i += 2) {
	    Tcl_Size nameLen, valueLen, k;
	    const char *name = Tcl_GetStringFromObj(v[i], &nameLen);
	    const char *text = Tcl_GetStringFromObj(v[i + 1], &valueLen);

	    if (!DmIsToken(name, (size_t) nameLen)) {
		return ValueError(interp, option, value,
			"field names must be tokens");
	    }
	    for (k = 0; k < valueLen; k++) {
		unsigned char c = (unsigned char) text[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f || c >= 0x80) {
		    return ValueError(interp, option, value, "field values"
			    " must be printable ASCII");
		}
	    }
	    total += nameLen + valueLen + 4;
	}
	if (total > DM_MAX_FILE_FIELDS) {
	    return ValueError(interp, option, value, "at most "
		    DM_STRINGIFY(DM_MAX_FILE_FIELDS) " bytes of fields");
	}
	cfg->headers = (n > 0) ? value : NULL;
	return TCL_OK;
    }
    case OPT_TRUSTEDPROXIES: {
	Tcl_Obj **v;
	Tcl_Size n;
	DmCidr cidr;

	if (Tcl_ListObjGetElements(NULL, value, &n, &v) != TCL_OK
		|| n > DM_MAX_TRUSTED) {
	    return ValueError(interp, option, value, "must be a list of at"
		    " most " DM_STRINGIFY(DM_MAX_TRUSTED) " addresses or"
		    " CIDR ranges");
	}
	for (i = 0; i < n; i++) {
	    s = Tcl_GetStringFromObj(v[i], &len);
	    if (!DmParseCidr(s, (size_t) len, &cidr)) {
		return ValueError(interp, option, value, "must be a list of"
			" addresses or CIDR ranges such as 10.0.0.0/8");
	    }
	}
	cfg->trustedProxies = (n > 0) ? value : NULL;
	return TCL_OK;
    }
    case OPT_TLS:
	/*
	 * Its files are read by DmServerConfigure, which reads them again
	 * whenever -tls is given, even unchanged: that reloads them.
	 */

	if (Tcl_ListObjLength(NULL, value, &len) != TCL_OK || len % 2) {
	    return ValueError(interp, option, value, DM_TLS_USAGE);
	}
	cfg->tls = (len > 0) ? value : NULL;
	cfg->tlsGiven = 1;
	return TCL_OK;
    case OPT_COMPRESS: {
	int on;

	if (Tcl_GetBooleanFromObj(NULL, value, &on) != TCL_OK) {
	    return ValueError(interp, option, value, "must be a boolean");
	}
	if (on && DmCompressAvailable() == 0) {
	    return ValueError(interp, option, value, "this build has neither"
		    " zlib nor brotli");
	}
	cfg->compress = on;
	return TCL_OK;
    }
    case OPT_LISTINGS: {
	int on;

	if (strcmp(s, "all") == 0) {
	    cfg->listings = DM_LISTINGS_ALL;
	} else if (Tcl_GetBooleanFromObj(NULL, value, &on) == TCL_OK) {
	    cfg->listings = on ? DM_LISTINGS_VISIBLE : DM_LISTINGS_OFF;
	} else {
	    return ValueError(interp, option, value,
		    "must be a boolean or all");
	}
	return TCL_OK;
    }
    case OPT_DOTFILES: {
	static const char *const policies[] = {"deny", "allow", NULL};
	int index;

	if (Tcl_GetIndexFromObj(NULL, value, policies, "", TCL_EXACT,
		&index) != TCL_OK) {
	    return ValueError(interp, option, value, "must be deny or allow");
	}
	cfg->dotfiles = index;
	return TCL_OK;
    }
    case OPT_DEFAULT: {
	Tcl_Obj **names;
	Tcl_Size count;

	if (Tcl_ListObjGetElements(NULL, value, &count, &names) != TCL_OK) {
	    return ValueError(interp, option, value, "must be a list");
	}
	for (i = 0; i < count; i++) {
	    s = Tcl_GetStringFromObj(names[i], &len);
	    if (len == 0 || len > 255 || strchr(s, '/') != NULL
		    || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		return ValueError(interp, option, value,
			"must be a list of file names without \"/\"");
	    }
	}
	cfg->defaults = value;
	return TCL_OK;
    }
    case OPT_MYADDR:
	listenPtr->myaddr = value;
	return TCL_OK;
    case OPT_PORT: {
	int port;

	if (Tcl_GetIntFromObj(NULL, value, &port) != TCL_OK || port < 0
		|| port > 65535) {
	    return ValueError(interp, option, value,
		    "must be an integer from 0 to 65535");
	}
	listenPtr->port = port;
	return TCL_OK;
    }
    case OPT_REUSEPORT:
	if (Tcl_GetBooleanFromObj(NULL, value, &listenPtr->reusePort)
		!= TCL_OK) {
	    return ValueError(interp, option, value, "must be a boolean");
	}
	return TCL_OK;
    case OPT_FD: {
	int fd;

	if (Tcl_GetIntFromObj(NULL, value, &fd) != TCL_OK || fd < -1) {
	    return ValueError(interp, option, value,
		    "must be a descriptor number, or -1");
	}
	listenPtr->fd = fd;
	return TCL_OK;
    }
    case OPT_ROOT: {
	Tcl_Obj *norm = Tcl_FSGetNormalizedPath(interp, value);

	if (norm == NULL) {
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-root", NULL);
	    return TCL_ERROR;
	}
	cfg->root = norm;
	return TCL_OK;
    }
    case OPT_ERRORPAGES: {
	Tcl_Obj **v, *pages;
	Tcl_Size n;

	if (Tcl_ListObjGetElements(NULL, value, &n, &v) != TCL_OK || n % 2) {
	    return ValueError(interp, option, value,
		    "must be a list of statuses and paths");
	}
	pages = Tcl_NewObj();
	for (i = 0; i < n; i += 2) {
	    char path[DM_PATH_MAX];
	    size_t pathLen;
	    int status;
	    const char *p = Tcl_GetStringFromObj(v[i + 1], &len);

	    if (Tcl_GetIntFromObj(NULL, v[i], &status) != TCL_OK
		    || status < 400 || status > 599 || len == 0 || p[0] != '/'
		    || DmNormalizePath(p, (size_t) len, path, sizeof(path),
		    &pathLen) != 0 || path[pathLen - 1] == '/') {
		Tcl_DecrRefCount(pages);
		return ValueError(interp, option, value, "must be a list of"
			" statuses from 400 to 599 and paths of files below"
			" the root, such as {404 /errors/404.html}");
	    }
	    Tcl_ListObjAppendElement(NULL, pages, v[i]);
	    Tcl_ListObjAppendElement(NULL, pages,
		    Tcl_NewStringObj(path, (Tcl_Size) pathLen));
	}
	cfg->errorPages = (n > 0) ? pages : NULL;
	if (n == 0) {
	    Tcl_DecrRefCount(pages);
	}
	return TCL_OK;
    }
    case OPT_VHOSTS: {
	Tcl_Obj **v;
	Tcl_Size n, k;

	if (Tcl_ListObjGetElements(NULL, value, &n, &v) != TCL_OK || n % 2) {
	    return ValueError(interp, option, value,
		    "must be a list of host names and roots");
	}
	for (i = 0; i < n; i += 2) {
	    const char *name = Tcl_GetStringFromObj(v[i], &len);
	    int literal = (len > 2 && name[0] == '[' && name[len - 1] == ']');

	    /*
	     * Letters, digits, '.' and '-'; an IPv6 literal also ':'
	     * between its brackets.
	     */

	    for (k = literal; k < len - literal; k++) {
		char c = name[k];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9') || c == '.' || c == '-'
			|| (literal && c == ':'))) {
		    break;
		}
	    }
	    if (len == 0 || k < len - literal || len > 255) {
		return ValueError(interp, option, value, "a host name is"
			" letters, digits, \".\" and \"-\" (or an IPv6"
			" literal in brackets), without a port");
	    }
	    if (Tcl_FSGetNormalizedPath(interp, v[i + 1]) == NULL) {
		Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-vhosts",
			NULL);
		return TCL_ERROR;
	    }
	}
	cfg->vhosts = (n > 0) ? value : NULL;
	return TCL_OK;
    }
    case OPT_SERVERNAME:
	for (i = 0; i < len; i++) {
	    if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
		break;
	    }
	}
	if (len == 0 || len > DM_MAX_SERVER_NAME || i < len) {
	    return ValueError(interp, option, value,
		    "must be 1 to 200 printable characters");
	}
	cfg->serverName = value;
	return TCL_OK;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConfigParse --
 *
 *	Checks "-option value" pairs and stores them in *cfg, whose Tcl_Obj
 *	fields are left borrowed from objv (the caller takes references).
 *	-port and -myaddr go to their own variables, or are refused when
 *	those are NULL (a running server).
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	None on error beyond the message.
 *
 *----------------------------------------------------------------------
 */

int
DmConfigParse(
    Tcl_Interp *interp,
    DmConfig *cfg,
    DmListenSpec *listenPtr,	/* NULL once the server runs. */
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
	const OptionSpec *spec;
	char *slot;
	Tcl_WideInt n;
	int option, b;

	if (DmConfigOption(interp, objv[i], &option) != TCL_OK) {
	    return TCL_ERROR;
	}
	spec = &options[option];
	slot = (char *) cfg + spec->offset;
	if ((option == OPT_PORT || option == OPT_MYADDR || option == OPT_FD
		|| option == OPT_REUSEPORT) && listenPtr == NULL) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf(
		    "option %s cannot change after the server started",
		    spec->name));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "READONLY", spec->name,
		    NULL);
	    return TCL_ERROR;
	}
	switch (spec->kind) {
	case KIND_BOOL:
	    if (Tcl_GetBooleanFromObj(NULL, value, &b) != TCL_OK) {
		return ValueError(interp, option, value, "must be a boolean");
	    }
	    *(int *) slot = b;
	    break;
	case KIND_INT:
	case KIND_SIZE:
	case KIND_WIDE:
	    if (Tcl_GetWideIntFromObj(NULL, value, &n) != TCL_OK
		    || n < spec->min || n > spec->max) {
		Tcl_Obj *msg = Tcl_ObjPrintf(
			"must be an integer from %" TCL_LL_MODIFIER "d to %"
			TCL_LL_MODIFIER "d", (long long) spec->min,
			(long long) spec->max);

		Tcl_IncrRefCount(msg);
		ValueError(interp, option, value, Tcl_GetString(msg));
		Tcl_DecrRefCount(msg);
		return TCL_ERROR;
	    }
	    if (spec->kind == KIND_INT) {
		*(int *) slot = (int) n;
	    } else if (spec->kind == KIND_SIZE) {
		*(size_t *) slot = (size_t) n;
	    } else {
		*(Tcl_WideInt *) slot = n;
	    }
	    break;
	default:
	    if (ParseOther(interp, cfg, option, value, listenPtr) != TCL_OK) {
		return TCL_ERROR;
	    }
	    break;
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmConfigValue --
 *
 *	The current value of one option of a server.
 *
 * Results:
 *	A new Tcl_Obj, or one of the configuration's.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
DmConfigValue(
    DmServer *srv,
    int option)
{
    DmConfig *cfg = &srv->config;
    const OptionSpec *spec = &options[option];
    const char *slot = (const char *) cfg + spec->offset;

    switch (spec->kind) {
    case KIND_BOOL:
	return Tcl_NewBooleanObj(*(const int *) slot);
    case KIND_INT:
	return Tcl_NewIntObj(*(const int *) slot);
    case KIND_SIZE:
	return Tcl_NewWideIntObj((Tcl_WideInt) *(const size_t *) slot);
    case KIND_WIDE:
	return Tcl_NewWideIntObj(*(const Tcl_WideInt *) slot);
    }
    switch (option) {
    case OPT_ACCESSLOG:			/* "" once the channel was closed. */
	return srv->accessSink.kind != DM_SINK_NONE ? cfg->accessLog
		: Tcl_NewObj();
    case OPT_ERRORLOG:
	return srv->errorSink.kind != DM_SINK_NONE ? cfg->errorLog
		: Tcl_NewObj();
    case OPT_LOGFORMAT:
	return cfg->logFormat;
    case OPT_ERRORPAGES:
	return cfg->errorPages ? cfg->errorPages : Tcl_NewObj();
    case OPT_VHOSTS:
	return cfg->vhosts ? cfg->vhosts : Tcl_NewObj();
    case OPT_DEFAULT:
	return cfg->defaults;
    case OPT_DOTFILES:
	return Tcl_NewStringObj(cfg->dotfiles ? "allow" : "deny", -1);
    case OPT_COMPRESS:
	return Tcl_NewBooleanObj(cfg->compress);
    case OPT_LISTINGS:
	return Tcl_NewStringObj(cfg->listings == DM_LISTINGS_ALL ? "all"
		: cfg->listings ? "1" : "0", -1);
    case OPT_HEADERS:
	return cfg->headers ? cfg->headers : Tcl_NewObj();
    case OPT_TRUSTEDPROXIES:
	return cfg->trustedProxies ? cfg->trustedProxies : Tcl_NewObj();
    case OPT_TLS:
	return cfg->tls ? cfg->tls : Tcl_NewObj();
    case OPT_MYADDR:
	return Tcl_NewStringObj(srv->boundAddr, -1);
    case OPT_PORT:
	return Tcl_NewIntObj(srv->boundPort);
    case OPT_FD:
	return Tcl_NewIntObj(srv->inheritedFd);
    case OPT_REUSEPORT:
	return Tcl_NewBooleanObj(srv->reusePort);
    case OPT_ROOT:
	return cfg->root;
    case OPT_SERVERNAME:
	return cfg->serverName;
    }
    return Tcl_NewObj();
}

/*
 *----------------------------------------------------------------------
 *
 * DmDefaultsObjCmd --
 *
 *	Implements "::dustmote::Defaults": every option of dustmote::serve
 *	with its default value (-root the current directory, -myaddr empty
 *	for all addresses), for the launcher's -help.
 *
 * Results:
 *	A standard Tcl result: a dict.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmDefaultsObjCmd(
    void *clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    DmServer *srv;
    Tcl_Obj *dict;
    int i;

    (void) clientData;
    if (objc != 1) {
	Tcl_WrongNumArgs(interp, 1, objv, NULL);
	return TCL_ERROR;
    }
    srv = (DmServer *) Tcl_Alloc(sizeof(DmServer));
    memset(srv, 0, sizeof(DmServer));
    DmConfigDefaults(&srv->config, Tcl_NewStringObj(".", 1));
    srv->boundPort = DM_DEFAULT_PORT;
    srv->inheritedFd = -1;
    DmConfigRetain(&srv->config, 1);
    dict = Tcl_NewDictObj();
    for (i = 0; i < OPT_COUNT; i++) {
	Tcl_DictObjPut(NULL, dict, Tcl_NewStringObj(options[i].name, -1),
		DmConfigValue(srv, i));
    }
    DmConfigRetain(&srv->config, -1);
    Tcl_Free((char *) srv);
    Tcl_SetObjResult(interp, dict);
    return TCL_OK;
}
