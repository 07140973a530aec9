"""C-simulation: g++ builds of generated C++ against the real ap_fixed.h."""
