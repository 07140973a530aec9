"""C++ kernel headers (kernels/) and Jinja2 glue templates (glue/) of the HLS backend.

A Python package only so that ``pip install`` ships these files with trigc."""
