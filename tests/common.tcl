# common.tcl --
#
#	Procedures shared by the dustmote test files: scratch directories,
#	servers on 127.0.0.1 port 0, a raw HTTP client, an HTTP response
#	parser and child processes.
#
#	The server runs in the same interpreter as the client, so the client
#	never blocks the event loop: every wait is a vwait with a deadline.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

namespace eval ::dm {
    variable buf	;# socket -> bytes received and not yet consumed
    variable eof	;# socket -> 1 once the server closed (or reset)
    variable err	;# socket -> the read error, if any
    variable socks {}	;# client sockets that dm::closeall closes
    variable seq 0	;# makes scratch directory names unique
    variable lines	;# child channel -> lines it printed so far
    variable childeof	;# child channel -> 1 once its output ended
    variable tick 0	;# set by the polling timer in dm::until
    variable wantre	;# child channel -> the line dm::waitline waits for

    # The form of a Date or Last-Modified value (IMF-fixdate).
    variable dateRE {^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT$}

    # One Common Log Format line; the request line and the tail vary.
    variable clfRE {^127\.0\.0\.1 - - \[[0-3][0-9]/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [-+][0-9]{4}\] }
}

# dm::builddir --
#
#	The directory the loaded dustmote shared library came from: the build
#	directory, which holds pkgIndex.tcl and the launcher.

proc dm::builddir {} {
    foreach l [info loaded] {
	if {[string equal -nocase [lindex $l 1] dustmote]} {
	    return [file dirname [file normalize [lindex $l 0]]]
	}
    }
    error "dustmote is not loaded from a file"
}

# dm::srcdir --
#
#	The top of the source tree (the parent of tests/).

proc dm::srcdir {} {
    variable srcdir
    return $srcdir
}
set ::dm::srcdir [file dirname [file dirname [file normalize [info script]]]]

# Child processes (launcher, demo, scale clients) must find the same build.
if {![catch {dm::builddir} ::dm::bdir]} {
    if {[info exists ::env(TCLLIBPATH)]} {
	set ::env(TCLLIBPATH) [linsert $::env(TCLLIBPATH) 0 $::dm::bdir]
    } else {
	set ::env(TCLLIBPATH) [list $::dm::bdir]
    }
}

# dm::tool --
#
#	The command that runs an external client (curl, wget): without the
#	sanitizer runtimes "make test-asan" preloads into tclsh, which such
#	programs inherit and hang with.

proc dm::tool {args} {
    if {[info exists ::env(LD_PRELOAD)]} {
	return [list env -u LD_PRELOAD {*}$args]
    }
    return $args
}

# dm::built --
#
#	Whether configure defined MACRO for this build (found a library).

proc dm::built {macro} {
    if {[catch {dm::readfile [file join [dm::builddir] Makefile]} mk]} {
	return 0
    }
    return [regexp -line "^DEFS\[ \t\]*=.*-D$macro=1" $mk]
}

# dm::readtext --
#
#	The text of a file with CRLF line ends read as LF: a log channel the
#	tests open themselves writes CRLF on Windows.

proc dm::readtext {path} {
    return [string map [list \r\n \n] [dm::readfile $path]]
}

# dm::diskfree --
#
#	The KiB free where PATH is, by df(1); where there is no df (Windows)
#	a number large enough for any test, so the tests run and say so if
#	the disk fills.

proc dm::diskfree {path} {
    if {[auto_execok df] eq ""} {
	return [expr {1 << 30}]
    }
    return [lindex [lindex [split [exec df -Pk $path] \n] end] 3]
}

# dm::tempdir --
#
#	Creates a new, empty scratch directory (there is no [file tempdir] in
#	Tcl 8.6) and returns its normalized name.

