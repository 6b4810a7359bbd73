# Quick start: `make run` (console chat with no token) and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOMAIN := nhacviec

.PHONY: install bytecode run test bench lint format messages catalogs clean

install: $(STAMP) catalogs bytecode

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nhacviec needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Compiled catalogs (.mo) are build output: made from the reviewed .po files on every install.
catalogs: $(STAMP)
	@for po in locales/*/LC_MESSAGES/$(DOMAIN).po; do \
		[ -f "$$po" ] || continue; \
		$(BIN)/pybabel compile --use-fuzzy --statistics -D $(DOMAIN) -i "$$po" -o "$${po%.po}.mo" 2>&1 | grep -v '^$$' || exit 1; \
	done

# The program runs as `python -OO` (bot/entry.py): its bytecode without docstrings, compiled here, as
# a service may not write beside its code. Only what changed is compiled again (about a second).
# A third-party file that does not compile (a template, a Python 2 example) is no reason to stop.
bytecode: $(STAMP)
	@$(BIN)/python -OO -m compileall -q -j 0 $(VENV)/lib bot scheduler storage > /dev/null 2>&1 || true

# Extract strings from the code and merge them into both catalogs (translations are then reviewed).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k lazy_gettext -k ngettext:1,2 \
		--project=nhacviec --copyright-holder="nhacviec" --no-location --sort-output \
		-o locales/$(DOMAIN).pot bot scheduler storage
	@for lang in vi en; do \
		if [ -f locales/$$lang/LC_MESSAGES/$(DOMAIN).po ]; then \
			$(BIN)/pybabel update --no-fuzzy-matching -D $(DOMAIN) -i locales/$(DOMAIN).pot -d locales -l $$lang; \
		else \
			$(BIN)/pybabel init -D $(DOMAIN) -i locales/$(DOMAIN).pot -d locales -l $$lang; \
		fi; \
	done

run: install
	$(BIN)/nhacviec run

# Parallel workers, one test file each at a time (module fixtures are built once): most of the
# suite waits on real processes, emulators and office tools rather than on the CPU.
test: install
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: install
	@$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python "$$script" || exit 1; done

lint: install
	$(BIN)/ruff check bot scheduler storage tests bench
	$(BIN)/ruff format --check bot scheduler storage tests bench

format: install
	$(BIN)/ruff check --fix bot scheduler storage tests bench
	$(BIN)/ruff format bot scheduler storage tests bench

clean:
	rm -rf $(VENV) .pytest_cache locales/*/LC_MESSAGES/*.mo
