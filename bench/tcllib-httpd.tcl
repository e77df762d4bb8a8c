# tcllib-httpd.tcl --
#
#	tcllib's httpd serving a directory, for bench/bench.sh's comparison:
#	    tclsh tcllib-httpd.tcl ROOT PORT
#	It listens on 127.0.0.1 and serves the files of ROOT as its
#	document root, as configured out of the box.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

package require httpd
lassign $argv root port
::httpd::server create HTTPD port $port myaddr 127.0.0.1 doc_root $root
vwait forever
