# The two commands a newcomer needs: `make run` and `make test`. Each installs and builds what it needs.
NODE_BIN := node_modules/.bin
EXAMPLES := header-canary zone-affinity version-split deny drain
FIXTURES := $(wildcard test/fixtures/*/assembly/index.ts)
# Example plugins in other languages, compiled to core modules and packaged by `switchyard pack`
# (docs/other-languages.md); each rebuilds only when its sources or the SDK file it includes change.
RAW_EXAMPLES := header-canary-c header-canary-rust
# In build/raw-plugins, not build/plugins: the demo and explain load every bundle there, and these repeat
# header-canary's rule.
RAW_BUNDLES := $(RAW_EXAMPLES:%=build/raw-plugins/%/metadata.json)
# header-canary as a WebAssembly component (sdk/wit): the same plugin source, built with --component.
# header-canary-js: JavaScript made a component by componentize-js 0.19.3 (StarlingMonkey, no WASI), then
# packed. Not `jco componentize`: that runs componentize-js 0.22.0, whose embedding no longer frees what
# cabi_realloc gave between calls (the lowered arguments, the lowered answer) and whose bindings keep up to a
# thousand finished tasks: its guest memory grew to 169 MiB and its RSS rose ~4 MiB per 10k calls without
# levelling; 0.19.3 frees them in cabi_post_* and levels (bench/component-js.ts, docs/other-languages.md). The
# 0.19.3 package is the one jco 1.34.0 (pinned) installs under this alias for its older-WASI worlds.
# header-canary-c-component: C exporting the world's functions by hand in the canonical ABI, made a
# component by `jco embed` (the WIT in a custom section) and `jco new` (wasm-tools component new).
COMPONENT_BUNDLES := build/component-plugins/header-canary/metadata.json build/component-plugins/header-canary-js/metadata.json \
  build/component-plugins/header-canary-c-component/metadata.json build/component-plugins/header-canary-rust-component/metadata.json
CLANG_WASM := clang --target=wasm32 -nostdlib -O2 -Wall -Werror -Wl,--no-entry
RUSTC_WASM := /usr/bin/rustc --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib -O -C panic=abort -C strip=symbols -C lto

.PHONY: install build build-host build-plugins build-raw-plugins build-component-plugins build-fixtures test run bench clean

# npm ci only when the locked dependencies change: the stamp holds a digest of package-lock.json's packages
# (not the file's time, which a checkout or rebase moves, nor the root entry, which names this project).
LOCK_DIGEST = node -e 'const p=require("./package-lock.json").packages;delete p[""];process.stdout.write(require("crypto").createHash("sha256").update(JSON.stringify(p)).digest("hex"))'
install:
	@d=$$($(LOCK_DIGEST)); if [ "$$(cat node_modules/.installed 2>/dev/null)" != "$$d" ]; then npm ci --no-audit --no-fund && echo "$$d" > node_modules/.installed; fi

# Every build step is a file target with its real prerequisites, so that an unchanged re-run of `make run` or
# `make test` builds nothing. The host: tsc when a host, harness or bench source changes (a stamp, since tsc
# rewrites every output). A bundle: when its plugin's sources or plugin.json, the SDK, or the build tooling
# (host/build, host/abi) change; the compiled host is order-only, needed first but no reason to rebuild.
HOST_SRC := $(shell find host sdk/harness bench -name '*.ts' -not -path '*/assembly/*') tsconfig.json
HOST := build/host.stamp
SDK_SRC := $(shell find sdk/assembly -name '*.ts')
BUILD_SRC := $(wildcard host/build/*.ts host/abi/*.ts)
PLUGIN_BUNDLES := $(EXAMPLES:%=build/plugins/%/metadata.json)
FIXTURE_BUNDLES := $(FIXTURES:%/assembly/index.ts=%/bundle/metadata.json)
.SECONDEXPANSION:

build: install build-host build-plugins build-raw-plugins build-component-plugins build-fixtures

build-host: install $(HOST)
$(HOST): $(HOST_SRC)
	$(NODE_BIN)/tsc -p tsconfig.json
	@mkdir -p $(@D) && touch $@

build-plugins: $(PLUGIN_BUNDLES)
build/plugins/%/metadata.json: plugins/%/plugin.json $$(shell find plugins/$$*/assembly -name '*.ts') $(SDK_SRC) $(BUILD_SRC) | build-host
	node bin/switchyard.js build plugins/$* --out $(@D)

