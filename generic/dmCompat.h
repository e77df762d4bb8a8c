/*
 * dmCompat.h --
 *
 *	The few definitions that let one source tree compile against Tcl 8.6
 *	and Tcl 9: Tcl 9 counts sizes in Tcl_Size and passes channel handles
 *	as void **.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_COMPAT_H
#define DM_COMPAT_H

#include <tcl.h>

#if TCL_MAJOR_VERSION < 9
    /* The build may define Tcl_Size as a macro; a typedef is what we want. */
#   undef Tcl_Size
    typedef int Tcl_Size;
#   define Tcl_GetSizeIntFromObj Tcl_GetIntFromObj
#   define TCL_SIZE_MODIFIER ""
#endif

#ifndef TCL_INDEX_NONE
#   define TCL_INDEX_NONE (-1)
#endif

#ifndef TCL_UNUSED
    /* An unnamed, unused parameter; the name is unique per line. */
#   define DM_JOIN2(a, b) a ## b
#   define DM_JOIN(a, b) DM_JOIN2(a, b)
#   if defined(__GNUC__)
#	define TCL_UNUSED(T) T DM_JOIN(dmUnused, __LINE__) __attribute__((unused))
#   else
#	define TCL_UNUSED(T) T DM_JOIN(dmUnused, __LINE__)
#   endif
#endif

#ifndef PTR2INT
#   define PTR2INT(p) ((int)(intptr_t)(p))
#   define INT2PTR(i) ((void *)(intptr_t)(i))
#endif

#endif /* DM_COMPAT_H */
