/*
 * dustmote.h --
 *
 *	Public declarations of the dustmote extension: a small, fast HTTP/1.1
 *	file server that a Tcl program embeds and extends in Tcl.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DUSTMOTE_H
#define DUSTMOTE_H

#include <tcl.h>

#ifndef PACKAGE_VERSION
#   define PACKAGE_VERSION "0.1"
#endif

#ifdef BUILD_dustmote
#   undef TCL_STORAGE_CLASS
#   define TCL_STORAGE_CLASS DLLEXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

EXTERN int Dustmote_Init(Tcl_Interp *interp);

#ifdef __cplusplus
}
#endif

#endif /* DUSTMOTE_H */
