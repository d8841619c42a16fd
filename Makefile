# Two commands on a fresh machine: `make run` and `make test`; `make install` is their first step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck eval eval-safety train-safety bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/ldn-bot chat

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

eval: install
	$(BIN)/python -m tests.eval.evaluate

# The two safety tiers on the held-out batteries (tests/eval/heldout/safety-*.txt): totals only.
eval-safety: install
	$(BIN)/python -m tests.eval.safety_eval

# Retrain the learned safety signal from the training side of the split (deterministic).
train-safety: install
	$(BIN)/python -m tests.eval.train_safety

bench: install
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_bot.py
	$(BIN)/python bench/bench_charts.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
