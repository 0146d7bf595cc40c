# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
.PHONY: setup run test lint bench clean

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/stepwell up

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy .

bench: setup
	.venv/bin/python bench/sandbox_latency.py

clean:
	-.venv/bin/stepwell sandbox gc --all
	rm -rf .venv .stepwell
