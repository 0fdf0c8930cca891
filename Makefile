# The two commands of the README quick start: `make lab` and `make test`.
# Each sets up a virtual environment in .venv with what it needs, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUICKSTART := notebooks/00_quickstart.ipynb
CHROMIUM := /usr/bin/chromium

# JupyterLab as `make lab` runs it: on 127.0.0.1 only, nothing fetched from the internet (no news,
# no update check, no PyPI extension listing), --allow-root only when run as root.
LAB_FLAGS := --ip=127.0.0.1 \
	--LabApp.news_url=None \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	--LabApp.extension_manager=readonly \
	$(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test browser node bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

lab: $(BIN)/python node
	$(BIN)/pip install --quiet -e .
	@# default_url makes the printed URL (with its token) open the quickstart itself
	HF_HUB_OFFLINE=1 $(BIN)/jupyter lab $(QUICKSTART) $(LAB_FLAGS) --LabApp.default_url=/lab/tree/$(notdir $(QUICKSTART))

test: $(BIN)/python browser node
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m pytest --durations=30

# Debian's chromium for the browser tests (tests/browser); playwright never downloads a browser.
# Without root or sudo the browser tests skip, naming the missing browser.
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "WARNING: $(CHROMIUM) is missing and apt-get is not available: the browser tests will skip." >&2; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "WARNING: $(CHROMIUM) is missing and there is no root or sudo to run" \
	  "'apt-get install chromium': the browser tests will skip." >&2; exit 0; fi; \
	echo "Installing Debian's chromium for the browser tests ($${SUDO:-as root}) ..."; \
	if ! { $$SUDO apt-get update -qq && \
	       $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then \
	  echo "WARNING: 'apt-get install chromium' failed: the browser tests will skip." >&2; fi

# node >= 18 builds the JupyterLab extension (labextension/) during `pip install`; Debian's nodejs
# is installed when missing and root or sudo is there, else the install stops here saying so.
node:
	@if command -v node >/dev/null; then exit 0; fi; \
	if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "Installing Debian's nodejs to build the JupyterLab extension ($${SUDO:-as root}) ..."; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null && exit 0; \
	fi; \
	echo "ERROR: node (>= 18) is needed to build the JupyterLab extension in labextension/:" \
	  "install Node.js (e.g. 'apt-get install nodejs') and run make again." >&2; exit 1

bench: $(BIN)/python node
	$(BIN)/pip install --quiet -e .
	$(BIN)/python benchmarks/bench_epoch.py
	$(BIN)/python benchmarks/bench_devnet.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache tests/artifacts \
	  tao_lab/labextension labextension/node_modules labextension/lib labextension/tsconfig.tsbuildinfo
