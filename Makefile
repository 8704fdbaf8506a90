# optbook: two commands build and test everything (see README.md).
#   make book   build the website into _build/html (creates .venv if needed)
#   make test   lint, every tier of tests/ and every chapter run as a test
#   make test-fast  lint and the unit and property tests only (under a minute)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NOTEBOOKS := $(wildcard book/*.ipynb)
# Chapters run with single-threaded BLAS: their matrices are small, and threaded OpenBLAS
# on a busy 2-core machine made a network chapter 2-15 times slower (FIELD_NOTES).
BLAS_1 := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

.PHONY: book pdf tex-packages live test test-fast lint pytest nbval serve lab bench clean help student test-compat

help:
	@echo "make book   build the book into _build/html and print the path of index.html"
	@echo "make pdf    build the book as a PDF: _build/pdf/optbook.pdf (needs TeX Live)"
	@echo "make test   ruff, every tier of tests/ (book, browser, kernel, slow) and nbval"
	@echo "make test-fast  ruff and the unit and property tests only (under a minute)"
	@echo "make serve  serve the built site on http://localhost:8000"
	@echo "make lab    open the chapters in JupyterLab with live sliders"
	@echo "make bench  time each chapter and each slider update"
	@echo "make student  write the student version of every chapter to _build/student/"

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "optbook needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	@touch $@

# MathJax is served from the site itself (no CDN): the npm package, unchanged.
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_vendor/mathjax/tex-chtml.js
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed to fetch MathJax"; exit 1; }
	rm -rf book/_vendor/mathjax && mkdir -p book/_vendor/mathjax
	cd book/_vendor && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null \
	  && tar -xzf mathjax-$(MATHJAX_VERSION).tgz --strip-components=2 -C mathjax package/es5 \
	  && rm mathjax-$(MATHJAX_VERSION).tgz

# Jupyter Book's execution cache keys on the notebooks' code only: when optbook
# changes, the chapters must run again.
OPTBOOK_SOURCES := $(shell find src/optbook -name '*.py')
_build/.optbook-stamp: $(OPTBOOK_SOURCES)
	rm -rf _build/.jupyter_cache
	@mkdir -p _build && touch $@

# Live Python in the reader's browser (Pyodide, served by the site): fetch, verify by
# sha256 and stage the assets in book/_vendor/live/ (sources and pins: tools/live_assets.py;
# downloads cached in .cache/live/). Without network it prints one line and the book is
# built without the "Run live" control; a hash mismatch fails. OPTBOOK_LIVE=0 skips it.
live: $(VENV)/.runtime
	@$(BIN)/python tools/live_assets.py

# Pages and Sphinx's environment are rebuilt every time (Sphinx copies static files
# only when it writes pages, and caches parsed .bib files); execution results are
# kept in the Jupyter cache, so this costs seconds.
book: $(VENV)/.runtime $(MATHJAX) _build/.optbook-stamp live
	rm -rf _build/html _build/.doctrees
	OPTBOOK_FRAMES=1 $(BLAS_1) $(BIN)/jupyter-book build . --path-output . -n -W --keep-going
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"

# The book as a PDF: Jupyter Book's LaTeX builder, xelatex through latexmk (Debian's TeX Live,
# installed by .ci/run). It shares `make book`'s execution cache (linked into its own build
# folder, which keeps its own doctrees), so chapters run once for both; the LaTeX-only
# rendering (badges, slider figures, solutions) is book/_ext/pdf_output.py. The PDF is
# also copied into _build/html if the site is built, and `make book` ships it when it exists.
PDF_BUILD := _build/pdf/_build
TEX_PACKAGES := texlive-xetex latexmk texlive-latex-extra texlive-fonts-recommended \
  fonts-freefont-otf fonts-dejavu-core xindy poppler-utils
tex-packages:
	@echo $(TEX_PACKAGES)

