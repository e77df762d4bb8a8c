# dustmote.tcl --
#
#	The Tcl part of the dustmote package: the launcher's main program.
#	The C library provides dustmote::serve, dustmote::pump,
#	dustmote::mimetype and dustmote::onsignal; this file is sourced
#	after it is loaded.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

namespace eval ::dustmote {
    namespace export serve pump mimetype onsignal setuser main url
}

# dustmote::url --
#
#	The address a server can be reached at, as a URL.
#
# Arguments:
#	server	A handle returned by dustmote::serve.
#
# Results:
#	"http://ADDR:PORT/"; a wildcard address is shown as 127.0.0.1, which
#	is where a local browser finds it (the all-addresses socket takes
#	IPv4 too).

proc ::dustmote::url {server} {
    set addr [$server cget -myaddr]
    switch -- $addr {
	0.0.0.0 - :: {set addr 127.0.0.1}
	default {
	    if {[string match *:* $addr]} {
		set addr "\[$addr\]"
	    }
	}
    }
    return "http://$addr:[$server cget -port]/"
}

# dustmote::main --
#
#	The "dustmote" launcher: serves a directory until interrupted.
#
# Arguments:
#	argv	Options of dustmote::serve; -root defaults to the current
#		directory and -port to 8080, -accesslog to stdout and
#		-errorlog to stderr.  Also -user NAME and -group NAME: the
#		user (and group) to serve as once the port is bound.
#
# Results:
#	None; exits the process.  Exit status 0 after SIGINT or SIGTERM, 1
#	when the server cannot start, 2 for a usage error.

proc ::dustmote::main {argv} {
    if {[llength $argv] % 2 || [lindex $argv 0] in {-h -help --help}} {
	puts stderr "usage: dustmote ?-root DIR? ?-port N? ?-myaddr ADDR?\
		?-option value ...?\n(the options of dustmote::serve)"
	exit 2
    }
    set options [dict merge {-root . -port 8080 -accesslog stdout
	-errorlog stderr} $argv]
    # -user and -group are the launcher's own: "setuser" takes them.
    set identity {}
    foreach option {-user -group} {
	if {[dict exists $options $option]} {
	    lappend identity [dict get $options $option]
	    set options [dict remove $options $option]
	}
    }
    if {[dict exists $argv -group] && ![dict exists $argv -user]} {
	puts stderr "dustmote: -group needs -user"
	exit 2
    }
    # A write per log line would cost more than serving the request:
    # buffer, and flush a few times a second.
    fconfigure stdout -buffering full
    FlushEvery 200 stdout
    # Like the original script: background errors are reported on stdout.
    # A handler the application already set stays in place.
    if {[info commands ::bgerror] eq ""} {
	proc ::bgerror {message} {
	    puts stdout "bgerror: $message"
	}
    }
    if {[catch {serve {*}$options} server]} {
	puts stderr "dustmote: $server"
	exit 1
    }
    # The port (perhaps below 1024) is bound and the root open: from here
    # on the server needs no privileges.
    if {[llength $identity] && [catch {setuser {*}$identity} msg]} {
	puts stderr "dustmote: $msg"
	exit 1
    }
    puts stdout "dustmote: serving [file normalize [$server cget -root]]\
	    on [url $server]"
    flush stdout
    onsignal {INT TERM} [list set ::dustmote::stop 1]
    vwait ::dustmote::stop
    $server close
    exit 0
}

# dustmote::FlushEvery --
#
#	Flushes a channel now and every ms milliseconds from now on, while
#	it stays open.
#
# Arguments:
#	ms	The period.
#	chan	The channel.
#
# Results:
#	None.

proc ::dustmote::FlushEvery {ms chan} {
    if {[catch {flush $chan}]} {
	return
    }
    after $ms [list ::dustmote::FlushEvery $ms $chan]
}
