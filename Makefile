# Shangji: `make demo` starts the suite with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := teams leads opportunities samples notify erp_bridge
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test up down status venv node protos infra databases lint bench clean fuzz webassets browser

demo: venv protos infra databases webassets
	$(BIN)/python -m scripts.suite start
	$(BIN)/python -m scripts.demo

test: venv node protos infra webassets browser
	$(BIN)/python -m pytest

# The fuzz suite at length: 200 generated requests per unary RPC (over 21,000; make test runs 30 each).
fuzz: venv protos infra
	SHANGJI_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest tests/fuzz -s

up: venv protos infra databases webassets
	$(BIN)/python -m scripts.suite start

down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m scripts.suite stop; else echo "nothing running (no venv)"; fi

status:
	$(BIN)/python -m scripts.suite status

venv: $(STAMP)

# Re-install when any dependency list or the pins change.
$(STAMP): constraints.txt requirements-dev.txt kit/pyproject.toml $(foreach s,$(SERVICES) web,services/$(s)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip==25.3'
	$(BIN)/pip install -q -c constraints.txt 'setuptools<81' wheel
	$(BIN)/pip install -q -c constraints.txt -e kit $(foreach s,$(SERVICES),-e services/$(s)) -e services/web -r requirements-dev.txt
	# the reference ERP server for tests, the benchmark and the demo (not in the runtime image)
	$(BIN)/pip install -q -c constraints.txt -e 'services/erp_bridge[erp-server]'
	touch $@

# Node tools the tests use (package.json): the AsyncAPI parser.
node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# The web console's front-end packages (npm ci from its lock file), copied into its static folder.
WEB_VENDOR := services/web/web/static/vendor/echarts.min.js
webassets: $(WEB_VENDOR)

$(WEB_VENDOR): services/web/package-lock.json
	cd services/web && npm ci --no-audit --no-fund
	mkdir -p $(@D)
	cp services/web/node_modules/echarts/dist/echarts.min.js $@

# Debian's chromium for the console's browser tests.
browser:
	bash services/web/scripts/ensure_chromium.sh

protos: venv
	$(BIN)/python -m scripts.build_protos
	$(BIN)/python -m scripts.descriptors

infra: venv
	$(BIN)/python -m scripts.infra ensure

databases: venv protos infra
	$(BIN)/python -m scripts.infra databases

lint: venv protos
	$(BIN)/ruff check .
	$(BIN)/python -m scripts.build_protos --lint --breaking

bench: venv protos infra databases
	$(BIN)/python -m bench
	$(BIN)/python -m bench.chain
	$(BIN)/python -m bench.visibility
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.lead_import
	$(BIN)/python -m bench.erp_orders
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.notify_delivery
	$(BIN)/python -m bench.relay
	$(BIN)/python -m bench.consumer
	$(BIN)/python -m bench.statements
	$(BIN)/python -m bench.export

clean: down
	rm -rf $(VENV) node_modules protos/gen build .run
