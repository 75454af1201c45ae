# Two commands run the study and its tests on a fresh Debian / Python 3.11 machine:
#   make repro   set up .venv from the lock file, then run the whole pipeline (dvc repro)
#   make test    set up .venv from the lock file, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: repro test setup lock clean-venv

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

# Re-resolve the pins after changing pyproject.toml's dependencies.
lock:
	$(BIN)/python -m pip freeze --all --exclude-editable --exclude pcnstudy --exclude pip > requirements.lock

clean-venv:
	rm -rf $(VENV)
