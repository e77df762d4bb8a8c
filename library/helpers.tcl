# helpers.tcl --
#
#	Helpers for applications and their handlers: the URL of a server,
#	a redirect of plain HTTP to HTTPS, form data of a request, a
#	password check for a folder, and add-handler, the route form of
#	Tclssg's DustMote.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

# dustmote::url --
#
#	The address a server can be reached at, as a URL.
#
# Arguments:
#	server	A handle returned by dustmote::serve.
#
# Results:
#	"http://ADDR:PORT/" ("https" with -tls); a wildcard address is shown
#	as 127.0.0.1, which is where a local browser finds it (the
#	all-addresses socket takes IPv4 too).

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
    set scheme [expr {[$server cget -tls] eq "" ? "http" : "https"}]
    return "$scheme://$addr:[$server cget -port]/"
}

# dustmote::tohttps --
#
#	Makes a plain server send every request to HTTPS: GET and HEAD get
#	301, other methods 308 (which keeps the method and body), to the
#	same host and target on PORT (443 is left out of the URL).
#
# Arguments:
#	server	A handle returned by dustmote::serve, usually on port 80.
#	port	The HTTPS server's port.
#
# Results:
#	None; the route "/*" of the server answers from now on.

proc ::dustmote::tohttps {server {port 443}} {
    if {![string is integer -strict $port] || $port < 1 || $port > 65535} {
	return -code error -errorcode [list DUSTMOTE VALUE port] \
		"bad port \"$port\": must be an integer from 1 to 65535"
    }
    $server route /* [list ::dustmote::ToHttps $server $port]
}

proc ::dustmote::ToHttps {server port request} {
    set host [dict get $request host]
    if {$host eq ""} {
	# HTTP/1.0 without Host: the address the server is reached at.
	regexp {^https?://(.*):[0-9]+/$} [url $server] -> host
    }
    if {$port != 443} {
	append host :$port
    }
    set target [dict get $request target]
    # Of an absolute-form target, the path and query (its host is $host).
    if {[regexp {^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(.*)$} $target -> rest]} {
	set target [expr {[string index $rest 0] eq "/" ? $rest : "/$rest"}]
    }
    set status [expr {[dict get $request method] in {GET HEAD} ? 301 : 308}]
    list status $status headers [list Location https://$host$target]
}

# dustmote::formdata --
#
#	The fields of a form a request posted: an
#	application/x-www-form-urlencoded or a multipart/form-data body,
#	held in memory or spooled to its bodyfile.
#
# Arguments:
#	request	The request dict a handler or filter was given.
#
# Results:
#	A list of names and values, in the order sent, repeated names kept
#	(use "dict get" when names are unique).  An uploaded file's value is
#	a dict: filename (as the client named it: never a path to trust),
#	type, file (a temporary file holding the data, removed when the
#	reply to the request is done: move or copy it to keep it) and size.
#	An empty request without a Content-Type has no fields.  Errors:
#	DUSTMOTE FORM TYPE when the body is not form data, DUSTMOTE FORM
#	MALFORMED, DUSTMOTE FORM IO.

proc ::dustmote::formdata {request} {
    set type ""
    foreach {name value} [Field $request headers] {
	if {$name eq "content-type"} {
	    set type $value
	    break
	}
    }
    set body [Field $request body]
    set bodyfile [Field $request bodyfile]
    if {$type eq "" && $bodyfile eq "" && [string length $body] == 0} {
	return {}
    }
    Formparts $type $body $bodyfile [Field $request id]
}

# dustmote::Field --
#
#	A key of a request dict, or empty if it has none.

proc ::dustmote::Field {request key} {
    if {[dict exists $request $key]} {
	return [dict get $request $key]
    }
    return ""
}

# dustmote::basicauth --
#
#	Makes a before-filter that lets a request go on only with the user
#	name and password of one of users (HTTP Basic authentication, RFC
#	7617), and else answers 401 with a challenge for realm.  Use it over
#	HTTPS or on a trusted network: Basic sends the password in clear.
#
# Arguments:
#	realm	Shown by the browser when it asks for a password.
#	users	A dict of user names and their passwords.
#
# Results:
#	A command prefix for "$server filter before PATTERN COMMAND".

proc ::dustmote::basicauth {realm users} {
    if {[regexp {[\x00-\x1f\x7f"\\]} $realm]} {
	return -code error -errorcode {DUSTMOTE VALUE realm}\
		"bad realm \"$realm\": must not hold quotes, backslashes or\
		control characters"
    }
    if {[catch {dict size $users}]} {
	return -code error -errorcode {DUSTMOTE VALUE users}\
		"bad users \"$users\": must be a dict of names and passwords"
    }
    return [list ::dustmote::BasicAuth $realm $users]
}

# dustmote::BasicAuth --
#
#	The filter basicauth makes.
#
# Arguments:
#	realm, users	As given to basicauth.
#	request		The request dict.
#
# Results:
#	Nothing when the credentials are right, else a 401 response.

proc ::dustmote::BasicAuth {realm users request} {
    foreach {name value} [Field $request headers] {
	if {$name ne "authorization"} {
	    continue
	}
	if {[regexp -nocase {^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$} $value\
		-> encoded]
		&& ![catch {encoding convertfrom utf-8\
		    [binary decode base64 -strict $encoded]} pair]
		&& [set colon [string first : $pair]] >= 0} {
	    set user [string range $pair 0 [expr {$colon - 1}]]
	    set password [string range $pair [expr {$colon + 1}] end]
	    # An unknown user costs the same comparison as a known one.
	    set known [dict exists $users $user]
	    set expected [expr {$known ? [dict get $users $user] : "\0$password"}]
	    if {[SameText $password $expected] && $known} {
		return
	    }
	}
	break
    }
    # Header values go out a character a byte: the realm as UTF-8 bytes.
    set realm [encoding convertto utf-8 $realm]
    return [dict create status 401 headers [list WWW-Authenticate\
	    "Basic realm=\"$realm\", charset=\"UTF-8\"" Content-Type\
	    "text/plain; charset=utf-8"] body "Authorization required.\n"]
}

# dustmote::SameText --
#
#	Compares a given secret with the expected one in a time that
#	depends on the given one's length only, so a client cannot learn
#	the expected one byte by byte from how long a refusal takes.
#
# Results:
#	1 if they are equal, else 0.

proc ::dustmote::SameText {given expected} {
    binary scan [encoding convertto utf-8 $given] cu* g
    binary scan [encoding convertto utf-8 $expected] cu* e
    set n [llength $e]
    set diff [expr {[llength $g] != $n}]
    if {$n == 0} {
	set e 0
	set n 1
    }
    set i 0
    foreach c $g {
	set diff [expr {$diff | ($c ^ [lindex $e [expr {$i % $n}]])}]
	incr i
    }
    return [expr {$diff == 0}]
}

# dustmote::add-handler --
#
#	Tclssg's DustMote handler, as a route: a request for path (exactly)
#	runs lambda, an [apply] function of one argument, with the
#	connection as a channel positioned after the request head.  The
#	handler writes the whole reply and closes the channel.
#
# Arguments:
#	server	A server handle.
#	path	The path, such as /bye.
#	lambda	{socketChannel {body}}.
#
# Results:
#	None.

proc ::dustmote::add-handler {server path lambda} {
    LiteralPath $path path

    if {[catch {llength $lambda} n] || $n < 2 || $n > 3
	    || [llength [lindex $lambda 0]] != 1} {
	return -code error -errorcode {DUSTMOTE VALUE lambda}\
		"bad handler \"$lambda\": must be {channel body} as for apply"
    }
    $server route -takeover 1 $path [list ::dustmote::RunLambda $lambda]
}

# dustmote::LiteralPath --
#
#	Checks a handler's path, which is matched exactly: it must start
#	with / and hold none of the characters that make a route pattern
#	(* { }), which would match other paths too.
#
# Arguments:
#	path	The path.
#	what	Its name in the error (path, route).
#
# Results:
#	None; an error with -errorcode {DUSTMOTE VALUE what}.

proc ::dustmote::LiteralPath {path what} {
    if {[string index $path 0] ne "/" || [regexp {[*{}]} $path]} {
	return -code error -errorcode [list DUSTMOTE VALUE $what]\
		"bad $what \"$path\": must start with / and hold no * { or }"
    }
}

# dustmote::RunLambda --
#
#	The route add-handler makes: calls the handler with the channel.

proc ::dustmote::RunLambda {lambda channel request} {
    apply $lambda $channel
}
