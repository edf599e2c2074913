# The book's commands. Every target first makes sure .venv exists and is up to date
# with requirements.txt, so a fresh clone needs nothing but Python 3.11 and make.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: install book test unit nbval lint lib notebooks bench clean

install: $(STAMP)

# Rebuilt when missing or older than requirements.txt / pyproject.toml.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: install
	$(PY) -m gan_edu.book build _build/book

# Unit tests and every chapter notebook (nbval), two workers, one notebook per worker,
# each worker's frameworks on one thread so that the two do not fight over the cores.
test nbval unit: export OMP_NUM_THREADS ?= 1

test: install
	$(PY) -m pytest -n $(JOBS) --dist loadfile $(NBVAL) tests chapters

unit: install
	$(PY) -m pytest -n $(JOBS) --dist loadfile tests

nbval: install
	$(PY) -m pytest -n $(JOBS) --dist loadfile $(NBVAL) chapters

lint: install
	$(PY) -m ruff check gan_edu tests scripts
	$(PY) -m gan_edu.book lib --check

lib: install
	$(PY) -m gan_edu.book lib

notebooks: install
	$(PY) -m gan_edu.book notebooks _build/notebooks

bench: install
	$(PY) -m gan_edu.bench

clean:
	rm -rf _build
