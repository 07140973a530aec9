# tclsh stub_vivado.tcl SCRIPT: source SCRIPT (trigc's package_ip.tcl) with stub Vivado
# and IP packager (ipx::) commands. Every call is appended to $env(TRIGC_STUB_LOG), one
# line per call: the command and its arguments separated by the unit separator \x1f.
# With $env(TRIGC_STUB_IP) set, ipx::save_core writes <root_dir>/component.xml and
# ipx::archive_core writes the archive, as Vivado does. Exits with $env(TRIGC_STUB_EXIT)
# (default 0).
set ::stub_log [open $::env(TRIGC_STUB_LOG) a]
set ::stub_root ""
array set ::stub_busif {}

proc stub_record {name args} {
    puts $::stub_log [join [concat [list $name] $args] "\x1f"]
    flush $::stub_log
}

proc stub_write {path} {
    if {![info exists ::env(TRIGC_STUB_IP)]} { return }
    file mkdir [file dirname $path]
    set f [open $path w]
    puts $f "stub [file tail $path]"
    close $f
}

foreach cmd {create_project set_part read_verilog read_xdc set_property} {
    proc $cmd args [format {stub_record %s {*}$args} $cmd]
}
proc current_fileset args { stub_record current_fileset {*}$args; return sources_1 }

namespace eval ipx {}
foreach cmd {unload_core create_xgui_files update_checksums check_integrity} {
    proc ipx::$cmd args [format {stub_record ipx::%s {*}$args} $cmd]
}
proc ipx::package_project args {
    stub_record ipx::package_project {*}$args
    set ::stub_root [lindex $args [expr {[lsearch -exact $args -root_dir] + 1}]]
}
proc ipx::open_core args { stub_record ipx::open_core {*}$args; return core }
proc ipx::save_core args {
    stub_record ipx::save_core {*}$args
    stub_write [file join $::stub_root component.xml]
}
proc ipx::archive_core args {
    stub_record ipx::archive_core {*}$args
    stub_write [lindex $args 0]
}
# Bus interfaces exist once inferred (the packager infers none in the stub).
proc ipx::get_bus_interfaces args {
    stub_record ipx::get_bus_interfaces {*}$args
    set name [lindex [lsearch -all -inline -not -glob $args -*] 0]
    if {[info exists ::stub_busif($name)]} { return "busif:$name" }
    if {"-quiet" in $args} { return "" }
    error "no bus interface $name"
}
proc ipx::infer_bus_interface args {
    stub_record ipx::infer_bus_interface {*}$args
    set ::stub_busif([lindex $args 0]) 1
}
proc ipx::get_bus_parameters args { stub_record ipx::get_bus_parameters {*}$args; return "" }
proc ipx::add_bus_parameter {name busif} {
    stub_record ipx::add_bus_parameter $name $busif
    return "param:$busif:$name"
}

set script [lindex $argv 0]
set ::argv [lrange $argv 1 end]
set ::argc [llength $::argv]
source $script
close $::stub_log
exit [expr {[info exists ::env(TRIGC_STUB_EXIT)] ? $::env(TRIGC_STUB_EXIT) : 0}]
