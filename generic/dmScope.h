/*
 * dmScope.h --
 *
 *	MODULE_SCOPE for the headers of the pure sources, which are also
 *	compiled without tcl.h (unit tests, fuzzers).  Hidden where the
 *	object format has visibility; a Windows DLL exports only what is
 *	marked DLLEXPORT anyway.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_SCOPE_H
#define DM_SCOPE_H

#ifndef MODULE_SCOPE
#   if defined(__GNUC__) && !defined(_WIN32)
#	define MODULE_SCOPE extern __attribute__((visibility("hidden")))
#   else
#	define MODULE_SCOPE extern
#   endif
#endif

#endif /* DM_SCOPE_H */