proc dm::tempdir {} {
    variable seq
    set base /tmp
    if {[info exists ::env(TMPDIR)] && [file isdirectory $::env(TMPDIR)]} {
	set base $::env(TMPDIR)
    }
    while 1 {
	set d [file join $base \
		dmtest-[pid]-[incr seq]-[expr {[clock clicks] & 0xffffff}]]
	if {![file exists $d]} {
	    file mkdir $d
	    return [file normalize $d]
	}
    }
}

# dm::rmtree --
#
#	Removes a scratch directory, first making mode-000 entries writable so
#	an unprivileged run can remove them too.

proc dm::rmtree {dir} {
    if {$dir eq "" || ![file exists $dir]} {
	return
    }
    catch {exec chmod -R u+rwX $dir}
    file delete -force $dir
}

# dm::writefile, dm::readfile --
#
#	Write and read a whole file as bytes.

proc dm::writefile {path data} {
    file mkdir [file dirname $path]
    set f [open $path wb]
    puts -nonewline $f $data
    close $f
    return $path
}

proc dm::readfile {path} {
    set f [open $path rb]
    set data [read $f]
    close $f
    return $data
}

# dm::bytes --
#
#	Returns N deterministic pseudo-random bytes (all 256 values occur in
#	a few thousand), so that an offset or ordering error shows.

proc dm::bytes {n {seed 1}} {
    set x [expr {$seed & 0x7fffffff}]
    set l {}
    for {set i 0} {$i < $n} {incr i} {
	set x [expr {($x * 1103515245 + 12345) & 0x7fffffff}]
	lappend l [expr {($x >> 16) & 0xff}]
    }
    return [binary format c* $l]
}

# dm::serve --
#
#	Starts a server on 127.0.0.1 and a free port; returns its handle.

proc dm::serve {args} {
    return [dustmote::serve -port 0 -myaddr 127.0.0.1 {*}$args]
}

# dm::until --
#
#	Runs the event loop until the expression COND (evaluated in the
#	caller) is true or MS milliseconds have passed.  Returns 1 if COND
#	became true.

proc dm::until {cond {ms 5000}} {
    variable tick
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel 1 [list expr $cond]]} {
	if {[clock milliseconds] >= $deadline} {
	    return 0
	}
	set id [after 5 {set ::dm::tick 1}]
	vwait ::dm::tick
	after cancel $id
    }
    return 1
}

# dm::pause --
#
#	Lets the event loop run for MS milliseconds.

proc dm::pause {ms} {
    set id [after $ms {set ::dm::tick 1}]
    vwait ::dm::tick
    after cancel $id
}

# dm::connect --
#
#	Opens a raw client connection: binary, unbuffered, non-blocking, with
#	a readable handler that collects everything the server sends.

proc dm::connect {port} {
    return [dm::watch [socket 127.0.0.1 $port]]
}

# dm::watch --
#
#	Makes S binary, unbuffered and non-blocking and collects what arrives
#	on it in dm::buf(S).  Returns S.

proc dm::watch {s} {
    variable buf
    variable eof
    variable err
    variable socks
    fconfigure $s -translation binary -buffering none -blocking 0
    set buf($s) ""
    set eof($s) 0
    set err($s) ""
    lappend socks $s
    fileevent $s readable [list ::dm::Readable $s]
    return $s
}

# dm::socketpair --
#
#	Returns two ends of a fresh TCP connection over 127.0.0.1, both left
#	as [socket] made them.

proc dm::socketpair {} {
    variable accepted ""
    set l [socket -server [list apply {{s addr port} {
	set ::dm::accepted $s
    }}] -myaddr 127.0.0.1 0]
    set c [socket 127.0.0.1 [lindex [fconfigure $l -sockname] 2]]
    dm::until {$::dm::accepted ne ""}
    close $l
    return [list $c $accepted]
}

# dm::Readable --
#
#	The readable handler of a watched socket: appends what arrived to
#	dm::buf(S) and notes the end of the connection.

proc dm::Readable {s} {
    variable buf
    variable eof
    variable err
    if {[catch {read $s} data]} {
	set err($s) $data
	set eof($s) 1
	fileevent $s readable {}
	return
    }
    append buf($s) $data
    if {[eof $s]} {
	set eof($s) 1
	fileevent $s readable {}
    }
}

