.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

OPA_VERSION   ?= 1.22.2
GATOR_VERSION ?= 3.23.0
REGAL_VERSION ?= 0.39.0
# The local cluster of the admission tests (make e2e).
ETCD_VERSION           ?= 3.6.16
KUBE_APISERVER_VERSION ?= 1.34.4
GATEKEEPER_VERSION     ?= 3.23.0
PYTHON        ?= python3

TOOLS := $(CURDIR)/.tools
BIN   := $(TOOLS)/bin
VENV  := $(CURDIR)/.venv
PY    := $(VENV)/bin/python
OPA   := $(BIN)/opa
GATOR := $(BIN)/gator
REGAL := $(BIN)/regal

# One versioned directory per tool: changing a version builds the new one, the
# old binary never answers for it.
OPA_PIN   := $(TOOLS)/opa-$(OPA_VERSION)/opa
GATOR_PIN := $(TOOLS)/gator-$(GATOR_VERSION)/gator
REGAL_PIN := $(TOOLS)/regal-$(REGAL_VERSION)/regal
ETCD_PIN           := $(TOOLS)/etcd-$(ETCD_VERSION)/etcd
KUBE_APISERVER_PIN := $(TOOLS)/kube-apiserver-$(KUBE_APISERVER_VERSION)/kube-apiserver
GATEKEEPER_PIN     := $(TOOLS)/gatekeeper-$(GATEKEEPER_VERSION)/gatekeeper
GATEKEEPER_CRDS    := $(TOOLS)/gatekeeper-$(GATEKEEPER_VERSION)/crds
# Our CEL cost tool is built against the kube-apiserver version; its directory also names a
# hash of its source (harness/vap_cost.py computes the same): an edit builds a new one, and a
# present one is never rebuilt.
CELCOST_SOURCES := tools/celcost/go.mod tools/celcost/go.sum tools/celcost/main.go
CELCOST_HASH    := $(shell cat $(CELCOST_SOURCES) | sha256sum | cut -c1-12)
CELCOST_PIN     := $(TOOLS)/celcost-$(KUBE_APISERVER_VERSION)-$(CELCOST_HASH)/celcost

REVISION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)

export PATH := $(BIN):$(PATH)
export WINPOD_OPA := $(OPA)
export WINPOD_GATOR := $(GATOR)

.PHONY: help
help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

# --- setup -------------------------------------------------------------------

$(OPA_PIN):
	mkdir -p $(@D)
	CGO_ENABLED=0 GOBIN=$(@D) go install github.com/open-policy-agent/opa@v$(OPA_VERSION)

$(GATOR_PIN):
	mkdir -p $(@D)
	CGO_ENABLED=0 GOBIN=$(@D) go install github.com/open-policy-agent/gatekeeper/v3/cmd/gator@v$(GATOR_VERSION)

# `go install regal@v...` asks the proxy for regal's version list (deprecation
# check), which the proxy here refuses; a throwaway module pinning the exact
# version builds the same binary without that request.
$(REGAL_PIN):
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  go mod init winpod-guard-tools >/dev/null 2>&1 && \
	  go get github.com/open-policy-agent/regal@v$(REGAL_VERSION) && \
	  CGO_ENABLED=0 go build -o $@ github.com/open-policy-agent/regal

# One line naming what failed and how to retry, after go's own output.
build_failed = { echo "$(1) did not build; retry with: make cluster-tools" >&2; exit 2; }

# etcd's server module carries replace directives, which `go install` refuses;
# a throwaway module builds it as regal is built.
$(ETCD_PIN):
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  go mod init winpod-guard-etcd >/dev/null 2>&1 && \
	  go get go.etcd.io/etcd/server/v3@v$(ETCD_VERSION) && \
	  CGO_ENABLED=0 go build -o $@.tmp go.etcd.io/etcd/server/v3 && mv $@.tmp $@ \
	  || $(call build_failed,etcd $(ETCD_VERSION))

# About 11 minutes and 1.8 GB of memory on 2 cores the first time; a relink after.
$(KUBE_APISERVER_PIN):
	mkdir -p $(@D)
	scripts/build-kube-apiserver.sh $(KUBE_APISERVER_VERSION) $@.tmp && mv $@.tmp $@ \
	  || $(call build_failed,kube-apiserver $(KUBE_APISERVER_VERSION))

# The version flags kube-apiserver is built with: they fix the CEL compatibility version.
$(CELCOST_PIN):
	mkdir -p $(@D)
	cd tools/celcost && CGO_ENABLED=0 go build -ldflags "-X k8s.io/component-base/version.gitVersion=v$(KUBE_APISERVER_VERSION) \
	  -X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(KUBE_APISERVER_VERSION))) \
	  -X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_APISERVER_VERSION)))" -o $@.tmp . && mv $@.tmp $@ \
	  || $(call build_failed,celcost (k8s.io/apiserver v0.$(KUBE_APISERVER_VERSION:1.%=%)))

# Gatekeeper runs out of cluster; the CRDs it needs ship in its module.
$(GATEKEEPER_PIN):
	mkdir -p $(@D)
	CGO_ENABLED=0 GOBIN=$(@D) go install github.com/open-policy-agent/gatekeeper/v3@v$(GATEKEEPER_VERSION) \
	  || $(call build_failed,gatekeeper $(GATEKEEPER_VERSION))

