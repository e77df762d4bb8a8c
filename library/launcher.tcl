# launcher.tcl --
#
#	The "dustmote" program: serves a directory until interrupted, with
#	the options of dustmote::serve, a configuration script, and signals
#	for stopping and for reopening the logs.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

namespace eval ::dustmote {
    # The launcher's own defaults, where they differ from dustmote::serve.
    variable LauncherDefaults {-root . -port 8080 -accesslog stdout
	-errorlog stderr}
}

# dustmote::main --
#
#	The "dustmote" launcher.
#
# Arguments:
#	argv	Options of dustmote::serve (see LauncherDefaults for where
#		the launcher's defaults differ), and the launcher's own:
#		-config FILE, a Tcl script run once the server is up, with
#		the variable "server" holding its handle (to add routes and
#		filters); -user NAME and -group NAME, the user (and group)
#		to serve as once the port is bound; -drain MS, how long
#		SIGTERM waits for replies in flight (default 30000); -help.
#		With systemd's socket activation (LISTEN_FDS and LISTEN_PID
#		set for this process) and no -fd, it serves on descriptor 3.
#
# Results:
#	None; exits the process.  Exit status 0 after SIGINT or SIGTERM (and
#	for -help), 1 when the server cannot start or the configuration
#	script fails, 2 for a usage error.  SIGINT stops at once; SIGTERM
#	stops accepting and lets the replies in flight finish, for -drain
#	milliseconds at most.  SIGHUP reopens the log files.

proc ::dustmote::main {argv} {
    variable LauncherDefaults
    if {[lindex $argv 0] in {-h -help --help}} {
	puts stdout [Usage]
	exit 0
    }
    if {[llength $argv] % 2} {
	puts stderr [Usage]
	exit 2
    }
    set options [dict merge $LauncherDefaults $argv]
    # Socket activation (systemd): the listening socket is descriptor 3.
    if {![dict exists $options -fd] && [info exists ::env(LISTEN_FDS)]
	    && [info exists ::env(LISTEN_PID)] && $::env(LISTEN_PID) == [pid]
	    && [string is integer -strict $::env(LISTEN_FDS)]
	    && $::env(LISTEN_FDS) >= 1} {
	dict set options -fd 3
    }
    # -user, -group, -config and -drain are the launcher's own.
    set own {-drain 30000}
    foreach option {-user -group -config -drain} {
	if {[dict exists $options $option]} {
	    dict set own $option [dict get $options $option]
	    set options [dict remove $options $option]
	}
    }
    if {[dict exists $own -group] && ![dict exists $own -user]} {
	puts stderr "dustmote: -group needs -user"
	exit 2
    }
    set drain [dict get $own -drain]
    if {![string is integer -strict $drain] || $drain < 0
	    || $drain > 86400000} {
	puts stderr "dustmote: bad value \"$drain\" for -drain: must be an\
		integer from 0 to 86400000"
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
    if {[dict exists $own -config]
	    && [catch {RunConfig [dict get $own -config] $server} msg]} {
	puts stderr "dustmote: $msg"
	exit 1
    }
    # The port (perhaps below 1024) is bound and the root open: from here
    # on the server needs no privileges.
    if {[dict exists $own -user] && [catch {
	setuser [dict get $own -user] {*}[expr {[dict exists $own -group]
		? [list [dict get $own -group]] : {}}]
    } msg]} {
	puts stderr "dustmote: $msg"
	exit 1
    }
    puts stdout "dustmote: serving [file normalize [$server cget -root]]\
	    on [url $server]"
    flush stdout
    onsignal INT [list set ::dustmote::stop now]
    onsignal TERM [list set ::dustmote::stop drain]
    if {$::tcl_platform(platform) eq "windows"} {
	# Ctrl-Break is the console's way to ask for a graceful stop.
	onsignal BREAK [list set ::dustmote::stop drain]
    } else {
	# For logrotate: it renames the files, then signals.
	onsignal HUP [list $server reopenlog]
    }
    vwait ::dustmote::stop
    if {$::dustmote::stop eq "drain"} {
	$server close -drain $drain
    } else {
	$server close
    }
    exit 0
}

# dustmote::RunConfig --
#
#	Runs a configuration script at the global level with the variable
#	"server" set to the server's handle.
#
# Results:
#	None; an error names the file and carries the script's message.

proc ::dustmote::RunConfig {file server} {
    if {[catch {
	uplevel #0 [list set server $server]
	uplevel #0 [list source -encoding utf-8 $file]
    } msg opts]} {
	return -code error -errorcode [dict get $opts -errorcode]\
		"error in -config file \"$file\": $msg"
    }
}

# dustmote::Usage --
#
#	The launcher's usage text: every option with its default.
#
# Results:
#	The text.

proc ::dustmote::Usage {} {
    variable LauncherDefaults
    set text "usage: dustmote ?-option value ...?\noptions (and defaults):"
    set defaults [dict merge [Defaults] $LauncherDefaults {-config {}
	-user {} -group {} -drain 30000}]
    foreach option [lsort [dict keys $defaults]] {
	set value [dict get $defaults $option]
	if {$option eq "-myaddr" && $value eq ""} {
	    set value "(all addresses)"
	} elseif {$value eq ""} {
	    set value "(none)"
	}
	append text [format "\n  %-18s %s" $option $value]
    }
    return $text
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
