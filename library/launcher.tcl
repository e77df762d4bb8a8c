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
#		SIGTERM waits for replies in flight (default 30000);
#		-workers N or auto (one per processor), processes sharing
#		the port (see StartWorkers); -threads N or auto, server
#		threads in each process (see StartThreads); -help.  With
#		systemd's socket
#		activation (LISTEN_FDS and LISTEN_PID set for this process)
#		and no -fd, it serves on descriptor 3.
#
# Results:
#	None; exits the process.  Exit status 0 after SIGINT or SIGTERM (and
#	for -help), 1 when the server cannot start or the configuration
#	script fails, 2 for a usage error.  SIGINT stops at once; SIGTERM
#	stops accepting and lets the replies in flight finish, for -drain
#	milliseconds at most.  SIGHUP reopens the log files and reloads the
#	-tls certificates.  With workers or threads, each signal is passed
#	on to them.

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
    variable Program [file normalize $::argv0]
    # Socket activation (systemd): the listening socket is descriptor 3.
    if {![dict exists $options -fd] && [info exists ::env(LISTEN_FDS)]
	    && [info exists ::env(LISTEN_PID)] && $::env(LISTEN_PID) == [pid]
	    && [string is integer -strict $::env(LISTEN_FDS)]
	    && $::env(LISTEN_FDS) >= 1} {
	dict set options -fd 3
    }
    # -user, -group, -config, -drain, -workers and -threads are the
    # launcher's own; -control is how a worker hears from the first
    # process.
    set own {-drain 30000 -workers 1 -threads 1}
    foreach option {-user -group -config -drain -workers -threads
	    -control} {
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
    foreach option {-workers -threads} {
	set n [dict get $own $option]
	if {$n eq "auto"} {
	    set n [Processors]
	}
	if {![string is integer -strict $n] || $n < 1 || $n > 256} {
	    puts stderr "dustmote: bad value \"[dict get $own $option]\" for\
		    $option: must be auto or an integer from 1 to 256"
	    exit 2
	}
	if {$n > 1} {
	    if {[dict exists $options -fd] && [dict get $options -fd] >= 0} {
		puts stderr "dustmote: $option cannot share an inherited\
			socket (-fd): give each server its own"
		exit 2
	    }
	    dict set options -reuseport 1
	}
	set [string range $option 1 end] $n
    }
    if {$threads > 1 && [catch {package require Thread 2.8-} msg]} {
	puts stderr "dustmote: -threads needs the Thread package: $msg"
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
    # Relative paths in the options and the -config file name are those of
    # the directory the launcher started in, for every thread and worker
    # too, though a -config script changes directory: a thread starts
    # there (see InStart), a worker is told it (-control DIR).
    if {[dict exists $own -control]
	    && [catch {cd [dict get $own -control]} msg]} {
	puts stderr "dustmote: cannot enter the first process's directory:\
		$msg"
	exit 1
    }
    variable Start [pwd]
    if {[dict exists $own -control] && [gets stdin line] > 0} {
	# A worker: the first process's first line, "secret HEX", gives
	# the secret of its session tickets, so that a client resumes on
	# any worker.
	if {[catch {
	    if {[llength $line] != 2 || [lindex $line 0] ne "secret"} {
		error "bad first line from the first process: must be\
			\"secret HEX\""
	    }
	    ticketsecret [lindex $line 1]
	} msg]} {
	    puts stderr "dustmote: $msg"
	    exit 1
	}
	unset line msg
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
    if {$workers > 1} {
	# With the privileges this process has (to bind the port and switch
	# user); the access log's lines are gathered into large writes.
	fconfigure stdout -buffersize 1048576
	StartWorkers [expr {$workers - 1}] [dict merge $argv [list \
		-port [$server cget -port] -reuseport 1 -workers 1 \
		-control $Start]]
    }
    if {$threads > 1 && [catch {
	StartThreads [expr {$threads - 1}] [dict merge $options [list \
		-port [$server cget -port]]] \
		[expr {[dict exists $own -config] ? [dict get $own -config]
		: ""}]
    } msg]} {
	Tell stop
	puts stderr "dustmote: $msg"
	exit 1
    }
    # The port (perhaps below 1024) is bound and the root open: from here
    # on the server needs no privileges.
    if {[dict exists $own -user] && [catch {
	setuser [dict get $own -user] {*}[expr {[dict exists $own -group]
		? [list [dict get $own -group]] : {}}]
    } msg]} {
	Tell stop
	puts stderr "dustmote: $msg"
	exit 1
    }
    if {[dict exists $own -user] && $workers > 1 && $threads == 1} {
	# A worker started again from now on could not bind a port below
	# 1024: it shares this process's socket (see StartWorker).  Not with
	# threads, whose handlers could start a process of their own while
	# the socket is inheritable.
	variable Shared $server
    }
    if {[dict exists $own -control]} {
	# A worker: the first process tells it what to do on its stdin, and
	# its end means the first process is gone.  It takes the signals
	# too, for those sent to the whole process group (systemd's stop).
	fconfigure stdout -buffersize 1048576
	fconfigure stdin -blocking 0
	fileevent stdin readable [list ::dustmote::Control $server]
    } else {
	puts stdout "dustmote: serving [file normalize [$server cget -root]]\
		on [url $server][expr {$workers > 1
		? " with $workers workers" : ""}][expr {$threads > 1
		? ($workers > 1 ? ", $threads threads each"
		: " with $threads threads") : ""}]"
	flush stdout
    }
    onsignal INT [list set ::dustmote::stop now]
    onsignal TERM [list set ::dustmote::stop drain]
    if {$::tcl_platform(platform) eq "windows"} {
	# Ctrl-Break is the console's way to ask for a graceful stop.
	onsignal BREAK [list set ::dustmote::stop drain]
    } else {
	# For logrotate: it renames the files, then signals.
	onsignal HUP [list ::dustmote::Reopen $server]
    }
    vwait ::dustmote::stop
    Tell $::dustmote::stop $drain
    Stop $server $::dustmote::stop $drain
    set ms [expr {$::dustmote::stop eq "drain" ? $drain + 5000 : 5000}]
    StopThreads $ms
    StopWorkers $ms
    exit 0
}

