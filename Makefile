# Crashline: the entry points people type. `make help` lists them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := libs/common services/collector services/processor services/webapp services/crontabber
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
PYTEST_ARGS ?=

export CRASHLINE_LOCAL_DIR ?= $(CURDIR)/.local

.PHONY: help install venv stack run stop status test test-reliability test-hostile lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: $(PYPROJECTS) requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(addprefix -e ,$(PACKAGES)) -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed ## create .venv with every package (editable) and the dev tools

install: venv ## install everything (Debian packages, the search engine, minidump-stackwalk, Python)
	deploy/local/install.sh

stack: install ## start PostgreSQL, RabbitMQ, the search engine and the S3 endpoint on loopback
	deploy/local/stack.sh start
	source deploy/local/env.sh && $(BIN)/crashline migrate

run: stack ## start the whole pipeline locally and print where to send and browse crashes
	deploy/local/app.sh start
	@echo
	@echo "Crashline is running."
	@echo "  send crashes to    http://127.0.0.1:8000/submit   ($(BIN)/crashline submit --dump FILE.dmp)"
	@echo "  triage crashes at  http://127.0.0.1:8080/   (API at /api/, described at /api/openapi.json)"
	@echo "  upload symbols     $(BIN)/crashline upload-symbols DIR|ZIP --token KEY"
	@echo "                     (a token with upload_symbols; or drop .sym files in $(CRASHLINE_LOCAL_DIR)/data/symbols/)"
	@echo "  logs in $(CRASHLINE_LOCAL_DIR)/log/; stop everything with: make stop"

stop: ## stop every process `make run` started (and nothing else)
	-deploy/local/app.sh stop
	deploy/local/stack.sh stop

status: ## show what is running
	-deploy/local/stack.sh status
	-deploy/local/app.sh status

# The search contract suite also runs on the engines the stack does not use (the other
# product, the other Elasticsearch major): contract-engines starts them. The deploy tests
# need Docker Compose v2, Helm and kubeconform, built once from the Go module proxy.
test: stack ## install what the tests need, start the stack, run every test
	deploy/local/install.sh deploy-tools
	deploy/local/stack.sh start contract-engines
	source deploy/local/env.sh && CRASHLINE_TEST_SEARCH_ENGINES="$$(contract_search_engines)" \
		$(BIN)/pytest $(PYTEST_ARGS)

# The fault matrix at full size. It starts backends of its own (tests/reliability/backends.py:
# its own folder and ports) and breaks them, never the stack's: it needs the installs only.
test-reliability: install ## the fault matrix at full size: 10,000 crashes while backends fail
	CRASHLINE_RELIABILITY_CRASHES=10000 CRASHLINE_RELIABILITY_SCALE=1 \
		$(BIN)/pytest tests/reliability/test_fault_matrix.py $(PYTEST_ARGS)

# Hostile input at full size, on the stack like every integration test.
test-hostile: stack ## hostile input at full size: 100,000 collector requests, 100,000 API examples
	source deploy/local/env.sh && CRASHLINE_HOSTILE_REQUESTS=100000 CRASHLINE_HOSTILE_DUMPS=2000 \
		CRASHLINE_FUZZ_EXAMPLES=2700 $(BIN)/pytest tests/reliability/test_hostile_collector.py \
		tests/reliability/test_hostile_processor.py tests/integration/webapp/test_web_fuzz.py \
		$(PYTEST_ARGS)

lint: venv ## ruff over the whole tree
	$(BIN)/ruff check .

bench: stack ## run the benchmarks and print their figures (no pass/fail)
	deploy/local/stack.sh start contract-engines
	@set -e; for script in tests/bench/bench_*.py; do \
		echo "== $$script"; \
		(source deploy/local/env.sh && CRASHLINE_TEST_SEARCH_ENGINES="$$(contract_search_engines)" \
			$(BIN)/python $$script); echo; \
	done

clean: stop ## stop everything and delete local state (crashes, databases, logs)
	rm -rf $(CRASHLINE_LOCAL_DIR)
