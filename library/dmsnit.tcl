# dmsnit.tcl --
#
#	The dmsnit package: DustMote-Snit's interface (the server object of
#	Tclssg's lib/dustmote-snit) over dustmote, so that a program written
#	for it runs by loading this package instead.  Plain TclOO: no Snit,
#	no tcllib.  The files are served by dustmote's C core; handlers added
#	with add-handler get the connection as a channel, as before.
#
#	Directory listings (-dirlists) are dustmote's -listings.  Not there
#	yet: TLS (-tls); asking for it is an error (DUSTMOTE UNSUPPORTED), so
#	a program cannot believe it has it.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

package require Tcl 8.6-
package require dustmote 0.1

namespace eval ::dmsnit {
    # The version of the DustMote-Snit interface this package reproduces.
    variable version 0.14.1
    # Set by the /reload handler of main: main starts over.
    variable reload 0
    # For names made from %AUTO%.
    variable autoCount 0
}

# ::dmsnit::httpd --
#
#	The server class.  "::dmsnit::httpd create NAME|%AUTO% ?options?"
#	(or "new") makes a server object; "serve" starts it, "destroy" stops
#	it.  Options, as DustMote-Snit has them:
#	    -root	the folder served (normalised, links resolved)
#	    -host	the address to listen on (default localhost)
#	    -port	the port (default 8080; 0 picks one, and reads back as
#			the port bound once serving)
#	    -default	the file served for a folder (default index.html)
#	    -verbose	log to stdout: the start, each reply, each handler
#	    -dirlists	directory listings (dustmote's -listings)
#	    -tls, -certfile, -keyfile	TLS (-tls must be 0 for now)

