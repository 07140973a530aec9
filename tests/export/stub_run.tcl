# tclsh stub_run.tcl SCRIPT [ARGS...]: source SCRIPT with the stub Vitis HLS commands
# (or $env(TRIGC_STUB_TOOL): stub_<tool>.tcl, e.g. catapult),
# ARGS as its $argv (as `vitis_hls -f SCRIPT ARGS` passes them). Exits with
# $env(TRIGC_STUB_EXIT) (default 0).
set stub_tool [expr {[info exists ::env(TRIGC_STUB_TOOL)] ? $::env(TRIGC_STUB_TOOL) : "vitis"}]
source [file join [file dirname [info script]] stub_$stub_tool.tcl]
set script [lindex $argv 0]
set ::argv [lrange $argv 1 end]
set ::argc [llength $::argv]
source $script
close $::stub_log
stub_real_exit [expr {[info exists ::env(TRIGC_STUB_EXIT)] ? $::env(TRIGC_STUB_EXIT) : 0}]
