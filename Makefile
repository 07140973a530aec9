# trigc developer entry points. Everything installs into .venv; nothing by hand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.trigc-installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

# Re-installs only when the dependency declaration changes.
$(STAMP): pyproject.toml
	command -v tclsh >/dev/null || (apt-get update && apt-get install -y tcl)
	command -v verilator >/dev/null && command -v yosys >/dev/null && command -v iverilog >/dev/null || (apt-get update && apt-get install -y verilator yosys iverilog)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(REPAIR_QKERAS)
	touch $@

# hgq2 0.2.0's wheel carries a qkeras/ package of its own (quantizers/, qlayers/,
# initializers/) that overwrites QKeras 0.9.0's files and shadows its modules: remove
# those folders and reinstall QKeras' own files (no dependency changes).
REPAIR_QKERAS = $(PY) -c "import pathlib, shutil, sysconfig; q = pathlib.Path(sysconfig.get_paths()['purelib'], 'qkeras'); [shutil.rmtree(q / d) for d in ('quantizers', 'qlayers', 'initializers') if (q / d).is_dir()]" && $(PY) -m pip install -q --force-reinstall --no-deps 'qkeras==0.9.0'

test: setup
	TF_USE_LEGACY_KERAS=1 $(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

REFERENCE_MODELS := jet_tagger_qkeras jet_tagger_brevitas conv_tagger anomaly_ae

# The README's first command: the reference QKeras jet tagger to firmware, the g++
# C-sim against the emulator, and the latency/resource report.
demo: setup
	$(VENV)/bin/trigc compile models/jet_tagger_qkeras/jet_tagger_qkeras.onnx -o fpga_projects/jet_tagger_qkeras
	$(VENV)/bin/trigc csim fpga_projects/jet_tagger_qkeras

# Regenerate the committed firmware projects (tests/golden diffs them in CI). --overwrite:
# only trigc's files are replaced; a stray file is kept, and the golden diff shows it.
fpga_projects: setup
	for m in $(REFERENCE_MODELS); do \
	  $(VENV)/bin/trigc compile models/$$m/$$m.onnx -o fpga_projects/$$m --overwrite > /dev/null || exit 1; \
	done

.PHONY: fpga_projects

# trigc vs hls4ml, side by side (about 10 minutes): bench/RESULTS.md, results.json, scaling.png
bench: setup
	$(PY) -m pip install -q -e '.[test,bench]'
	$(REPAIR_QKERAS)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
