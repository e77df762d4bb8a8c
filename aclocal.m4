#
# aclocal.m4 --
#
#	Macros for configure.ac.  SC_PATH_TCLCONFIG and SC_LOAD_TCLCONFIG
#	come from the tcl.m4 that Tcl's development package installs
#	(Debian: tcl-dev).  It is read only when autoconf regenerates
#	configure; configure itself needs nothing from it.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.
#

m4_sinclude([/usr/share/aclocal/tcl.m4])
m4_ifndef([SC_LOAD_TCLCONFIG],
    [m4_fatal([Tcl's tcl.m4 not found in /usr/share/aclocal: install Tcl's development files (tcl-dev)])])
