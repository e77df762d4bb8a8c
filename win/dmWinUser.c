/*
 * dmWinUser.c --
 *
 *	The "dustmote::setuser" command on Windows, which has no way for a
 *	process to become another user as Unix's setuid does: a service is
 *	given its account when it is installed.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

/*
 *----------------------------------------------------------------------
 *
 * DmSetuserObjCmd --
 *
 *	Implements "dustmote::setuser user ?group?" by refusing it.
 *
 * Results:
 *	TCL_ERROR, with errorcode DUSTMOTE UNSUPPORTED SETUSER.
 *
 * Side effects:
 *	None.
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
    if (objc != 2 && objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "user ?group?");
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, Tcl_NewStringObj("setuser is not available on"
	    " Windows: run the server under the account it should use"
	    " (a service's account is set when it is installed)", -1));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "UNSUPPORTED", "SETUSER", NULL);
    return TCL_ERROR;
}
