# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Everything else goes through the `telecom` command (`.venv/bin/telecom --help`).
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test venv seed train evaluate validate

venv:
	@scripts/bootstrap.sh

run: venv          ## set up, seed the demo database, train if needed, start the assistant
	.venv/bin/telecom run

test:              ## the whole test suite (what CI runs), with Chromium and nginx for the tests that need them
	@scripts/bootstrap.sh --with-browser --with-nginx
	.venv/bin/telecom test

seed: venv
	.venv/bin/telecom seed

train: venv
	.venv/bin/telecom train

evaluate: venv
	.venv/bin/telecom evaluate

validate: venv
	.venv/bin/rasa data validate --fail-on-warnings
