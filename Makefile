# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU wheel of torch; the project itself accepts any torch 2.x (users have GPUs)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,examples]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/pcc demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
