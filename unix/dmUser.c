/*
 * dmUser.c --
 *
 *	The "dustmote::setuser" command: gives up root privileges for a
 *	named user (and group), so a server can bind a port below 1024 and
 *	then serve as an ordinary user.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

/*
 *----------------------------------------------------------------------
 *
 * DmSetuserObjCmd --
 *
 *	Implements "dustmote::setuser user ?group?": sets the group (the
 *	given one, else the user's), the user's supplementary groups, then
 *	the user, in that order, since a process that is no longer root can
 *	change neither group.  It then checks that root cannot be regained.
 *
 * Results:
 *	A standard Tcl result: the numeric user and group ids.
 *
 * Side effects:
 *	Changes the process's credentials for good.
 *
 *----------------------------------------------------------------------
 */

int
DmSetuserObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    struct passwd *pw;
    struct group *gr;
    gid_t gid;
    const char *user, *what;

    if (objc != 2 && objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "user ?group?");
	return TCL_ERROR;
    }
    user = Tcl_GetString(objv[1]);
    pw = getpwnam(user);
    if (pw == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown user \"%s\"", user));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "USER", user, NULL);
	return TCL_ERROR;
    }
    gid = pw->pw_gid;
    if (objc == 3) {
	gr = getgrnam(Tcl_GetString(objv[2]));
	if (gr == NULL) {
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown group \"%s\"",
		    Tcl_GetString(objv[2])));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "GROUP",
		    Tcl_GetString(objv[2]), NULL);
	    return TCL_ERROR;
	}
	gid = gr->gr_gid;
    }
    if (setgid(gid) < 0) {
	what = "group";
	goto error;
    }
    if (initgroups(user, gid) < 0) {
	what = "supplementary groups";
	goto error;
    }
    if (setuid(pw->pw_uid) < 0) {
	what = "user";
	goto error;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
	Tcl_Panic("dustmote::setuser: root privileges could be regained");
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("%ld %ld", (long) getuid(),
	    (long) getgid()));
    return TCL_OK;

  error:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("cannot set %s for \"%s\": %s",
	    what, user, Tcl_PosixError(interp)));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "SETUSER", Tcl_ErrnoId(), NULL);
    return TCL_ERROR;
}
