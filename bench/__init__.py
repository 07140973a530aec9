"""trigc vs hls4ml benchmarks (``make bench``); see bench/run.py."""
