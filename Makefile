# Developer and CI entry point for lvs.cluster. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python3 /usr/bin/python3.13 /usr/local/bin/python3.13) $(shell command -v python3.13 python3.12 python3))
VENV := .venv
BIN := $(VENV)/bin
COLLECTIONS := build/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/lvs/cluster
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export PYTHONPATH := $(CURDIR)/$(COLLECTIONS)
LAB := python3 lab/lab.py
SCENARIOS ?=
# The oldest ansible-core the collection supports, with molecule, on Python 3.11 (else a newer Python it runs on): the
# controller of the modes scenario in make test (ha runs on .venv's newest), so that both ends of the supported range
# run end to end against the lab's hosts.
PYTHON_OLDEST ?= $(firstword $(wildcard /root/.pyenv/versions/3.11*/bin/python3 /usr/bin/python3.11) $(shell command -v python3.11 python3.12 python3.13 python3))
VENV_OLDEST := build/venv-molecule-2.18
# The scenarios make test runs, one after the other (scenario@venv: on that venv's ansible-core): ha on the newest,
# modes and bgp (active-active, eight containers; its hosts are Debian 12 too) on the oldest. devel/test-budget.md
# has what each costs.
TEST_SCENARIOS ?= ha modes@$(VENV_OLDEST)/bin bgp@$(VENV_OLDEST)/bin

.PHONY: help host-deps venv venv-oldest collection lint sanity sanity-matrix unit units keepalived-config keepalived-config-trixie frr-config docs-lint changelog-lint changelog dist \
	galaxy-import install-test lab-up lab-down lab-status lab-reboot-test integration molecule demo benchmark benchmark-cluster test clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

host-deps: ## Install the Debian packages the host side needs (qemu, debootstrap, keepalived and frr for config tests)
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $$(grep -hv '^#' lab/host-packages.txt tests/host-packages.txt) >/dev/null

$(BIN)/ansible: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/ansible ## Create .venv with ansible-core, molecule, ansible-lint, pytest

$(VENV_OLDEST)/bin/molecule: tests/molecule/requirements-core-2.18.txt
	$(PYTHON_OLDEST) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/pip install -q --disable-pip-version-check -r $<
	touch $@

venv-oldest: $(VENV_OLDEST)/bin/molecule ## Create build/venv-molecule-2.18: ansible-core 2.18 and molecule on Python 3.11

collection: ## Make the collection importable as lvs.cluster (a link under build/)
	mkdir -p $(dir $(COLLECTION))
	ln -sfn $(CURDIR) $(COLLECTION)

lint: venv collection ## ansible-lint (production profile) on roles, playbooks and molecule scenarios
	$(BIN)/ansible-lint --profile production

sanity: venv ## ansible-test sanity on a copy of the tracked files
	bash tests/sanity/run $(BIN)

sanity-matrix: venv ## Sanity's version-dependent tests on ansible-core 2.18, 2.19, 2.20 (venvs under build/; make sanity runs 2.21)
	bash tests/sanity/matrix 2.18:3.11 2.19:3.11 2.20:3.12

unit: venv collection ## Unit tests (no kernel needed)
	$(BIN)/python -m pytest -q tests/unit

units: venv ## ansible-test units in its own venv with tests/unit/requirements.txt; fails if a test is skipped
	mkdir -p build
	bash tests/ansible-test $(BIN) units --venv --requirements 2>&1 | tee build/units.log
	! grep -E '[0-9]+ skipped' build/units.log

keepalived-config: venv collection ## Every keepalived.conf the keepalived_ha role can render, through keepalived -t (host)
	$(BIN)/python -m pytest -q tests/keepalived

keepalived-config-trixie: venv collection ## keepalived-config with Debian 13's keepalived 2.3.3, from the lab's trixie node root (root)
	tests/keepalived/in-release-root trixie $(BIN)/python -m pytest -q tests/keepalived

frr-config: venv collection ## Every frr.conf the bgp_director role can render, through FRR's vtysh --dryrun (host)
	$(BIN)/python -m pytest -q tests/frr

docs-lint: venv ## antsibull-docs lint of every plugin's and role's documentation
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: venv ## antsibull-changelog lint of the changelog fragments
	$(BIN)/antsibull-changelog lint

changelog: venv ## Write CHANGELOG.md from the fragments, as the release of galaxy.yml's version will read
	bash tests/galaxy/changelog $(BIN)

dist: venv ## Build the collection tarball (build/dist) and check it ships no development material or cache
	bash tests/galaxy/build $(BIN)