# dm::send --
#
#	Sends exact bytes.  Returns 1, or 0 if the server had already closed
#	(a write error is what a client sees then).

proc dm::send {s bytes} {
    if {[catch {puts -nonewline $s $bytes}]} {
	return 0
    }
    return 1
}

# dm::disconnect, dm::closeall --
#
#	Close one client connection, or all those still open.

proc dm::disconnect {s} {
    variable socks
    variable buf
    variable eof
    variable err
    catch {close $s}
    set i [lsearch -exact $socks $s]
    if {$i >= 0} {
	set socks [lreplace $socks $i $i]
    }
    unset -nocomplain buf($s) eof($s) err($s)
}

proc dm::closeall {} {
    variable socks
    foreach s $socks {
	dm::disconnect $s
    }
}

# dm::closed --
#
#	Waits up to MS milliseconds for the server to close S; returns 1 if
#	it did.

proc dm::closed {s {ms 3000}} {
    return [dm::until "\$::dm::eof($s)" $ms]
}

# dm::isopen --
#
#	Returns 1 if S is still open after MS milliseconds.

proc dm::isopen {s {ms 200}} {
    return [expr {![dm::closed $s $ms]}]
}

# dm::received --
#
#	Returns and consumes all the bytes received on S so far.

proc dm::received {s} {
    variable buf
    set data $buf($s)
    set buf($s) ""
    return $data
}

# dm::parse --
#
#	Takes one HTTP response off the front of the variable VARNAME and
#	returns it as a dict: version, status, reason, headers (lower-case
#	names; repeated fields joined with ", "), fields (name value ... as
#	sent), head (the raw head) and body (Content-Length bytes, or none if
#	NOBODY, as for HEAD).  Errors if the response is incomplete or its
#	head is malformed: no CRLF line end, no Content-Length.

proc dm::parse {varName {nobody 0}} {
    upvar 1 $varName data
    set end [string first "\r\n\r\n" $data]
    if {$end < 0} {
	error "incomplete response head ([string length $data] bytes:\
		[string range $data 0 200])"
    }
    set head [string range $data 0 [expr {$end + 1}]]
    if {[regexp {[^\r]\n|\r[^\n]|^\n|\x00} $head]} {
	error "response head has a line not ended by CRLF: $head"
    }
    set lines [split [string map [list \r\n \x01] \
	    [string range $head 0 end-2]] \x01]
    set statusLine [lindex $lines 0]
    if {![regexp {^(HTTP/[0-9]\.[0-9]) ([0-9]{3}) ([^\r\n]*)$} $statusLine \
	    -> version status reason]} {
	error "bad status line \"$statusLine\""
    }
    set headers {}
    set fields {}
    foreach line [lrange $lines 1 end] {
	if {![regexp {^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$} \
		$line -> name value]} {
	    error "bad header line \"$line\""
	}
	lappend fields $name $value
	set lname [string tolower $name]
	if {[dict exists $headers $lname]} {
	    dict append headers $lname ", $value"
	} else {
	    dict set headers $lname $value
	}
    }
    set bodyStart [expr {$end + 4}]
    set body ""
    if {!$nobody} {
	if {![dict exists $headers content-length]} {
	    error "response without Content-Length: $head"
	}
	set cl [dict get $headers content-length]
	if {![string is digit -strict $cl]} {
	    error "bad Content-Length \"$cl\""
	}
	if {[string length $data] - $bodyStart < $cl} {
	    error "incomplete body: [expr {[string length $data] - $bodyStart}]\
		    of $cl bytes"
	}
	set body [string range $data $bodyStart [expr {$bodyStart + $cl - 1}]]
	set bodyStart [expr {$bodyStart + $cl}]
    }
    set data [string range $data $bodyStart end]
    return [dict create version $version status $status reason $reason \
	    headers $headers fields $fields head $head body $body]
}

