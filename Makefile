# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Everything else goes through the `telecom` command (`.venv/bin/telecom --help`).
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test test-fast lint format venv seed train evaluate validate

venv:
	@scripts/bootstrap.sh

run: venv          ## set up, seed the demo database, train if needed, start the assistant
	.venv/bin/telecom run

test:              ## what CI runs: lint, then every tier, with Chromium and nginx for the tests that need them
	@scripts/bootstrap.sh --with-browser --with-nginx
	@$(MAKE) --no-print-directory lint
	.venv/bin/telecom test

test-fast: venv    ## unit and integration tiers: no trained model, no browser, nothing slow, on both cores (under two minutes)
	.venv/bin/telecom test tests/unit tests/integration -n 2 -m "not model and not browser and not slow"

lint: venv         ## ruff (lint and format), mypy, and the import contracts of docs/architecture.md
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

format: venv       ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

seed: venv
	.venv/bin/telecom seed

train: venv
	.venv/bin/telecom train

evaluate: venv
	.venv/bin/telecom evaluate

validate: venv
	.venv/bin/rasa data validate --fail-on-warnings
