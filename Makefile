# trigc developer entry points. Everything installs into .venv; nothing by hand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.trigc-installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

# Re-installs only when the dependency declaration changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

test: setup
	TF_USE_LEGACY_KERAS=1 $(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

DEMO_DIR := build/demo

demo: setup
	$(PY) models/demo/make_model.py $(DEMO_DIR)/jet_mlp_demo.onnx
	$(VENV)/bin/trigc inspect $(DEMO_DIR)/jet_mlp_demo.onnx
	$(VENV)/bin/trigc compile $(DEMO_DIR)/jet_mlp_demo.onnx -o $(DEMO_DIR)/jet_mlp_demo_prj
	$(VENV)/bin/trigc csim $(DEMO_DIR)/jet_mlp_demo_prj

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
