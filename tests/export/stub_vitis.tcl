# Stub Vitis HLS commands for running trigc's generated tcl under plain tclsh.
# Every call is appended to the file $env(TRIGC_STUB_LOG), one line per call: the
# command and its arguments separated by the unit separator \x1f.
# export_design writes a dummy IP archive when $env(TRIGC_STUB_ZIP) is "output" (to
# its -output path) or "impl" (to <project>/solution1/impl/ip/export.zip, as tools
# that ignore -output do).
set ::stub_log [open $::env(TRIGC_STUB_LOG) a]
set ::stub_project ""

proc stub_record {name args} {
    puts $::stub_log [join [concat [list $name] $args] "\x1f"]
    flush $::stub_log
}

foreach cmd {set_top add_files open_solution set_part create_clock config_interface
             csim_design csynth_design cosim_design} {
    proc $cmd args [format {stub_record %s {*}$args} $cmd]
}

proc open_project args {
    stub_record open_project {*}$args
    set ::stub_project [lindex $args end]
}

proc export_design args {
    stub_record export_design {*}$args
    if {![info exists ::env(TRIGC_STUB_ZIP)]} { return }
    if {$::env(TRIGC_STUB_ZIP) eq "output"} {
        set path [lindex $args [expr {[lsearch -exact $args -output] + 1}]]
    } else {
        set path [file join $::stub_project solution1 impl ip export.zip]
    }
    file mkdir [file dirname $path]
    set f [open $path w]
    puts $f "stub IP archive"
    close $f
}

rename exit stub_real_exit
proc exit args { stub_record exit {*}$args }
