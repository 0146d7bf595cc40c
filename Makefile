# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
.PHONY: setup run test lint console bench clean

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/stepwell up

test: setup lint
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	for step in examples/steps/*/; do [ -f "$${step}step.json" ] || .venv/bin/mypy "$$step"*.py || exit 1; done
	cd console && npm run check && npm run format:check

# The one command that rebuilds the web console (console/ -> ui_api/console/static), always;
# `make setup` does the same only when the console's sources or lockfile changed.
console:
	cd console && npm ci --ignore-scripts --no-audit --no-fund && npm run build

bench: setup
	.venv/bin/python bench/sandbox_latency.py
	.venv/bin/python bench/flow_overhead.py
	.venv/bin/python bench/sustained.py
	.venv/bin/python bench/start_cost.py
	.venv/bin/python bench/api_load.py
	.venv/bin/python bench/egress.py

clean:
	-.venv/bin/stepwell sandbox gc --all
	rm -rf .venv .stepwell