pdf: $(VENV)/.runtime _build/.optbook-stamp
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { \
	  echo "make pdf needs TeX Live: apt-get install $(TEX_PACKAGES)"; exit 1; }
	rm -rf $(PDF_BUILD)/latex $(PDF_BUILD)/.doctrees _build/pdf/optbook.pdf
	mkdir -p $(PDF_BUILD) _build/.jupyter_cache
	ln -sfn ../../.jupyter_cache $(PDF_BUILD)/.jupyter_cache
	OPTBOOK_FRAMES=1 $(BLAS_1) LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" \
	  $(BIN)/jupyter-book build . --path-output _build/pdf --builder pdflatex -n --keep-going
	cp $(PDF_BUILD)/latex/optbook.pdf _build/pdf/optbook.pdf
	@if [ -d _build/html ]; then cp _build/pdf/optbook.pdf _build/html/optbook.pdf; fi
	@echo "The PDF is at: $(CURDIR)/_build/pdf/optbook.pdf"

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks book tools

# Every tier (tests/conftest.py): plain `pytest tests` leaves out the book, browser,
# kernel and slow tests.
pytest: $(VENV)/.test
	$(BIN)/python -m pytest tests --all-tiers

# Chapters must run without warnings: the kernel turns these into errors.
NB_WARNINGS := error::RuntimeWarning,error::UserWarning,error::FutureWarning

nbval: $(VENV)/.test
	PYTHONWARNINGS=$(NB_WARNINGS) $(BLAS_1) $(BIN)/python -m pytest --nbval-lax $(NOTEBOOKS)

test: lint pytest nbval

# The developer's loop: no book build, no browser, no kernel.
test-fast: lint
	$(BIN)/python -m pytest tests

# test-compat: the unit tests and every chapter on the browser's versions (Pyodide 0.27.7:
# Python 3.12, numpy 2.0.2, matplotlib 3.8.4, sympy 1.14.0), pinned in requirements-compat.txt,
# in a second environment .venv-compat. Browser, site and PDF tests are left out (no browser
# there; test_site.py and test_pdf.py build with .venv); OPTBOOK_REQUIRE_BROWSER is unset so that any other
# browser test skips.
COMPAT_VENV := .venv-compat
COMPAT_BIN := $(COMPAT_VENV)/bin
COMPAT_RUN := env -u OPTBOOK_REQUIRE_BROWSER

$(COMPAT_VENV)/.installed: requirements-compat.txt pyproject.toml
	@py=""; for c in python3.12 /root/.pyenv/versions/3.12.*/bin/python3.12; do \
	  if "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then \
	    py="$$c"; break; fi; done; \
	if [ -z "$$py" ]; then py=$(PYTHON); echo "test-compat: no Python 3.12 here (PATH," \
	  "/root/.pyenv/versions/3.12.*): testing the pinned libraries on $$($$py --version)"; fi; \
	echo "$$py -m venv $(COMPAT_VENV)"; rm -rf $(COMPAT_VENV) && "$$py" -m venv $(COMPAT_VENV)
	$(COMPAT_BIN)/python -m pip install --quiet -r requirements-compat.txt
	@touch $@

test-compat: $(COMPAT_VENV)/.installed
	@$(COMPAT_BIN)/python -c 'import sys, numpy, matplotlib, sympy; print("compat:", \
	  sys.version.split()[0], "numpy", numpy.__version__, "matplotlib", matplotlib.__version__, \
	  "sympy", sympy.__version__)'
	$(COMPAT_RUN) $(COMPAT_BIN)/python -m pytest tests -p no:cacheprovider --all-tiers \
	  --ignore=tests/test_site.py --ignore=tests/test_pdf.py
	$(COMPAT_RUN) PYTHONWARNINGS=$(NB_WARNINGS) $(COMPAT_BIN)/python -m pytest -p no:cacheprovider \
	  --nbval-lax --nbval-current-env $(NOTEBOOKS)

# The student version of every chapter (solutions replaced by stubs, hidden tests
# removed): see book/instructors.md.
student: $(VENV)/.runtime
	$(BIN)/optbook student $(wildcard book/ch*.ipynb) --out _build/student --force

serve:
	@test -f _build/html/index.html || { echo "run 'make book' first"; exit 1; }
	$(BIN)/python -m http.server --directory _build/html 8000

lab: $(VENV)/.test
	$(BIN)/python -m pip install --quiet "jupyterlab>=4,<5"
	$(BIN)/jupyter lab book/

# Every performance figure next to its goal (issue #18), in one process; rows also in
# _build/bench.json. torch (test dependency) is the reference for the optimiser steps.
bench: $(VENV)/.test
	$(BLAS_1) $(BIN)/python benchmarks/perf.py

clean:
	rm -rf _build .pytest_cache .hypothesis