galaxy-import: dist ## galaxy-importer (newest from PyPI, in build/venv-importer) imports the tarball: no error, no warning
	bash tests/galaxy/import $(PYTHON) $(BIN) build/dist/lvs-cluster-*.tar.gz

install-test: dist ## The tarball with only ansible-core and its declared dependencies: syntax check of site, ansible-doc of all
	bash tests/galaxy/install $(PYTHON) $(BIN) build/dist/lvs-cluster-*.tar.gz

lab-up: ## Build (cached) and boot the lab VM with IPVS and Docker
	$(LAB) up

lab-down: ## Stop the lab VM
	$(LAB) down

lab-status: ## Show whether the lab runs
	$(LAB) status

# make test deals the integration targets out to the two nodes (each target once: INTEGRATION_ARGS=--spread)
INTEGRATION_ARGS ?=

integration: venv venv-oldest collection ## Module integration tests on the lab's real kernel: every target on Debian 13's node from the newest ansible-core and on Debian 12's from the oldest
	LVS_IT_CONTROLLERS="bookworm=$(VENV_OLDEST)/bin" $(BIN)/python tests/integration/run $(INTEGRATION_ARGS)

molecule: venv collection ## Every molecule scenario on the lab (or SCENARIOS="ha nat"), logs in build/logs
	source <($(LAB) env) && tests/molecule/run $(BIN) $(SCENARIOS)

HOST_TOOLS := qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 keepalived vtysh

demo: ## From a fresh Debian machine (as root): host packages, venv, lab, the cluster with site.yml, then verify.yml
	@missing=$$(for tool in $(HOST_TOOLS); do command -v $$tool >/dev/null || echo $$tool; done); \
	  if [ -n "$$missing" ]; then echo "[demo] missing on this host: $$missing; installing the host packages"; \
	    $(MAKE) host-deps; fi
	$(MAKE) venv collection lab-up
	source <($(LAB) env) && PATH=$(CURDIR)/$(BIN):$$PATH && molecule create -s modes </dev/null \
	  && molecule prepare -s modes </dev/null && molecule converge -s modes </dev/null \
	  && ansible-playbook -i inventories/lab playbooks/verify.yml </dev/null

lab-reboot-test: venv collection lab-up ## Once, outside make test: molecule modes converged, then the director and two real servers restarted (molecule/modes/reboot.yml)
	source <($(LAB) env) && PATH=$(CURDIR)/$(BIN):$$PATH && molecule destroy -s modes </dev/null && molecule create -s modes </dev/null \
	  && molecule converge -s modes </dev/null && molecule side-effect -s modes </dev/null; status=$$?; \
	  molecule destroy -s modes </dev/null; exit $$status

benchmark: venv collection lab-up ## Print the IPVS scale figures (issue 6) measured in the lab
	source <($(LAB) env) && $(BIN)/python benchmarks/ipvs_scale.py

benchmark-cluster: venv collection lab-up ## Print site.yml vs ping and the data plane per mode, measured in the lab
	source <($(LAB) env) && $(BIN)/python benchmarks/cluster_figures.py

STAGE := tests/stage
export STAGE_TIMES := $(CURDIR)/build/stage-times.tsv

# `units` runs the tests of `make unit` (all of tests/unit) under ansible-test: CI runs it, not both.
HOST_CHECKS := lint sanity sanity-matrix units keepalived-config frr-config docs-lint changelog-lint galaxy-import install-test

test: venv venv-oldest collection ## Everything CI runs: host-side checks beside the lab; integration beside the scenarios
	[ -n "$${CI:-}" ] || rm -f $(STAGE_TIMES)
	( failed=0; for check in $(HOST_CHECKS); do \
	    nice -n 19 $(STAGE) --log build/logs/$$check.log $$check $(MAKE) $$check || failed=1; done; exit $$failed ) & checks=$$!; \
	  lab=0; if $(STAGE) "lab up" $(LAB) up; then \
	    $(STAGE) --log build/logs/keepalived-config-trixie.log "keepalived-config trixie" \
	      $(MAKE) keepalived-config-trixie || lab=1; \
	    $(STAGE) "integration (each target once, beside molecule)" $(MAKE) integration INTEGRATION_ARGS=--spread & integration=$$!; \
	    $(MAKE) molecule SCENARIOS="$(TEST_SCENARIOS)" || lab=1; wait $$integration || lab=1; \
	  else lab=1; fi; \
	  wait $$checks || { lab=$$((lab + 2)); echo "[test] a host-side check failed (build/logs/<check>.log)"; }; \
	  [ -n "$${CI:-}" ] || $(STAGE) --report; \
	  test $$lab -eq 0

clean: ## Remove build output (the lab cache stays)
	rm -rf build tests/output