# dustmote::Stop --
#
#	Closes SERVER at once (HOW is stop) or after the replies in flight,
#	for DRAIN milliseconds at most (HOW is drain).
#
# Results:
#	None.

proc ::dustmote::Stop {server how drain} {
    if {$how eq "drain"} {
	$server close -drain $drain
    } else {
	$server close
    }
}

# dustmote::StartThreads --
#
#	Starts N server threads in this process, each with its own
#	interpreter and event loop, serving OPTIONS (the port of the first
#	server, shared with -reuseport: the kernel shares the connections
#	out) and running the -config script CONFIG, if any, as the first
#	thread did.  The threads take no signals: the first thread tells
#	them (Tell).  They load the same version of the package as this
#	one.
#
# Results:
#	None; an error if a thread cannot serve or its configuration fails.

proc ::dustmote::StartThreads {n options config} {
    variable Threads
    for {set i 0} {$i < $n} {incr i} {
	set tid [thread::create]
	lappend Threads $tid
	thread::send $tid [list set ::auto_path $::auto_path]
	if {[InStart {thread::send $tid [list apply {{version options config} {
	    package require -exact dustmote $version
	    ::dustmote::ThreadServe $options $config
	}} [package present dustmote] $options $config] msg}]} {
	    return -code error $msg
	}
    }
}

# dustmote::InStart --
#
#	Evaluates SCRIPT in the caller's frame in the directory the launcher
#	started in, where relative paths in its options are meant, then goes
#	back: a -config script may change the process's working directory,
#	and a thread started later must not see its options moved.  The
#	directory is the whole process's, for the moment threads start.
#
# Results:
#	What SCRIPT returns; an error if the directory cannot be entered.

proc ::dustmote::InStart {script} {
    variable Start
    set here [pwd]
    cd $Start
    try {
	uplevel 1 $script
    } finally {
	cd $here
    }
}

# dustmote::ThreadServe --
#
#	In a server thread: serves OPTIONS and runs the -config script
#	CONFIG, logging as the first thread does.  Signals are the first
#	thread's: here dustmote::onsignal does nothing, so a configuration
#	that sets one runs in every thread.
#
# Results:
#	None.

