# Fresh machine: `make demo` runs the offline demo, `make test` passes the tests. Both set up what
# they need: a venv with the CPU build of torch, the package with its extras, and Apertium via apt
# (`make test` also Chromium, and a one-node SLURM cluster it starts and always stops, as root).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel: a bare `torch` requirement can pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= hf,ct2,validity,fast,launchers,serve,openai,track,web,dev
APERTIUM_PACKAGES ?= apertium apertium-eng-spa apertium-eng-cat trans-de-en
# headless Chromium renders the HTML reports in the tests (they skip without it)
BROWSER_PACKAGES ?= chromium
# the one-node SLURM cluster of the SLURM tests (scripts/slurm_local.sh; docs/scale.md)
SLURM_LOCAL := scripts/slurm_local.sh
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export OMP_WAIT_POLICY ?= PASSIVE
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv apertium browser slurm slurm-start slurm-stop comet-env demo test test-quick gate-ci check lint typecheck bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

apertium:
	@if command -v apertium >/dev/null 2>&1 && apertium -l | grep -qx ' *eng-spa' && apertium -l | grep -qx ' *eng-cat' && [ -f /usr/share/trans/de-en ]; then \
		echo "apertium: eng-spa and eng-cat installed; trans-de-en dictionary installed"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APERTIUM_PACKAGES) >/dev/null; \
	else \
		echo "warning: Apertium missing and not root: sudo apt-get install $(APERTIUM_PACKAGES) (Apertium tests will skip)"; \
	fi

browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium installed"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	else \
		echo "warning: chromium missing and not root: sudo apt-get install $(BROWSER_PACKAGES) (HTML rendering tests will skip)"; \
	fi

# Debian's SLURM, munge, slurmdbd and MariaDB for the one-node cluster (installs only; slurm-start starts it)
slurm:
	@if command -v slurmctld >/dev/null 2>&1 && command -v slurmdbd >/dev/null 2>&1 && command -v mariadbd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then \
		echo "slurm: slurm-wlm, munge, slurmdbd and mariadb-server installed"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		$(SLURM_LOCAL) install; \
	else \
		echo "warning: SLURM packages missing and not root: sudo $(SLURM_LOCAL) install (SLURM tests will skip)"; \
	fi

slurm-start:
	@$(SLURM_LOCAL) start || echo "warning: the one-node SLURM cluster did not start (SLURM tests will skip)"

slurm-stop:
	@if [ "$$(id -u)" = "0" ]; then $(SLURM_LOCAL) stop; fi

demo: venv apertium
	$(BIN)/mtharness run

# The managed COMET environment (unbabel-comet conflicts with the main venv), inside the clone's own
# .cache/ so CI keeps nothing outside the clone; the tests' session fixture uses the same folder and
# finds it ready. Idempotent: a second call only checks it.
COMET_ENVS ?= .cache/envs
comet-env: venv
	MTHARNESS_ENVS_DIR=$(COMET_ENVS) $(BIN)/python -m mtharness env setup comet --quiet

# pytest-xdist workers. Four on the 2-core machine: many tests wait (SLURM jobs, server starts), and
# four workers overlap those waits with work (pytest 13:48 with 4 workers vs 18:12 with 2, 20:02 in
# one process). Each worker keeps a test module together and one worker owns each shared service
# (the SLURM cluster, the `transformers serve` server): see tests/conftest.py. TEST_WORKERS=0 runs
# everything in one process.
TEST_WORKERS ?= 4
XDIST_GROUPS = --dist loadgroup --no-loadscope-reorder
XDIST = -n $(TEST_WORKERS) $(XDIST_GROUPS)
# The quick loop waits on nothing (no cluster, server or environment), so more workers than cores only
# add start-up and contention: 2 workers took 213-225 s, 4 workers 250-264 s (quiet 2-core machine).
QUICK_WORKERS ?= 2
QUICK_MARKS = not slow and not slurm and not serve and not comet
# The test commands write bytecode even where the environment says not to (PYTHONDONTWRITEBYTECODE=1
# on the CI image): without it pytest re-rewrites every test module's asserts in each xdist worker
# and each of the hundreds of CLI processes the tests start compiles the package again
# (~3 CPU s per collection, ~0.1 s per process). __pycache__ is git-ignored.
PYTEST = PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

# The cluster runs for the whole test session and is stopped however the session ends (the trap).
test: venv apertium browser slurm comet-env
	@trap '$(MAKE) --no-print-directory slurm-stop' EXIT; trap 'exit 130' INT TERM; \
	$(MAKE) --no-print-directory slurm-start; \
	MTHARNESS_TEST_ENVS_DIR=$(abspath $(COMET_ENVS)) $(PYTEST) -q $(XDIST) && $(MAKE) --no-print-directory gate-ci

# The quick loop while developing: what needs no cluster, server or COMET environment, and is not slow.
test-quick: venv
	$(PYTEST) -q -n $(QUICK_WORKERS) $(XDIST_GROUPS) -m "$(QUICK_MARKS)"

# The CI regression gate on ourselves: a real Apertium run of the bundled sample against the committed
# baseline (refresh it with `mtharness baseline refresh $(GATE_DIR)/run $(GATE_BASELINE)`).
GATE_DIR ?= results/ci-gate
GATE_BASELINE ?= baselines/sample_apertium.json
gate-ci: venv
	@if ! (command -v apertium >/dev/null 2>&1 && apertium -l | grep -qx ' *eng-spa'); then \
		echo "warning: Apertium eng-spa missing: CI gate skipped (sudo apt-get install $(APERTIUM_PACKAGES))"; \
	else \
		rm -rf $(GATE_DIR) && \
		$(BIN)/python -m mtharness run experiment=ci_sample hydra.run.dir=$(GATE_DIR)/run && \
		$(BIN)/python -m mtharness gate --baseline $(GATE_BASELINE) --current $(GATE_DIR)/run \
			--junit $(GATE_DIR)/gate.xml --markdown $(GATE_DIR)/gate.md --json $(GATE_DIR)/gate.json; \
	fi

lint: venv
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: venv
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