# dm::complete --
#
#	Counts the complete responses at the front of DATA; NOBODY is a list
#	of booleans, one per expected response (1 for a HEAD), default 0.

proc dm::complete {data {nobody {}}} {
    set n 0
    while 1 {
	if {[catch {dm::parse data [expr {[lindex $nobody $n] eq "1"}]}]} {
	    return $n
	}
	incr n
    }
}

# dm::recv --
#
#	Waits until N complete responses have arrived on S (or the server
#	closed, or MS milliseconds passed), then takes them off the buffer and
#	returns them as a list of dicts (see dm::parse).  Errors if fewer
#	than N arrived.

proc dm::recv {s {n 1} {nobody {}} {ms 5000}} {
    variable buf
    variable eof
    dm::until "\$::dm::eof($s) ||
	    \[dm::complete \$::dm::buf($s) {$nobody}\] >= $n" $ms
    set out {}
    for {set i 0} {$i < $n} {incr i} {
	if {[catch {dm::parse buf($s) [expr {[lindex $nobody $i] eq "1"}]} \
		r]} {
	    error "response [expr {$i + 1}] of $n: $r (closed: $eof($s))"
	}
	lappend out $r
    }
    return $out
}

# dm::exchange --
#
#	Opens a connection, sends BYTES, and collects everything until the
#	server closes or MS milliseconds pass.  Returns a dict: data (all
#	bytes) and closed (1 if the server closed).

proc dm::exchange {port bytes {ms 5000}} {
    set s [dm::connect $port]
    dm::send $s $bytes
    set closed [dm::closed $s $ms]
    set data [dm::received $s]
    dm::disconnect $s
    return [dict create data $data closed $closed]
}

# dm::request --
#
#	All bytes the server sends in answer to BYTES, until it closes or MS
#	milliseconds pass.

proc dm::request {port bytes {ms 5000}} {
    return [dict get [dm::exchange $port $bytes $ms] data]
}

# dm::fetch --
#
#	GET (or METHOD) TARGET over HTTP/1.1 with "Connection: close" and
#	optional EXTRA header lines; returns the parsed response, checking
#	that nothing follows it and that the server closed.

proc dm::fetch {port target {method GET} {extra ""}} {
    set x [dm::exchange $port \
	    "$method $target HTTP/1.1\r\nHost: test\r\nConnection: close\r\n$extra\r\n"]
    set data [dict get $x data]
    set r [dm::parse data [expr {$method eq "HEAD"}]]
    if {$data ne ""} {
	error "[string length $data] bytes after the response"
    }
    if {![dict get $x closed]} {
	error "server did not close after Connection: close"
    }
    return $r
}

# dm::probe --
#
#	Sends BYTES on a new connection, parses the one response expected,
#	waits up to MS milliseconds for the server to close and returns
#	"STATUS CONNECTION STATE": the status code, the Connection header
#	("-" if absent) and "closed" or "open".  Errors if bytes follow the
#	response (a wrong Content-Length) or the body is short.

proc dm::probe {port bytes {ms 2000} {nobody 0}} {
    set s [dm::connect $port]
    dm::send $s $bytes
    set r [lindex [dm::recv $s 1 $nobody] 0]
    set state [expr {[dm::closed $s $ms] ? "closed" : "open"}]
    set rest [dm::received $s]
    dm::disconnect $s
    if {$rest ne ""} {
	error "[string length $rest] bytes after the response"
    }
    return [list [dict get $r status] [dm::hdr $r connection] $state]
}

# dm::status --
#
#	Like dm::probe, without the Connection header: "STATUS STATE".  MS
#	defaults to a short wait, for responses after which the connection
#	must stay open.

proc dm::status {port bytes {ms 200} {nobody 0}} {
    return [lreplace [dm::probe $port $bytes $ms $nobody] 1 1]
}