oo::class create ::dmsnit::httpd {
    # Options: the option dict.  Server: the dustmote handle, or "".
    # Handlers: route -> lambda.  done: the variable wait-var-name names.
    variable Options Server Handlers done

    # create --
    #
    #	As for any class, but a name containing "%AUTO%" gets a unique
    #	one in its place, as Snit does.

    self method create {name args} {
	if {[string first %AUTO% $name] >= 0} {
	    set name [string map [list %AUTO% httpd[incr ::dmsnit::autoCount]]\
		    $name]
	}
	if {![string match ::* $name]} {
	    set ns [uplevel 1 {namespace current}]
	    set name [expr {$ns eq "::" ? "::$name" : "${ns}::$name"}]
	}
	next $name {*}$args
    }

    constructor {args} {
	set Options [my DefaultOptions]
	set Server ""
	set Handlers {}
	set done 0
	my configurelist $args
    }

    destructor {
	# Closing writes out the access log lines still buffered: they
	# come before this one.  An object that never served (its create
	# failed, say) has nothing to report.
	if {$Server ne ""} {
	    $Server close
	    my log {shutting down}
	}
    }

    # configure --
    #
    #	With no arguments, describes every option; with one, that option
    #	(as Tk and Snit do: {name dbName dbClass default value}); else
    #	sets options.

    method configure {args} {
	switch -- [llength $args] {
	    0 {
		return [lmap option [dict keys $Options] {my Describe $option}]
	    }
	    1 {
		return [my Describe [my Option [lindex $args 0]]]
	    }
	}
	my configurelist $args
    }

    method configurelist {list} {
	if {[llength $list] % 2} {
	    return -code error -errorcode {DUSTMOTE VALUE}\
		    "wrong # args: options must come in pairs: \"$list\""
	}
	foreach {option value} $list {
	    my Set [my Option $option] $value
	}
    }

    method cget {option} {
	return [dict get $Options [my Option $option]]
    }

    # info --
    #
    #	"info options ?pattern?": the option names; "info type".

    method info {what args} {
	switch -- $what {
	    options {
		set pattern [expr {[llength $args] ? [lindex $args 0] : "*"}]
		return [lsearch -all -inline -glob [dict keys $Options]\
			$pattern]
	    }
	    type {
		return ::dmsnit::httpd
	    }
	}
	return -code error -errorcode {DUSTMOTE VALUE info}\
		"bad info subcommand \"$what\": must be options or type"
    }

    # serve --
    #
    #	Starts serving.  The root must be set.

    method serve {} {
	if {$Server ne ""} {
	    return -code error -errorcode {DUSTMOTE STATE}\
		    "already serving on port [dict get $Options -port]"
	}
	set root [dict get $Options -root]
	if {$root eq ""} {
	    return -code error -errorcode {DUSTMOTE VALUE -root} {no root set}
	}
	set Server [dustmote::serve -root $root\
		-myaddr [dict get $Options -host]\
		-port [dict get $Options -port]\
		-default [dict get $Options -default]\
		-listings [string is true [dict get $Options -dirlists]]\
		-accesslog [my AccessLog]]
	dict set Options -port [$Server cget -port]
	dict for {route lambda} $Handlers {
	    my Route $route
	}
	my log "serving path $root on [dict get $Options -host] port\
		[dict get $Options -port]"
    }

    # log --
    #
    #	Prints a message on stdout if -verbose is on.

    method log {message} {
	if {[dict get $Options -verbose]} {
	    puts stdout $message
	}
    }

    # add-handler --
    #
    #	Has requests for route (a path, exactly) run lambda, an [apply]
    #	function of one argument, the connection's channel.  As in
    #	DustMote-Snit, the handler writes the whole reply and closes the
    #	channel (or calls "$self clean-up $channel"); "upvar 1 self self"
    #	in it gives the server object.

    method add-handler {route lambda} {
	dustmote::LiteralPath $route route
	dict set Handlers $route $lambda
	if {$Server ne ""} {
	    my Route $route
	}
    }

    # clean-up --
    #
    #	Closes a connection's channel, and a file channel if given.

    method clean-up {connectChannel {fileChannel {}} args} {
	close $connectChannel
	if {$fileChannel ne ""} {
	    close $fileChannel
	}
    }

    # wait-var-name --
    #
    #	The fully qualified name of a variable that starts at 0, for the
    #	creator to vwait on until a handler sets it.  Setting it does not
    #	stop the server: destroying the object does.

    method wait-var-name {} {
	return [info object namespace [self]]::done
    }

    # Option, Describe, Set, AccessLog, Route, RunHandler, AccessLine --
    #
    #	The private parts: an option name checked; an option described;
    #	an option set (and applied to a running server); the -accesslog
    #	value -verbose calls for; the route of a handler; the route's
    #	command; the access log's command.

    method Option {name} {
	if {![dict exists $Options $name]} {
	    return -code error -errorcode [list DUSTMOTE OPTION $name]\
		    "unknown option \"$name\""
	}
	return $name
    }

    method Describe {option} {
	set name [string range $option 1 end]
	return [list $option $name [string totitle $name]\
		[dict get [my DefaultOptions] $option]\
		[dict get $Options $option]]
    }

    method DefaultOptions {} {
	return {-root {} -host localhost -port 8080 -default index.html
	    -verbose 1 -dirlists 0 -certfile public.pem -keyfile private.pem
	    -tls 0}
    }

    method Set {option value} {
	switch -- $option {
	    -root {
		if {$value ne ""} {
		    # Normalised with the last component's link resolved too.
		    set value [file dirname [file normalize [file join $value x]]]
		}
	    }
	    -port {
		if {![string is integer -strict $value]
			|| $value < 0 || $value > 65535} {
		    return -code error -errorcode {DUSTMOTE VALUE -port}\
			    "bad port \"$value\": must be an integer from 0\
			    to 65535"
		}
	    }
	    -certfile - -keyfile {
		if {![file isfile $value]} {
		    return -code error -errorcode [list DUSTMOTE VALUE $option]\
			    "file \"$value\" used for option $option doesn't\
			    exist"
		}
		set value [file normalize $value]
	    }
	    -verbose - -dirlists - -tls {
		if {![string is boolean -strict $value]} {
		    return -code error -errorcode [list DUSTMOTE VALUE $option]\
			    "bad value \"$value\" for $option: must be a boolean"
		}
		if {$value && $option eq "-tls"} {
		    return -code error -errorcode {DUSTMOTE UNSUPPORTED -tls}\
			    "TLS is not supported by this version of dmsnit:\
			    -tls must be 0"
		}
	    }
	}
	set old [dict get $Options $option]
	dict set Options $option $value
	if {$Server eq ""} {
	    return
	}
	# As in DustMote-Snit, -host and -port take effect at the next serve.
	set serverOption [dict get {-root -root -host {} -port {}
	    -default -default -verbose -accesslog -dirlists -listings -tls {}
	    -certfile {} -keyfile {}} $option]
	if {$option eq "-verbose"} {
	    set value [my AccessLog]
	}
	if {$serverOption ne ""
		&& [catch {$Server configure $serverOption $value} msg opts]} {
	    dict set Options $option $old
	    return -options $opts $msg
	}
    }

    method AccessLog {} {
	if {[dict get $Options -verbose]} {
	    return [list [namespace which my] AccessLine]
	}
	return ""
    }

    method Route {route} {
	$Server route -takeover 1 $route\
		[list [namespace which my] RunHandler $route]
    }

    method RunHandler {route channel request} {
	# For the handler's "upvar 1 self self".
	set self [self]
	fconfigure $channel -encoding utf-8
	my log "Hnd $route"
	apply [dict get $Handlers $route] $channel
    }

    method AccessLine {entry} {
	# Installed only with -verbose on; printed even if it was just
	# turned off, as the lines gathered before are handed over then.
	puts stdout "[dict get $entry status] [dict get $entry target]"
    }
}

