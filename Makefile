# The book's commands. Every target first makes sure .venv exists and is up to date
# with requirements.txt, so a fresh clone needs nothing but Python 3.11 and make.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: install book run browser test smoke unit nbval lint lib notebooks bench results clean

install: $(STAMP)

# Rebuilt when missing or older than requirements.txt / pyproject.toml.
# The pinned stack is for Python 3.10 and 3.11 (numpy 1.26.4 has no wheel for 3.13):
# name the interpreter at once rather than fail deep inside pip.
$(STAMP): requirements.txt pyproject.toml
	@py=$(PYTHON); test -x $(PY) && py=$(PY); \
	$$py -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 10), (3, 11)])' 2>/dev/null || { \
	echo "The book's pinned packages need Python 3.10 or 3.11; $$py is" \
	     "$$($$py --version 2>/dev/null || echo 'not found')." >&2; \
	echo "Name one: $$(test -x $(PY) && echo "rm -rf $(VENV) (made with it), then ")make" \
	     "PYTHON=python3.11 $(or $(MAKECMDGOALS),install)" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The website from the committed, executed notebooks (seconds; nothing is executed).
book: install
	$(PY) -m gan_edu.site book _build/book

# Execute every chapter afresh into _build/run (about half an hour on 2 cores), then the site.
run: install
	$(PY) -m gan_edu.site run _build/book --executed _build/run

# Debian's chromium and chromedriver for the site's browser tests (tests/test_site.py).
# Where they cannot be installed, those tests fail and say what to install.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium chromium-driver; } || \
	  echo "make browser: could not install chromium and chromium-driver (apt-get install chromium chromium-driver)"

# Unit tests and every chapter notebook (nbval), two workers, one notebook per worker,
# each worker's frameworks on one thread so that the two do not fight over the cores;
# the longest notebooks start first (conftest.py), and the slowest tests are listed.
test smoke nbval unit: export OMP_NUM_THREADS ?= 1

test: install browser
	$(PY) -m pytest -n $(JOBS) --dist loadfile --durations=15 $(NBVAL) tests chapters

# Every chapter and every one-framework notebook, written from the sources, on a few
# batches (GAN_EDU_SCALE=smoke): a broken cell, shape or import shows in minutes. No bar
# is asserted and no output compared; `make test` does both.
smoke: install
	$(PY) -m gan_edu.book smoke _build/smoke
	GAN_EDU_SCALE=smoke $(PY) -m pytest -n $(JOBS) --dist loadfile --nbval-lax \
	  --nbval-current-env _build/smoke

unit: install
	$(PY) -m pytest -n $(JOBS) --dist loadfile tests

nbval: install
	$(PY) -m pytest -n $(JOBS) --dist loadfile $(NBVAL) chapters

lint: install
	$(PY) -m ruff check gan_edu tests scripts site
	$(PY) -m gan_edu.book lib --check

lib: install
	$(PY) -m gan_edu.book lib

notebooks: install
	$(PY) -m gan_edu.book notebooks _build/notebooks

# Execute every chapter into _build/bench and report where the time goes (docs/speed.md).
bench: install
	$(PY) -m gan_edu.bench run _build/bench

# The README's results table, from the executed chapters' verdict lines.
results: install
	$(PY) -m gan_edu.results

clean:
	rm -rf _build
