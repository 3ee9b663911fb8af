# The two commands a newcomer needs: `make run` and `make test`. Each installs and builds what it needs.
NODE_BIN := node_modules/.bin
EXAMPLES := header-canary zone-affinity version-split deny drain
FIXTURES := $(wildcard test/fixtures/*/assembly/index.ts)

.PHONY: install build build-host build-plugins build-fixtures test run bench clean

install: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

build: install build-host build-plugins build-fixtures

build-host:
	$(NODE_BIN)/tsc -p tsconfig.json

build-plugins: build-host
	@for p in $(EXAMPLES); do node bin/switchyard.js build plugins/$$p --out build/plugins/$$p || exit 1; done

build-fixtures: build-host
	@for f in $(FIXTURES); do d=$$(dirname $$(dirname $$f)); node bin/switchyard.js build $$d --out $$d/bundle --no-check || exit 1; done

# The last line is the plain 'N passed, N failed' count that CI reads whatever the runner.
test: build
	$(NODE_BIN)/vitest run --reporter=default --reporter=json --outputFile=build/vitest-report.json
	@node -e 'const r=require("./build/vitest-report.json"); console.log(`tests: $${r.numPassedTests} passed, $${r.numFailedTests} failed, $${r.numPendingTests} skipped`)'

run: build
	node bin/switchyard.js demo

bench: build
	node dist/bench/run.js

clean:
	rm -rf dist build plugins/*/bundle test/fixtures/*/bundle node_modules/.installed
