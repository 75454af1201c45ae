# Two commands run the study and its tests on a fresh Debian / Python 3.11 machine:
#   make repro   set up .venv from the lock file, then run the whole pipeline (dvc repro)
#   make test    set up .venv from the lock file, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: repro test setup lock clean-venv lab

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

repro: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# JupyterLab in the project's environment, rooted at the project: open notebooks/ and
# run a stage notebook by hand (README, "Contributing"). Its python3 kernel is the venv's
# python, which has pcnstudy installed. Opens a browser; LAB_ARGS=--no-browser does not.
# Jupyter refuses to run as root unless told: in a root container, it is told.
LAB_ARGS ?=
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" PCNSTUDY_ROOT="$(CURDIR)" $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(LAB_ROOT) $(LAB_ARGS)

# Re-resolve the pins after changing pyproject.toml's dependencies.
lock:
	$(BIN)/python -m pip freeze --all --exclude-editable --exclude pcnstudy --exclude pip > requirements.lock

clean-venv:
	rm -rf $(VENV)
