/*
 * dmInit.c --
 *
 *	The package's entry point: creates the ::dustmote commands.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

/*
 *----------------------------------------------------------------------
 *
 * Dustmote_Init --
 *
 *	Initialises the package in an interpreter: the C commands
 *	dustmote::serve, dustmote::pump, dustmote::mimetype,
 *	dustmote::onsignal and dustmote::setuser, and the ones the Tcl part
 *	of the package (library/, sourced by the package index after this)
 *	builds on: dustmote::Pipeline installs routes and filters,
 *	dustmote::Formparts decodes forms, dustmote::Defaults gives the
 *	option defaults.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Creates commands; provides the package.
 *
 *----------------------------------------------------------------------
 */

DLLEXPORT int
Dustmote_Init(
    Tcl_Interp *interp)
{
    if (Tcl_InitStubs(interp, "8.6-10", 0) == NULL) {
	return TCL_ERROR;
    }
    Tcl_CreateObjCommand(interp, "::dustmote::serve", DmServeObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::pump", DmPumpObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::mimetype", DmMimetypeObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::onsignal", DmOnsignalObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::setuser", DmSetuserObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Pipeline", DmPipelineObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Formparts", DmFormpartsObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Defaults", DmDefaultsObjCmd,
	    NULL, NULL);
    return Tcl_PkgProvide(interp, "dustmote", PACKAGE_VERSION);
}
