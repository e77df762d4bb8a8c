# route.tcl --
#
#	Routes and filters of a server handle: "$server route" and
#	"$server filter".  The table and its policy (which route is the most
#	specific, the order filters run in) are kept here; the C side gets
#	the sorted table through dustmote::Pipeline and does the matching.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

namespace eval ::dustmote {
    # The routes and filters of each server handle.  Each route or
    # filter is a dict with the keys pattern, methods (empty: all),
    # takeover, command and seq (the order it was added in); filters also
    # have when (before or after).
    variable Routes		;# server -> list of routes
    variable Filters		;# server -> list of filters
    variable Seq 0
}

# dustmote::Route --
#
#	Implements "$server route": with no arguments, lists the routes in
#	the order they are tried; "?-method LIST? ?-takeover BOOL? PATTERN
#	COMMAND" adds one (or replaces the one with the same pattern and
#	methods); "-delete ?-method LIST? PATTERN" removes the routes with
#	that pattern (and those methods).
#
# Arguments:
#	server	The server's handle.
#	args	As above.
#
# Results:
#	The list of routes, or nothing.

proc ::dustmote::Route {server args} {
    variable Routes
    variable Seq
    set routes [Rules Routes $server]
    if {[llength $args] == 0} {
	return [lmap r [SortRoutes $routes] {RouteSpec $r}]
    }
    lassign [RuleOptions route $args {-method -takeover -delete}] \
	    opts pattern command
    if {[dict exists $opts -delete]} {
	if {$command ne "" || [dict exists $opts -takeover]} {
	    RuleUsage route
	}
	set kept [lmap r $routes {
	    if {[dict get $r pattern] eq $pattern && (![dict exists $opts\
		    -method] || [dict get $r methods] eq [dict get $opts -method])} {
		continue
	    }
	    set r
	}]
	if {[llength $kept] == [llength $routes]} {
	    return -code error -errorcode {DUSTMOTE ROUTE NOTFOUND}\
		    "no route \"$pattern\"[MethodsText $opts] to delete"
	}
	Install $server $kept
	return
    }
    if {$command eq ""} {
	RuleUsage route
    }
    set methods [Field $opts -method]
    set takeover 0
    if {[dict exists $opts -takeover]} {
	set takeover [dict get $opts -takeover]
	if {![string is boolean -strict $takeover]} {
	    return -code error -errorcode {DUSTMOTE VALUE -takeover}\
		    "bad value \"$takeover\" for -takeover: must be a boolean"
	}
	set takeover [expr {!!$takeover}]
    }
    # The same pattern with the same methods replaces the route.
    set routes [lmap r $routes {
	if {[dict get $r pattern] eq $pattern
		&& [dict get $r methods] eq $methods} {
	    continue
	}
	set r
    }]
    lappend routes [dict create pattern $pattern methods $methods\
	    takeover $takeover command $command seq [incr Seq]]
    Install $server $routes
    return
}

# dustmote::Filter --
#
#	Implements "$server filter": with no arguments, lists the filters
#	in the order they run; "before|after ?-method LIST? PATTERN COMMAND"
#	adds one; "-delete before|after PATTERN ?COMMAND?" removes those
#	with that pattern (and command).
#
# Arguments:
#	server	The server's handle.
#	args	As above.
#
# Results:
#	The list of filters, or nothing.

proc ::dustmote::Filter {server args} {
    variable Filters
    variable Seq
    set filters [Rules Filters $server]
    if {[llength $args] == 0} {
	return [lmap f $filters {
	    list [dict get $f when] {*}[RouteSpec $f]
	}]
    }
    set delete [expr {[lindex $args 0] eq "-delete"}]
    set when [lindex $args $delete]
    if {$when ni {before after}} {
	return -code error -errorcode {DUSTMOTE FILTER WHEN}\
		"bad filter kind \"$when\": must be before or after"
    }
    lassign [RuleOptions filter [lrange $args [expr {$delete + 1}] end]\
	    {-method}] opts pattern command
    if {$delete} {
	set kept [lmap f $filters {
	    if {[dict get $f when] eq $when
		    && [dict get $f pattern] eq $pattern
		    && ($command eq "" || [dict get $f command] eq $command)
		    && (![dict exists $opts -method]
			|| [dict get $f methods] eq [dict get $opts -method])} {
		continue
	    }
	    set f
	}]
	if {[llength $kept] == [llength $filters]} {
	    return -code error -errorcode {DUSTMOTE FILTER NOTFOUND}\
		    "no $when filter \"$pattern\" to delete"
	}
	set filters $kept
    } else {
	if {$command eq ""} {
	    RuleUsage filter
	}
	lappend filters [dict create when $when pattern $pattern\
		methods [Field $opts -method] takeover 0\
		command $command seq [incr Seq]]
    }
    set routes [Rules Routes $server]
    Install $server $routes $filters
    return
}

# dustmote::RuleOptions --
#
#	Parses "?-option value ...? PATTERN ?COMMAND?" for route and filter:
#	-delete takes no value; -method takes a list of method names.
#
# Arguments:
#	what	"route" or "filter", for messages.
#	words	The words to parse.
#	allowed	The options allowed.
#
# Results:
#	A list: a dict of the options given, the pattern, the command.