build-raw-plugins: $(RAW_BUNDLES)

build/wasm/header-canary-c.wasm: plugins/header-canary-c/header-canary.c sdk/c/switchyard.h
	@mkdir -p $(@D)
	$(CLANG_WASM) -o $@ $<

build/wasm/header-canary-rust.wasm: plugins/header-canary-rust/header_canary.rs sdk/rust/switchyard.rs
	@mkdir -p $(@D)
	$(RUSTC_WASM) -o $@ $<

# build-host is order-only: the bundle is re-packed when the module or plugin.json changes, not on every tsc.
build/raw-plugins/%/metadata.json: build/wasm/%.wasm plugins/%/plugin.json | build-host
	node bin/switchyard.js pack $< --plugin-json plugins/$*/plugin.json --out $(@D)

build-component-plugins: $(COMPONENT_BUNDLES)
COMPONENTIZE_JS := node node_modules/@bytecodealliance/componentize-js-0-19-3/src/cli.js
build/wasm/header-canary-js.wasm: plugins/header-canary-js/header-canary.js sdk/wit/router.wit
	@mkdir -p $(@D)
	$(COMPONENTIZE_JS) $< --wit sdk/wit/router.wit --world-name plugin --disable stdio random clocks http fetch-event -o $@

build/component-plugins/header-canary-js/metadata.json: build/wasm/header-canary-js.wasm plugins/header-canary-js/plugin.json | build-host
	node bin/switchyard.js pack $< --plugin-json plugins/header-canary-js/plugin.json --out $(@D)

build/wasm/header-canary-c-component.core.wasm: plugins/header-canary-c-component/header-canary.c plugins/header-canary-c/header-canary.c sdk/c/switchyard.h
	@mkdir -p $(@D)
	$(CLANG_WASM) -o $@ $<

# The Rust one the same way; --cfg component makes sdk/rust/switchyard.rs import the world's host.log/fail.
build/wasm/header-canary-rust-component.core.wasm: plugins/header-canary-rust-component/header_canary.rs plugins/header-canary-rust/header_canary.rs sdk/rust/switchyard.rs
	@mkdir -p $(@D)
	$(RUSTC_WASM) --cfg component -o $@ $<

# Each hand-written component (C, Rust): the core module embedded with the world, made a component, packed.
define HAND_COMPONENT
build/wasm/$(1).wasm: build/wasm/$(1).core.wasm sdk/wit/router.wit
	$$(NODE_BIN)/jco embed $$< --wit sdk/wit/router.wit --world-name plugin -o $$@.embedded
	$$(NODE_BIN)/jco new $$@.embedded -o $$@
	@rm -f $$@.embedded

build/component-plugins/$(1)/metadata.json: build/wasm/$(1).wasm plugins/$(1)/plugin.json | build-host
	node bin/switchyard.js pack $$< --plugin-json plugins/$(1)/plugin.json --out $$(@D)
endef
$(foreach c,header-canary-c-component header-canary-rust-component,$(eval $(call HAND_COMPONENT,$(c))))

build/component-plugins/%/metadata.json: plugins/%/plugin.json $$(shell find plugins/$$*/assembly -name '*.ts') $(SDK_SRC) $(BUILD_SRC) sdk/wit/router.wit host/plugin/component.ts | build-host
	node bin/switchyard.js build plugins/$* --component --out $(@D)

# Fixtures are broken on purpose: built without the checks. `make run` builds none of them.
build-fixtures: $(FIXTURE_BUNDLES)
test/fixtures/%/bundle/metadata.json: test/fixtures/%/plugin.json $$(shell find test/fixtures/$$*/assembly -name '*.ts') $(SDK_SRC) $(BUILD_SRC) | build-host
	node bin/switchyard.js build test/fixtures/$* --out $(@D) --no-check

# The last line is the plain 'N passed, N failed' count that CI reads whatever the runner.
test: build
	$(NODE_BIN)/vitest run --reporter=default --reporter=json --outputFile=build/vitest-report.json
	@node -e 'const r=require("./build/vitest-report.json"); console.log(`tests: $${r.numPassedTests} passed, $${r.numFailedTests} failed, $${r.numPendingTests} skipped`)'

run: install build-host build-plugins
	node bin/switchyard.js demo

bench: build
	node dist/bench/run.js

clean:
	rm -rf dist build plugins/*/bundle test/fixtures/*/bundle node_modules/.installed