proc ::dustmote::ThreadServe {options config} {
    fconfigure stdout -buffering full -buffersize 1048576
    FlushEvery 200 stdout
    if {[info commands ::bgerror] eq ""} {
	proc ::bgerror {message} {
	    puts stdout "bgerror: $message"
	}
    }
    proc ::dustmote::onsignal {signals args} {
	return [lindex $args 0]
    }
    variable ThreadServer [serve {*}$options]
    if {$config ne ""} {
	RunConfig $config $ThreadServer
    }
}

# dustmote::ThreadTold --
#
#	In a server thread: a word from the first thread (see Tell).  After
#	stop or drain the thread ends once its server is closed.
#
# Results:
#	None.

proc ::dustmote::ThreadTold {word drain} {
    variable ThreadServer
    if {$word eq "reopen"} {
	Reload $ThreadServer
	return
    }
    Stop $ThreadServer $word $drain
    catch {flush stdout}
    thread::release
}

# dustmote::StopThreads --
#
#	Once the threads were told to stop or drain: waits up to MS
#	milliseconds for them to end, in the event loop; those left (busy in
#	a handler, say) end with the process.
#
# Results:
#	None.

proc ::dustmote::StopThreads {ms} {
    variable Threads
    if {![info exists Threads]} {
	return
    }
    set deadline [expr {[clock milliseconds] + $ms}]
    while {[llength [set Threads [lmap tid $Threads {
	if {![thread::exists $tid]} continue
	set tid
    }]]] && [clock milliseconds] < $deadline} {
	after 50 {set ::dustmote::Tick 1}
	vwait ::dustmote::Tick
    }
    set Threads {}
}

# dustmote::StartWorkers --
#
#	Starts N more processes of this program ($argv0) with ARGV, each
#	serving the same port (-reuseport; the kernel shares the connections
#	out), reading -config and switching -user itself: they start before
#	this process gives up its privileges.  A worker's stdin is a pipe
#	from this process, which tells it to stop, drain or reopen its logs;
#	its stdout is this process's (the access log), and its stderr comes
#	through a pipe of its own, whose end says that it has exited.  It
#	is given this process's ticket secret, so that TLS sessions resume
#	on any worker.  One that exits while serving is started again after
#	a second, unless it had run for less than two seconds: a worker
#	that cannot start is not tried for ever.  Once this process has
#	switched user (-user), a worker started again could not bind a port
#	below 1024: unless this process has threads, it serves on this
#	process's socket instead, inherited (-fd), with one thread, and
#	starts as the user.  Each worker starts in the directory this
#	process started in (-control DIR).
#
# Results:
#	None.

proc ::dustmote::StartWorkers {n argv} {
    variable WorkerArgv $argv
    variable Restart {}
    for {set i 0} {$i < $n} {incr i} {
	StartWorker
    }
}

proc ::dustmote::StartWorker {} {
    variable WorkerArgv
    variable Workers
    variable Program
    variable Shared
    if {[info exists ::dustmote::stop]} {
	return
    }
    set argv $WorkerArgv
    lassign [chan pipe] errIn errOut
    if {[info exists Shared]} {
	# The socket is inheritable only while this child starts, and the
	# child is the user already.
	set argv [dict remove $argv -user -group -reuseport -port -myaddr]
	dict set argv -fd [Inherit $Shared 1]
	dict set argv -threads 1
    }
    set failed [catch {open |[list [info nameofexecutable] $Program \
	    {*}$argv >@stdout 2>@ $errOut] w} ctl]
    if {[info exists Shared]} {
	Inherit $Shared 0
    }
    close $errOut
    if {$failed} {
	close $errIn
	puts stderr "dustmote: cannot start a worker: $ctl"
	return
    }
    fconfigure $ctl -buffering line
    # Its first line (empty without TLS): see main.  A worker that failed
    # at once has closed its end; its stderr says why.
    catch {puts $ctl [expr {[catch ticketsecret secret] ? ""
	    : "secret $secret"}]}
    fconfigure $errIn -blocking 0 -buffering line
    fileevent $errIn readable [list ::dustmote::WorkerOutput $ctl $errIn \
	    [clock milliseconds]]
    dict set Workers $ctl $errIn
}