proc ::dustmote::RuleOptions {what words allowed} {
    set opts {}
    while {[string match -* [lindex $words 0]]} {
	set words [lassign $words option]
	if {$option ni $allowed} {
	    return -code error -errorcode [list DUSTMOTE OPTION $option]\
		    "bad option \"$option\": must be [join $allowed {, }]"
	}
	if {$option eq "-delete"} {
	    dict set opts -delete 1
	    continue
	}
	if {[llength $words] == 0} {
	    return -code error -errorcode {DUSTMOTE VALUE MISSING}\
		    "value for \"$option\" missing"
	}
	set words [lassign $words value]
	if {$option eq "-method"} {
	    if {[catch {llength $value} n] || $n == 0} {
		return -code error -errorcode {DUSTMOTE VALUE -method}\
			"bad value \"$value\" for -method: must be a list\
			of method names"
	    }
	    foreach m $value {
		if {![regexp {^[!#$%&'*+.^_`|~0-9A-Za-z-]+$} $m]} {
		    return -code error -errorcode {DUSTMOTE VALUE -method}\
			    "bad method \"$m\": must be a token such as GET"
		}
	    }
	    set value [lsort -unique $value]
	}
	dict set opts $option $value
    }
    if {[llength $words] < 1 || [llength $words] > 2} {
	RuleUsage $what
    }
    lassign $words pattern command
    return [list $opts $pattern $command]
}

proc ::dustmote::RuleUsage {what} {
    if {$what eq "route"} {
	set usage "server route ?-method list? ?-takeover boolean? pattern\
		command\", \"server route -delete ?-method list? pattern\",\
		or \"server route"
    } else {
	set usage "server filter before|after ?-method list? pattern\
		command\", \"server filter -delete before|after pattern\
		?command?\", or \"server filter"
    }
    return -code error -errorcode {TCL WRONGARGS} \
	    "wrong # args: should be \"$usage\""
}

proc ::dustmote::MethodsText {opts} {
    if {[dict exists $opts -method]} {
	return " for [join [dict get $opts -method] {, }]"
    }
    return ""
}

# dustmote::RouteSpec --
#
#	How a route or filter is listed: the arguments that would add it.

proc ::dustmote::RouteSpec {r} {
    set spec {}
    if {[llength [dict get $r methods]]} {
	lappend spec -method [dict get $r methods]
    }
    if {[dict get $r takeover]} {
	lappend spec -takeover 1
    }
    return [list {*}$spec [dict get $r pattern] [dict get $r command]]
}

# dustmote::SortRoutes --
#
#	The order routes are tried in: the most specific pattern first.
#	Patterns are compared segment by segment from the left: a literal
#	segment is more specific than a {name} part, which is more specific
#	than a final "*"; where one pattern is the other's beginning, the
#	longer one is more specific, unless it only adds a final "*" ("/a"
#	before "/a/*", which also takes /a).  At equal specificity, a route that
#	names its methods comes before one that takes all, then the one
#	added first.

proc ::dustmote::SortRoutes {routes} {
    return [lsort -command ::dustmote::CompareRoutes $routes]
}

proc ::dustmote::CompareRoutes {a b} {
    set ka [Specificity [dict get $a pattern]]
    set kb [Specificity [dict get $b pattern]]
    foreach x $ka y $kb {
	if {$x != $y} {
	    return [expr {$x > $y ? -1 : 1}]
	}
    }
    set ma [expr {[llength [dict get $a methods]] > 0}]
    set mb [expr {[llength [dict get $b methods]] > 0}]
    if {$ma != $mb} {
	return [expr {$ma ? -1 : 1}]
    }
    return [expr {[dict get $a seq] < [dict get $b seq] ? -1 : 1}]
}

proc ::dustmote::Specificity {pattern} {
    # A literal segment 2, a {name} 1, "*" 0; the end of the pattern
    # 0.5: a pattern that goes on comes first, unless with "*" only.
    set key [lmap seg [lrange [split $pattern /] 1 end] {
	expr {$seg eq "*" ? 0 : [regexp {^\{[A-Za-z_][A-Za-z0-9_]*\}$} $seg]
		? 1 : 2}
    }]
    return [lappend key 0.5]
}

# dustmote::Install --
#
#	Hands a server's routes (and filters) to the C side and, once it
#	accepted them, keeps them.  The tables go with the server's handle.
#
# Arguments:
#	server	The handle.
#	routes	The routes.
#	filters	The filters (default: those kept).

proc ::dustmote::Install {server routes {filters ""}} {
    variable Routes
    variable Filters
    if {[llength [info level 0]] < 4} {
	set filters [Rules Filters $server]
    }
    set compiled {}
    foreach r [SortRoutes $routes] {
	lappend compiled [list [dict get $r pattern] [dict get $r methods]\
		[dict get $r takeover] [dict get $r command]]
    }
    set before {}
    set after {}
    foreach f $filters {
	lappend [dict get $f when] [list [dict get $f pattern]\
		[dict get $f methods] 0 [dict get $f command]]
    }
    Pipeline $server $compiled $before $after
    if {![info exists Routes($server)] && ![info exists Filters($server)]} {
	trace add command $server delete [list ::dustmote::Forget $server]
    }
    set Routes($server) $routes
    set Filters($server) $filters
}

# dustmote::Rules --
#
#	The routes or filters (table is Routes or Filters) of a server.  Not
#	an [expr] choice: that would give a route's command a string form,
#	and a byte array in it would then be sent as UTF-8.

proc ::dustmote::Rules {table server} {
    variable $table
    if {[info exists ${table}($server)]} {
	return [set ${table}($server)]
    }
    return {}
}

proc ::dustmote::Forget {server args} {
    variable Routes
    variable Filters
    unset -nocomplain Routes($server) Filters($server)
}