# dm::req --
#
#	The bytes of a simple HTTP/1.1 request with a Host header and the
#	optional EXTRA header lines (each ended by CRLF).

proc dm::req {target {method GET} {extra ""}} {
    return "$method $target HTTP/1.1\r\nHost: test\r\n$extra\r\n"
}

# dm::errorOf --
#
#	The first two words of -errorcode and the message of the error
#	SCRIPT raises in the caller, or "no error: RESULT".

proc dm::errorOf {script} {
    if {![catch {uplevel 1 $script} msg opts]} {
	return [list no error: $msg]
    }
    return [list [lrange [dict get $opts -errorcode] 0 1] $msg]
}

# dm::hdr --
#
#	A header of a parsed response by its (any-case) name, or "-".

proc dm::hdr {r name} {
    set name [string tolower $name]
    if {[dict exists $r headers $name]} {
	return [dict get $r headers $name]
    }
    return -
}

# dm::leaks --
#
#	1 if DATA contains SECRET or the start of /etc/passwd.

proc dm::leaks {data secret} {
    return [expr {[string first $secret $data] >= 0
	    || [string first "root:x:0:0" $data] >= 0}]
}

# dm::httpdate --
#
#	The IMF-fixdate of a time in seconds, as in Last-Modified.

proc dm::httpdate {secs} {
    return [clock format $secs -format "%a, %d %b %Y %H:%M:%S GMT" -gmt 1]
}

# dm::spawn --
#
#	Starts a child process from the command list CMD, its stdout and
#	stderr collected line by line; returns the pipe channel.

proc dm::spawn {cmd {mode r}} {
    variable lines
    variable childeof
    set ch [open |[list {*}$cmd 2>@1] $mode]
    # A child on Windows ends its lines with CRLF.
    fconfigure $ch -blocking 0 -buffering line -translation {auto lf}
    set lines($ch) {}
    set childeof($ch) 0
    fileevent $ch readable [list ::dm::ChildReadable $ch]
    return $ch
}

# dm::ChildReadable --
#
#	The readable handler of a child process: collects its lines.

proc dm::ChildReadable {ch} {
    variable lines
    variable childeof
    while {[gets $ch line] >= 0} {
	lappend lines($ch) $line
    }
    if {[eof $ch]} {
	set childeof($ch) 1
	fileevent $ch readable {}
    }
}

# dm::waitline --
#
#	Waits up to MS milliseconds for a line of child CH matching the
#	regular expression RE; returns the line, or errors with what the
#	child printed.

proc dm::waitline {ch re {ms 10000}} {
    variable lines
    variable wantre
    set wantre($ch) $re
    dm::until "\[lsearch -regexp \$::dm::lines($ch) \$::dm::wantre($ch)\] >= 0
	    || \$::dm::childeof($ch)" $ms
    set i [lsearch -regexp $lines($ch) $re]
    if {$i < 0} {
	error "no line matching \"$re\" from the child; it printed:\
		[join $lines($ch) \n]"
    }
    return [lindex $lines($ch) $i]
}

# dm::scriptfile --
#
#	Writes a script for a child process into a scratch directory
#	that any user can read; returns its file name.  dm::cleanup removes
#	the directory.

proc dm::scriptfile {name content} {
    variable scriptdir
    if {![info exists scriptdir]} {
	set scriptdir [dm::tempdir]
    }
    return [dm::writefile [file join $scriptdir $name] $content]
}

# dm::cleanup --
#
#	Closes client connections and removes the directory of child scripts.

proc dm::cleanup {} {
    variable scriptdir
    dm::closeall
    if {[info exists scriptdir]} {
	dm::rmtree $scriptdir
	unset scriptdir
    }
}

# dm::sink --
#
#	Starts a child process that accepts one connection, writes all it
#	receives to the file OUTFILE until EOF, prints "done N" and exits.
#	Returns the child's channel and its port.  A peer in another process
#	cannot deadlock a blocking copy in this one.