$(GATEKEEPER_CRDS):
	mkdir -p $(@D)
	dir=$$(go mod download -json github.com/open-policy-agent/gatekeeper/v3@v$(GATEKEEPER_VERSION) \
	    | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') && \
	  rm -rf $@.tmp && cp -r "$$dir/charts/gatekeeper/crds" $@.tmp && chmod -R u+w $@.tmp && mv $@.tmp $@ \
	  || $(call build_failed,the gatekeeper $(GATEKEEPER_VERSION) CRDs)

# Relative links: .tools may be shared through a symlink by several checkouts,
# and an absolute link would name the checkout that ran make last (gone with it).
.PHONY: tools
tools: $(OPA_PIN) $(GATOR_PIN) $(REGAL_PIN) ## build the pinned opa, gator and regal into .tools/bin
	mkdir -p $(BIN)
	ln -sfn ../opa-$(OPA_VERSION)/opa $(OPA)
	ln -sfn ../gator-$(GATOR_VERSION)/gator $(GATOR)
	ln -sfn ../regal-$(REGAL_VERSION)/regal $(REGAL)

.PHONY: cluster-tools
cluster-tools: $(ETCD_PIN) $(KUBE_APISERVER_PIN) $(GATEKEEPER_PIN) $(GATEKEEPER_CRDS) $(CELCOST_PIN) ## build the pinned etcd, kube-apiserver, gatekeeper and the CEL cost tool into .tools
	mkdir -p $(BIN)
	ln -sfn ../etcd-$(ETCD_VERSION)/etcd $(BIN)/etcd
	ln -sfn ../kube-apiserver-$(KUBE_APISERVER_VERSION)/kube-apiserver $(BIN)/kube-apiserver
	ln -sfn ../gatekeeper-$(GATEKEEPER_VERSION)/gatekeeper $(BIN)/gatekeeper

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create .venv with the harness and its test dependencies

.PHONY: setup
setup: tools cluster-tools venv ## everything the other targets need (idempotent, quick when nothing changed)

# --- Rego --------------------------------------------------------------------

.PHONY: fmt
fmt: setup ## rewrite Rego with opa fmt
	$(OPA) fmt --v1-compatible -w policies/ harness/floor/

.PHONY: lint
lint: setup ## opa fmt, opa check --strict, regal lint, ruff
	@out=$$($(OPA) fmt --list policies/ harness/floor/); if [ -n "$$out" ]; then echo "not formatted (run make fmt):"; echo "$$out"; exit 1; fi
	$(OPA) check --strict policies/
	$(OPA) check --strict harness/floor/
	$(REGAL) lint --format pretty policies/
	$(VENV)/bin/ruff check harness tests

.PHONY: rego-test
rego-test: setup ## opa test, and coverage >= 95%
	$(OPA) test --timeout 60s policies/
	cov=$$(mktemp -t winpod-coverage.XXXXXX) && trap 'rm -f "$$cov"' EXIT && \
	  { $(OPA) test --timeout 60s policies/ --coverage --threshold 95 > "$$cov" || status=$$?; } && \
	  $(PY) -c 'import json,sys; r=json.load(open(sys.argv[1])); print("rego coverage: %.1f%%" % r["coverage"]); [print("  %s: %.1f%%" % (f, v.get("coverage", 0))) for f, v in sorted(r["files"].items()) if v.get("coverage", 0) < 95]' "$$cov" && \
	  exit $${status:-0}

BUNDLE_CONFIG ?= winpod-config.yaml

.PHONY: bundle
bundle: setup ## build dist/winpod-bundle.tar.gz: the policies (roots winpod, lib) with BUNDLE_CONFIG inside (empty: built-in default)
	$(VENV)/bin/winpod bundle $(if $(BUNDLE_CONFIG),--config $(BUNDLE_CONFIG)) --revision $(REVISION) -o dist/winpod-bundle.tar.gz

# --- Gatekeeper --------------------------------------------------------------

.PHONY: generate
generate: setup ## regenerate gatekeeper/templates from policies/
	$(VENV)/bin/winpod generate

.PHONY: gator-verify
gator-verify: setup ## gator verify the template suites
	$(GATOR) verify gatekeeper/...

# --- ValidatingAdmissionPolicy -------------------------------------------------

.PHONY: vap
vap: setup ## write BUNDLE_CONFIG's ValidatingAdmissionPolicies and bindings into dist/vap (CEL from vap/)
	$(VENV)/bin/winpod vap $(if $(BUNDLE_CONFIG),--config $(BUNDLE_CONFIG)) -o dist/vap

# --- Python ------------------------------------------------------------------

.PHONY: pytest
pytest: setup ## the pytest suite (OPA in a container, gator, fixtures)
	$(PY) -m pytest $(PYTEST_ARGS)

# --- entry points --------------------------------------------------------------

.PHONY: e2e
e2e: setup ## admission end to end alone: a local etcd, kube-apiserver and Gatekeeper, OPA as a webhook (make test runs it too)
	$(PY) -m pytest -m cluster $(PYTEST_ARGS)

.PHONY: test
test: lint rego-test gator-verify pytest ## everything CI runs: lint, opa test, gator verify, pytest

# OPA in a container when a Docker engine answers, else (saying so) as a local process.
.PHONY: demo
demo: setup ## run the fixture corpus through OPA; show the guidance examples' verdicts and the cases per rule
	$(VENV)/bin/winpod demo fixtures/

.PHONY: bench
bench: setup ## benchmarks: OPA cold start, decisions/s, rule evaluation time
	$(VENV)/bin/winpod bench

.PHONY: clean
clean: ## remove build output (keeps .tools and .venv)
	rm -rf dist reports .pytest_cache .hypothesis

.PHONY: distclean
distclean: clean ## remove build output, tools and the virtualenv
	rm -rf .tools .venv
