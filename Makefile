# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test clean graphviz

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU wheel of torch; the project itself accepts any torch 2.x (users have GPUs)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,examples]"
	# SPFlow, for the tests that compare pcc's SPFlow frontends with the real package; its own
	# requirements pin old releases, so it goes in without them (it needs only numpy/scipy/lark)
	$(BIN)/pip install -q --no-deps spflow==0.0.48 && $(BIN)/pip install -q "lark>=1.1"
	touch $@

# the demo's last step draws a picture with graphviz: prepared as for `make test`; where it
# cannot be installed, the demo writes the picture's DOT text instead and says so
run: $(BIN)/.installed graphviz
	$(BIN)/pcc demo

test: $(BIN)/.installed graphviz
	$(BIN)/python -m pytest

# `pcc viz` renders with graphviz's `dot` program: try to install it, and go on without it
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "graphviz 'dot' not found: trying apt-get install graphviz"; \
	  { apt-get update -qq && apt-get install -y -qq graphviz; } >/dev/null 2>&1 || \
	  { sudo -n apt-get update -qq && sudo -n apt-get install -y -qq graphviz; } >/dev/null 2>&1 || \
	  echo "could not install graphviz: pcc viz writes .dot only and its rendering tests are" \
	       "skipped; install it by hand (apt-get install graphviz, brew install graphviz)"; }

clean:
	rm -rf $(VENV) build *.egg-info
