/*
 * dmInit.c --
 *
 *	The package's entry point: creates the ::dustmote commands.  The
 *	package may be loaded into interpreters of several threads (a server
 *	per thread): what belongs to the process is set up once, under a
 *	mutex, and everything else is per thread.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

/*
 * Tcl's byte-array type, set by the first Dustmote_Init: Tcl 9 does not
 * register it by name, so a new byte array shows it in both versions.
 * Threads that load the package later see it through initMutex.
 */

const Tcl_ObjType *dmByteArrayType = NULL;

static Tcl_Mutex initMutex;
static unsigned lastId = 0;		/* See DmUniqueId; under initMutex. */

/*
 *----------------------------------------------------------------------
 *
 * DmUniqueId --
 *
 *	A number no other call in the process returns, for the names of
 *	server commands and takeover channels: unique across threads, so a
 *	name never stands for two things, even passed between threads.
 *
 * Results:
 *	The number, from 1 up.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

unsigned
DmUniqueId(void)
{
    unsigned id;

    Tcl_MutexLock(&initMutex);
    id = ++lastId;
    Tcl_MutexUnlock(&initMutex);
    return id;
}

/*
 *----------------------------------------------------------------------
 *
 * Dustmote_Init --
 *
 *	Initialises the package in an interpreter: the C commands
 *	dustmote::serve, dustmote::pump, dustmote::mimetype,
 *	dustmote::onsignal, dustmote::setuser and dustmote::ticketsecret,
 *	and the ones the Tcl part of the package (library/, sourced by the
 *	package index after this) builds on: dustmote::Pipeline installs
 *	routes and filters, dustmote::Formparts decodes forms,
 *	dustmote::Defaults gives the option defaults, dustmote::Inherit lets
 *	the launcher hand its socket to a worker.
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
    Tcl_MutexLock(&initMutex);
    if (dmByteArrayType == NULL) {
	Tcl_Obj *probe = Tcl_NewByteArrayObj(NULL, 0);

	Tcl_IncrRefCount(probe);
	dmByteArrayType = probe->typePtr;
	Tcl_DecrRefCount(probe);
    }
    Tcl_MutexUnlock(&initMutex);
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
    Tcl_CreateObjCommand(interp, "::dustmote::ticketsecret",
	    DmTicketsecretObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Pipeline", DmPipelineObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Formparts", DmFormpartsObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Defaults", DmDefaultsObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::dustmote::Inherit", DmInheritObjCmd,
	    NULL, NULL);
    return Tcl_PkgProvide(interp, "dustmote", PACKAGE_VERSION);
}
