set root [file join [file dirname [file normalize [info script]]] site]
set default "index.html"
set port 80

# DustMote, on dustmote.
#
# A drop-in replacement for Harold Kaplan's one-page DustMote server: the
# three lines above mean what they meant in the original ("root" is the
# folder served, "default" the file served for a folder, "port" the TCP
# port; port 80 needs root privileges, as it always did).  It serves the
# same files, now over a correct HTTP/1.1 with keep-alive, MIME types and
# lengths, and safe against paths outside the root.  Background errors are
# reported on stdout, as in the original.
#
# For a quick try, "tclsh DustMote.tcl ?ROOT? PORT" overrides the port, and
# the root if given.

switch -- [llength $argv] {
    0 {}
    1 {set port [lindex $argv 0]}
    2 {lassign $argv root port}
    default {
	puts stderr "usage: tclsh DustMote.tcl ??ROOT? PORT?"
	exit 2
    }
}

package require dustmote

proc bgerror {trouble} {puts stdout "bgerror: $trouble"}

# The original served every file below root, dot files too.
set server [dustmote::serve -root $root -default $default -port $port \
	-dotfiles allow]
puts stdout "dustmote: serving $root on [dustmote::url $server]"
flush stdout

vwait forever
