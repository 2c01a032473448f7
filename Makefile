# dmm-book. `make book` builds the whole book, `make test` runs the test suite.
# Every target creates the virtual environment first when it is missing.

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
PROFILE  ?= quick
NAME     ?=
# PARAMS: "k=v k2=v2", or with blanks inside values "digits=[1, 7]; seeds=5" (split at ";" and
# before "name="); passed to tools/book.py through the environment, so any quoting is safe.
PARAMS   ?=
export PARAMS
MATHJAX  := book/_static/mathjax/tex-svg-full.js
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256  := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09

# Data: $DMM_DATA if set, else ../shared/data when it exists (the development machines),
# else ~/.cache/dmm-book/data (nothing is downloaded: README.md, "Data", says what goes there).
ifeq ($(origin DMM_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export DMM_DATA := $(abspath ../shared/data)
  endif
endif
export DMM_CACHE ?= $(CURDIR)/.cache
# RAY_ADDRESS (optional, needs `pip install '.[cluster]'`): run the chapters as tasks on a Ray
# cluster ("local": one started on this machine's cores and GPUs); book/cluster.md says how.
ifdef RAY_ADDRESS
  export RAY_ADDRESS
endif

.PHONY: book chapter site test bench jupyter dry-run clean clean-cache lock help

help:
	@echo "make book [PROFILE=quick] [DEFAULTS=1]"
	@echo "                               execute the chapters that changed and build the site: book/_build/html"
	@echo "                               (quick), book/_build/<profile>/_build/html (smoke, paper). Each chapter"
	@echo "                               re-runs with the PARAMS of its last 'make chapter'; DEFAULTS=1: with the"
	@echo "                               profile's own values instead. RAY_ADDRESS=local (or a Ray cluster's address):"
	@echo "                               the chapters as tasks on Ray, with the extra 'cluster' (book/cluster.md)"
	@echo "make chapter NAME=x [PROFILE=quick] [PARAMS='seeds=5 epochs=100'] [FORCE=1]"
	@echo "                               execute one chapter. PARAMS with blanks: PARAMS='digits=[1, 7]; seeds=5'."
	@echo "                               FORCE=1 re-runs an up-to-date chapter and accepts a cost knob over 4x its"
	@echo "                               quick value"
	@echo "make site [PROFILE=quick]      build the site from the executed notebooks only; executes nothing"
	@echo "make dry-run [NAME=x]          the paper profile at full size with its loops cut to 1-2 iterations, on the CPU:"
	@echo "                               crashes, peak memory and a cost estimate (also: make book DRY_RUN=1, or"
	@echo "                               make chapter NAME=x DRY_RUN=1; PROFILE, if given, must be paper)"
	@echo "make test                      run the test suite"
	@echo "make bench                     run the benchmarks (tables for the reproducibility page; includes the"
	@echo "                               1- vs 2-thread verdict check, about twice a cold quick book)"
	@echo "make jupyter                   open the chapters in JupyterLab on 127.0.0.1 (widgets; .md opens as a notebook)"
	@echo "make clean                     drop the built site and executed notebooks (book/_build)"
	@echo "make clean-cache               drop trained models and cached results (.cache)"
	@echo "make lock                      write the venv's package versions to requirements-lock.txt"

$(VENV)/.installed: pyproject.toml requirements-lock.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements-lock.txt -e '.[book,test]'
	touch $@

$(MATHJAX):
	@command -v npm >/dev/null || { echo "error: npm is needed once to fetch MathJax $(MATHJAX_VERSION) (the site serves it locally)"; exit 1; }
	rm -rf .mathjax.tmp && mkdir -p .mathjax.tmp $(dir $(MATHJAX))
	cd .mathjax.tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	echo "$(MATHJAX_SHA256)  .mathjax.tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c --quiet
	tar -xzf .mathjax.tmp/mathjax-$(MATHJAX_VERSION).tgz -C .mathjax.tmp package/es5/tex-svg-full.js package/LICENSE
	cp .mathjax.tmp/package/LICENSE $(dir $(MATHJAX))LICENSE
	mv .mathjax.tmp/package/es5/tex-svg-full.js $(MATHJAX)
	rm -rf .mathjax.tmp

# A dry run is of the paper profile: PROFILE, when given, must say so (it is not silently ignored).
define paper_only
@test "$(origin PROFILE)" = file -o "$(PROFILE)" = paper || { echo "error: a dry run is of the paper profile; PROFILE=$(PROFILE) is not (drop PROFILE or say PROFILE=paper)" >&2; exit 2; }
endef

# the site needs MathJax (served locally); a dry run builds no site
book: $(VENV)/.installed $(if $(DRY_RUN),,$(MATHJAX))
ifdef DRY_RUN
	$(paper_only)
	@$(PY) tools/dry_run.py
else
	@$(PY) tools/book.py build --profile $(PROFILE) $(if $(DEFAULTS),--defaults)
endif

site: $(VENV)/.installed $(MATHJAX)
	@$(PY) tools/book.py site --profile $(PROFILE)

chapter: $(VENV)/.installed
	@test -n "$(NAME)" || { echo "usage: make chapter NAME=<chapter> [PROFILE=quick] [PARAMS='k=v; k2=v2'] [FORCE=1]"; $(PY) tools/book.py list; exit 2; }
ifdef DRY_RUN
	$(paper_only)
	@$(PY) tools/dry_run.py --chapter $(NAME)
else
	@$(PY) tools/book.py execute --chapter $(NAME) --profile $(PROFILE) --params "$$PARAMS" $(if $(FORCE),--force)
endif

dry-run: $(VENV)/.installed
	$(paper_only)
	@$(PY) tools/dry_run.py $(if $(NAME),--chapter $(NAME))

test: $(VENV)/.installed $(MATHJAX)
	$(PY) -m pytest -q

# the benchmarks time chapters and kernels: no MathJax. (bench_book.py times a Sphinx build of the
# site; without MathJax that site shows raw TeX until the next `make site` or `make book` copies it in.)
bench: $(VENV)/.installed
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

# JupyterLab from the venv, on this machine only (127.0.0.1, with a token), opening a chapter's
# .md as a notebook (jupytext's viewer) by default.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_SETTINGS): $(VENV)/.installed
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $@

jupyter: $(VENV)/.installed $(LAB_SETTINGS)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root) book/chapters

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > requirements-lock.txt

clean-cache:
	rm -rf $(DMM_CACHE)

clean:
	rm -rf book/_build
