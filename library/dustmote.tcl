# dustmote.tcl --
#
#	The Tcl part of the dustmote package, sourced once the C library is
#	loaded (which provides dustmote::serve, dustmote::pump,
#	dustmote::mimetype, dustmote::onsignal, dustmote::setuser and
#	dustmote::ticketsecret).  It sources the rest, a file a concern:
#	    route.tcl	    routes and filters of a server handle
#	    helpers.tcl	    url, formdata, basicauth and add-handler
#	    launcher.tcl    the "dustmote" program's main
#	The dmsnit package (dmsnit.tcl) is loaded on its own.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

namespace eval ::dustmote {
    namespace export serve pump mimetype onsignal setuser ticketsecret \
	    main url tohttps formdata basicauth add-handler
}

apply {{dir} {
    foreach file {route.tcl helpers.tcl launcher.tcl} {
	source -encoding utf-8 [file join $dir $file]
    }
}} [file dirname [info script]]