# dustmote::WorkerOutput --
#
#	A worker's stderr: its lines go to this process's stderr; its end
#	means the worker exited, and it is started again (see StartWorkers)
#	unless the launcher is stopping.
#
# Results:
#	None.

proc ::dustmote::WorkerOutput {ctl errIn started} {
    variable Workers
    variable Restart
    while {[gets $errIn line] >= 0} {
	puts stderr $line
    }
    if {![eof $errIn]} {
	return
    }
    close $errIn
    set pid [pid $ctl]
    catch {close $ctl} status
    dict unset Workers $ctl
    if {[info exists ::dustmote::stop]} {
	set ::dustmote::WorkersLeft [dict size $Workers]
    } elseif {[clock milliseconds] - $started < 2000} {
	puts stderr "dustmote: worker $pid exited ($status) within two\
		seconds of its start; not started again"
    } else {
	puts stderr "dustmote: worker $pid exited ($status); starting\
		another in a second"
	lappend Restart [after 1000 ::dustmote::StartWorker]
    }
}

# dustmote::Tell --
#
#	Sends a word to every worker and server thread: stop, drain (for
#	DRAIN milliseconds at most) or reopen.
#
# Results:
#	None.

proc ::dustmote::Tell {word {drain 0}} {
    variable Workers
    variable Threads
    if {[info exists Workers]} {
	dict for {ctl errIn} $Workers {
	    catch {puts $ctl $word}
	}
    }
    if {[info exists Threads]} {
	foreach tid $Threads {
	    # One that ended meanwhile is no longer there to tell.
	    catch {thread::send -async $tid \
		    [list ::dustmote::ThreadTold $word $drain]}
	}
    }
}

# dustmote::StopWorkers --
#
#	Once the workers were told to stop or drain: waits up to MS
#	milliseconds for them to exit (reading what they print meanwhile),
#	then kills those left.
#
# Results:
#	None.

proc ::dustmote::StopWorkers {ms} {
    variable Workers
    variable Restart
    if {![info exists Workers]} {
	return
    }
    foreach id $Restart {
	after cancel $id
    }
    set ::dustmote::WorkersLeft [dict size $Workers]
    set timer [after $ms {set ::dustmote::WorkersLeft 0}]
    while {$::dustmote::WorkersLeft > 0} {
	vwait ::dustmote::WorkersLeft
    }
    after cancel $timer
    dict for {ctl errIn} $Workers {
	catch {exec kill -KILL {*}[pid $ctl]}
	catch {close $ctl}
	catch {close $errIn}
    }
    set Workers {}
}

# dustmote::Reopen, dustmote::Reload --
#
#	SIGHUP: Reopen has this process and its workers Reload: reopen the
#	log files and read the -tls certificates and keys again (new
#	connections get them; a file that cannot be used leaves the old ones
#	in place, with a message on stderr).
#
# Results:
#	None.

proc ::dustmote::Reopen {server} {
    Reload $server
    Tell reopen
}

proc ::dustmote::Reload {server} {
    $server reopenlog
    set tls [$server cget -tls]
    if {$tls ne "" && [catch {$server configure -tls $tls} msg]} {
	puts stderr "dustmote: certificates not reloaded: $msg"
    }
}

# dustmote::Control --
#
#	A worker's stdin: a word from the first process, or its end (the
#	first process is gone), which drains.
#
# Results:
#	None.

proc ::dustmote::Control {server} {
    while {[gets stdin word] >= 0} {
	switch -- $word {
	    stop - drain {
		set ::dustmote::stop $word
	    }
	    reopen {
		Reopen $server
	    }
	}
    }
    if {[eof stdin]} {
	fileevent stdin readable {}
	set ::dustmote::stop drain
    }
}

# dustmote::Processors --
#
#	The number of processors, for -workers auto.
#
# Results:
#	The count; 1 if it cannot be found.

proc ::dustmote::Processors {} {
    if {[info exists ::env(NUMBER_OF_PROCESSORS)]} {
	set n $::env(NUMBER_OF_PROCESSORS)
    } elseif {[catch {exec getconf _NPROCESSORS_ONLN} n]} {
	set n 1
    }
    return [expr {[string is integer -strict $n] && $n > 0 ? $n : 1}]
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
	-user {} -group {} -drain 30000 -workers 1 -threads 1}]
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