proc dm::sink {outfile} {
    set script [dm::scriptfile sink.tcl {
	proc accept {s addr port} {
	    fconfigure $s -translation binary
	    set f [open [lindex $::argv 0] wb]
	    set n [fcopy $s $f]
	    close $f
	    close $s
	    puts "done $n"
	    flush stdout
	    exit 0
	}
	set l [socket -server accept -myaddr 127.0.0.1 0]
	puts "port [lindex [fconfigure $l -sockname] 2]"
	flush stdout
	vwait forever
    }]
    set ch [dm::spawn [list [info nameofexecutable] $script $outfile]]
    return [list $ch [lindex [dm::waitline $ch {^port [0-9]+$}] 1]]
}

# dm::sinkdone --
#
#	Waits for a sink child to report and returns the byte count it saw.

proc dm::sinkdone {ch {ms 20000}} {
    set n [lindex [dm::waitline $ch {^done [0-9]+$} $ms] 1]
    dm::stop $ch ""
    return $n
}

# dm::spawnserver --
#
#	Starts dustmote::serve with OPTIONS on 127.0.0.1 port 0 in a child
#	process, run through the command PREFIX (e.g. runuser ...) if not
#	empty, so that a server that blocks cannot hang the tests.  The child
#	answers a line "stats" on its stdin with a line "stats DICT" and
#	exits at the end of its stdin, so it ends with the test even when a
#	signal cannot reach it through PREFIX.  Returns the child's channel
#	and the server's port.

proc dm::spawnserver {prefix options} {
    set script [dm::scriptfile server.tcl {
	package require dustmote
	set s [dustmote::serve -port 0 -myaddr 127.0.0.1 {*}$argv]
	fileevent stdin readable {
	    if {[gets stdin line] >= 0} {
		puts "stats [$s stats]"
		flush stdout
	    } elseif {[eof stdin]} {
		exit 0
	    }
	}
	puts "port [$s cget -port]"
	flush stdout
	vwait forever
    }]
    set ch [dm::spawn [list {*}$prefix [info nameofexecutable] $script \
	    {*}$options] r+]
    return [list $ch [lindex [dm::waitline $ch {^port [0-9]+$}] 1]]
}

# dm::childstats --
#
#	The stats of a server started by dm::spawnserver in mode r+.

proc dm::childstats {ch} {
    set ::dm::lines($ch) {}
    puts $ch stats
    flush $ch
    return [lrange [dm::waitline $ch {^stats }] 1 end]
}

# dm::kill --
#
#	Sends SIGNAL to the processes PIDS.  Windows has no signals: there
#	any signal ends them at once (taskkill /F), so tests that need a
#	particular one are Unix's own.

proc dm::kill {signal pids} {
    if {$::tcl_platform(platform) eq "windows"} {
	foreach p $pids {
	    catch {exec taskkill /F /PID $p}
	}
    } else {
	catch {exec kill -$signal {*}$pids}
    }
}

# dm::stop --
#
#	Sends SIGNAL to child CH, waits for it to end (killing it after MS
#	milliseconds) and returns its exit status: a number, or the signal
#	name that killed it.

proc dm::stop {ch {signal TERM} {ms 5000}} {
    variable childeof
    variable lines
    set pids [pid $ch]
    catch {chan close $ch write}
    if {$signal ne ""} {
	dm::kill $signal $pids
    }
    if {![dm::until "\$::dm::childeof($ch)" $ms]} {
	dm::kill KILL $pids
	dm::until "\$::dm::childeof($ch)" 2000
    }
    fconfigure $ch -blocking 1
    set status 0
    if {[catch {close $ch} msg opts]} {
	set ec [dict get $opts -errorcode]
	switch -- [lindex $ec 0] {
	    CHILDSTATUS {set status [lindex $ec 2]}
	    CHILDKILLED {set status [lindex $ec 2]}
	    default {set status 0}
	}
    }
    unset -nocomplain lines($ch) childeof($ch)
    return $status
}
