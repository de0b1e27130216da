# pinnacle developer tasks. Everything installs into ./.venv (created on demand).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CARGO_TEST := cargo test --workspace --exclude pinnacle-python
LINT_PATHS := $(wildcard python tests benches examples)

.PHONY: venv build-dev demo test test-rust test-python lint fmt bench fuzz reliability dist-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

venv: $(PY)

# Builds the extension (release profile) and installs the package editable, with the test
# extras and the benchmark suite's (its command-line test runs one section). pip keeps the
# compiler quiet, so say what is going on; V=1 shows cargo's own output.
PIP_BUILD := $(if $(V),-v,--quiet)
build-dev: $(PY)
	@echo "build-dev: compiling the Rust extension (cargo, release profile) and installing pinnacle into $(VENV)"
	@echo "build-dev: about a minute on a fresh clone, seconds when nothing changed (V=1 shows the compiler)"
	@start=$$(date +%s) && $(PY) -m pip install $(PIP_BUILD) -e '.[test,bench]' && \
		echo "build-dev: done in $$(( $$(date +%s) - start )) s"

# The main job: the crash-recovery drill (trade, SIGKILL, recover, verify every book,
# order and position against the acknowledged operations).
demo: build-dev
	$(VENV)/bin/pinnacle demo

# The compile is shown; the test binaries' ~15 result blocks go to CARGO_LOG and one line
# sums them up ("cargo: N passed, N failed"). On a failure the whole log is printed.
CARGO_LOG := target/cargo-test.log
test-rust:
	@mkdir -p target
	@{ $(CARGO_TEST) --no-run 2>&1; echo $$? > $(CARGO_LOG).rc; } | grep -v '^ *Executable '; \
		exit $$(cat $(CARGO_LOG).rc)
	@if $(CARGO_TEST) > $(CARGO_LOG) 2>&1; then rc=0; else rc=$$?; cat $(CARGO_LOG); fi; \
		awk '/^test result:/ { p += $$4; f += $$6; n++ } \
			END { printf "cargo: %d passed, %d failed (%d test binaries; output in $(CARGO_LOG))\n", p, f, n }' \
			$(CARGO_LOG); \
		exit $$rc

test-python: build-dev
	$(PY) -m pytest

# Every test: the Rust core's cargo tests and the Python suite.
test: test-rust test-python

lint: $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy python/pinnacle
	$(PY) -m mypy.stubtest pinnacle._core

fmt: $(PY)
	cargo fmt --all
	$(PY) -m ruff format $(LINT_PATHS)
	$(PY) -m ruff check --fix $(LINT_PATHS)

bench: build-dev
	$(PY) -m pip install --quiet -r benches/requirements.txt
	$(PY) benches/run.py --full --out bench-results/full
	cp bench-results/full/results.md docs/benchmarks.md
	cp bench-results/full/*.png docs/
	cargo bench -p pinnacle-core

# Bounded fuzzing of every parser (FUZZ_SECONDS each; new inputs go to a temp dir, the
# committed seed corpus stays as it is). cargo-fuzz needs nightly features:
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
FUZZ_SECONDS ?= 12
FUZZ_TARGETS := journal_entry journal_header journal_scan snapshot book_op format_decoders grid_meta \
	security_decoders
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		work=$$(mktemp -d) && \
		RUSTC_BOOTSTRAP=1 cargo fuzz run -O $$t $$work corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 || exit 1; \
		rm -rf $$work; \
	done

# The reliability scorecard (docs/reliability.md): fuzzing, then every test marked
# `reliability` with its case counts. KILL9_CYCLES=10000 for the long crash loop.
reliability: build-dev
	mkdir -p bench-results
	$(MAKE) --no-print-directory fuzz 2>&1 | tee bench-results/fuzz.log
	$(PY) -m pytest tests -m reliability --scorecard docs/reliability.md --fuzz-log bench-results/fuzz.log

# Release artefacts work when installed: build a wheel and an sdist with maturin, install
# each into a fresh venv, and run the test suite against the installed package (the
# repo's python/ is not on sys.path there). The sdist is built from source on install.
DIST_VENV := target/dist-venv
dist-check: $(PY)
	$(PY) -m pip install --quiet 'maturin>=1.9,<2'
	rm -rf dist $(DIST_VENV)-wheel $(DIST_VENV)-sdist
	$(VENV)/bin/maturin build --release --sdist --out dist --quiet
	for kind in wheel sdist; do \
		$(PYTHON) -m venv $(DIST_VENV)-$$kind && \
		$(DIST_VENV)-$$kind/bin/pip install --quiet pytest hypothesis -r benches/requirements.txt \
			'cryptography>=42' 'argon2-cffi>=23' 'pyrage>=1.1' 'pyarrow>=14' || exit 1; \
	done
	$(DIST_VENV)-wheel/bin/pip install --quiet dist/*.whl
	$(DIST_VENV)-sdist/bin/pip install --quiet dist/*.tar.gz
	for kind in wheel sdist; do \
		cd tests && ../$(DIST_VENV)-$$kind/bin/python -c \
			"import pinnacle, sys; assert 'site-packages' in pinnacle.__file__, pinnacle.__file__" && cd .. || exit 1; \
	done
	$(DIST_VENV)-wheel/bin/python -m pytest -q -p no:cacheprovider tests
	$(DIST_VENV)-sdist/bin/python -m pytest -q -p no:cacheprovider -x tests/test_journal_api.py tests/test_order_book.py

clean:
	rm -rf $(VENV) target dist bench-results python/pinnacle/*.so
