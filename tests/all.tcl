# all.tcl --
#
#	Runs every tests/*.test file, each in a child tclsh, and exits with
#	status 1 if a test failed or a test file did not run cleanly (an
#	error, a crash, output on stderr).  tcltest reports these but leaves
#	the exit status at 0, which would hide them from make and CI.
#
#	Usage: tclsh all.tcl ?tcltest options?    e.g. -file http.test
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

package require tcltest 2.5

tcltest::configure {*}$argv \
    -testdir [file dirname [file normalize [info script]]]

# runAllTests returns 1 when any child reported a failed test or ended
# with an error.
if {[tcltest::runAllTests]} {
    exit 1
}
exit 0
