# Stub Catapult HLS commands for running trigc's generated Catapult tcl under plain
# tclsh. Every call is appended to the file $env(TRIGC_STUB_LOG), one line per call:
# the command and its arguments separated by the unit separator \x1f.
set ::stub_log [open $::env(TRIGC_STUB_LOG) a]

proc stub_record {name args} {
    puts $::stub_log [join [concat [list $name] $args] "\x1f"]
    flush $::stub_log
}

foreach cmd {project options solution go directive flow logfile} {
    proc $cmd args [format {stub_record %s {*}$args} $cmd]
}

rename exit stub_real_exit
proc exit args { stub_record exit {*}$args }
