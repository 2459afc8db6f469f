# The commands a newcomer types. `make demo` shows the operator's main job; `make test` runs
# every test (CI runs exactly that, through .ci/run).
SHELL := /bin/bash
CARGO := . scripts/cargo-env && cargo

.PHONY: demo test docs docs-reference build triggers image test-install test-monitoring fuzz test-web web bench-triggers bench-operator crds fmt lint testbed-up testbed-down

demo: ## the local demo on the test bed (no cloud)
	scripts/demo

test: ## fmt, clippy, unit and integration tests against the real test bed
	scripts/test

docs: ## the book (docs/, mdBook) into target/book, its links checked
	scripts/docs

docs-reference: ## rewrite the book's generated pages (API, conditions, CLI, Helm values, IAM policy, trigger environment, metrics)
	$(CARGO) run --locked -q -p passwordless-operator -- reference --out docs/src

build: triggers ## debug build of the workspace, and the trigger zip
	$(CARGO) build --locked --workspace

triggers: ## target/lambda/bootstrap.zip: the release trigger for provided.al2023 (glibc <= 2.34 checked)
	scripts/package-triggers release

image: ## the container image (static binary, FROM scratch, buildah, SBOMs): target/image/oci:latest, a .tar, target/image/sbom/
	scripts/build-image

test-install: ## the install path alone: chart checks, helm install/upgrade/uninstall on the test bed
	scripts/testbed up all
	scripts/test-install

test-monitoring: ## the chart's alerts (promtool check and unit tests) and dashboard, and that they read only metrics the operator exports
	scripts/test-monitoring

test-faults: ## the controller under injected AWS faults, random SIGKILLs and an apiserver restart (PWP_FAULT_POOLS, PWP_FAULT_KILLS, PWP_FAULT_SEED)
	scripts/test-faults

test-web: ## the reference sign-in page in Chromium against pools the controller made (screenshots in target/web-test/)
	scripts/test-web

web: ## build the reference sign-in page (examples/web/dist)
	scripts/build-web

fuzz: ## the trigger's property tests at length (PWP_PROPTEST_CASES, default 20000 per property)
	PWP_PROPTEST_CASES=$${PWP_PROPTEST_CASES:-20000} $(CARGO) test --locked -p passwordless-triggers --lib properties -- --nocapture --test-threads 1

bench-triggers: ## trigger cold start, warm p50/p99, zip size, sign-in round trip vs a no-op baseline
	scripts/bench-triggers

bench-operator: ## controller apply-to-Ready (1 and N pools), AWS calls per resync, RSS/CPU at rest
	scripts/bench-operator

crds: ## regenerate crds/ and the chart's copy from the Rust types
	$(CARGO) run --locked -q -p passwordless-operator -- crd > crds/passwordlesspools.yaml
	cp crds/passwordlesspools.yaml charts/passwordless-operator/crds/passwordlesspools.yaml

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

testbed-up:
	scripts/testbed up all

testbed-down:
	scripts/testbed down