# ::dmsnit::main --
#
#	DustMote-Snit's program: serves with the options on the command
#	line until /quit is requested, or starts over after /reload.  With
#	no arguments or -h, prints every option with its default and exits.
#
# Arguments:
#	argv0	The program's name, for the usage line.
#	argv	Options of ::dmsnit::httpd.
#
# Results:
#	None.

proc ::dmsnit::main {argv0 argv} {
    variable reload 0
    set httpd [::dmsnit::httpd create %AUTO%]
    if {[llength $argv] == 0 || [lsearch -regexp $argv {^-(h|-?help)$}] >= 0} {
	set usage "usage: $argv0"
	foreach option [$httpd info options] {
	    set value [$httpd cget $option]
	    if {$value eq ""} {
		append usage " $option value"
	    } else {
		append usage " ?$option $value?"
	    }
	}
	puts stdout $usage
	exit 0
    }
    $httpd configurelist $argv
    $httpd add-handler /quit {{channel} {
	upvar 1 self self
	puts -nonewline $channel [::dmsnit::Page 200 OK "Stopping."]
	$self clean-up $channel
	set [$self wait-var-name] 1
    }}
    $httpd add-handler /reload {{channel} {
	upvar 1 self self
	puts -nonewline $channel [::dmsnit::Page 202 Accepted "Restarting."]
	$self clean-up $channel
	set ::dmsnit::reload 1
	set [$self wait-var-name] 1
    }}
    $httpd serve
    vwait [$httpd wait-var-name]
    $httpd destroy
    if {$reload} {
	tailcall ::dmsnit::main $argv0 $argv
    }
}

# ::dmsnit::Page --
#
#	A whole reply, closed by the connection's end, for main's handlers.

proc ::dmsnit::Page {status reason text} {
    return "HTTP/1.1 $status $reason\nContent-Type: text/html;\
	    charset=utf-8\nConnection: close\n\n<!DOCTYPE html>\n<html><head><title>$text</title></head><body><h1>$text</h1></body></html>\n"
}

package provide dmsnit $::dmsnit::version

# Run as a program: "tclsh dmsnit.tcl ?options?".
if {[info exists ::argv0] && [info script] ne ""
	&& [file tail [info script]] eq [file tail $::argv0]} {
    ::dmsnit::main $::argv0 $::argv
}
