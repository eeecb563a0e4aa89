# modhost: the two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/modhost

.PHONY: run test build deps unit spec spec-prosody spec-diff spec-examples fuzz fuzz-short bench bench-roster bench-contacts soak lint hostile sweep

build:
	$(GO) build -o $(BIN) ./cmd/modhost

# Everything the tests need that is not Go: Prosody 0.12, prosody-modules,
# busted, Lua 5.4 and luacheck from Debian's packages (installed only when
# missing).
deps:
	scripts/install-deps

# golangci-lint (.golangci.yml, pinned and installed into bin/ on first use)
# and luacheck (.luacheckrc); LINT_JOBS=1 keeps golangci-lint to one CPU.
lint:
	GO=$(GO) scripts/lint

# The demo: modhost on the example config with the contacts app, and a
# scripted walkthrough (scripts/demo).
run:
	scripts/demo

test: deps build
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint
	GO=$(GO) scripts/spec-diff
	$(BIN) check --config examples/prosody.cfg.lua >/dev/null
	$(BIN) test --config examples/plugins/spec/test.cfg.lua examples/plugins/spec
	$(MAKE) --no-print-directory fuzz-short
	$(GO) test -count=1 ./...

# The fast loop for developers (well under a minute): every Go test that
# needs no Prosody, no fuzzing and no load (-short skips those: the tests
# that start Prosody, the load, fault and soak tests, and the roster-admin
# scenarios that wait for timeouts to pass), and the compat specs
# under modhost. Not a substitute for make test.
unit: build
	$(GO) test -short -count=1 ./...
	$(BIN) test compat/spec

# The compat specs under modhost's own runner (compat/spec/README.md);
# spec-prosody runs them against Prosody's libraries.
spec: build
	$(BIN) test compat/spec

# The compat specs against Prosody 0.12's own libraries, under Debian's busted.
spec-prosody: deps
	scripts/spec-prosody

# The differential run: the compat specs under modhost and under Prosody's
# libraries (busted, Lua 5.4), compared test by test, names and outcomes.
spec-diff: deps build
	GO=$(GO) scripts/spec-diff

# The example hook plugins' specs, run by modhost itself with their config.
spec-examples: build
	$(BIN) test --config examples/plugins/spec/test.cfg.lua examples/plugins/spec

# Speed figures, not part of `make test`: the Go benchmarks briefly (compat's
# libraries, host's event dispatch and runtime start-up), then the same Lua
# timing script on Prosody's own libraries and inside modhost.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime=1s -benchmem ./compat/ ./host/
	scripts/bench-libs

# Fuzzing: `make test` runs every target briefly (fuzz-short) besides every
# seed corpus in testdata/fuzz as ordinary tests. go fuzzes one target per run, so each is
# listed with its package; a crasher is written to that package's
# testdata/fuzz/<Name>/ and the run stops there.
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./host/config:FuzzParse \
	./compat:FuzzXMLParse \
	./compat:FuzzStanzaRoundTrip \
	./compat:FuzzUtilJSONDecode \
	./compat:FuzzJIDPrep \
	./plugins/mod_http_roster_admin:FuzzRefreshBody \
	./plugins/mod_http_roster_admin:FuzzBackendRoster \
	./plugins/mod_http_roster_admin:FuzzRosterReaderWays \
	./plugins/mod_storage_memory:FuzzPackUnpackArbitraryBytes \
	./host/xmpp/component:FuzzDecode

fuzz:
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target#*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# CI's brief run: every target for 500 inputs. A count, not a time: with a
# time, Go 1.26's fuzz coordinator can fail a target at the deadline having
# found nothing ("context deadline exceeded", go.dev/issue/75804, fixed in
# Go 1.27), as it did in CI on FuzzParse.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=500x

# The roster-admin workload in three setups in one run (Prosody + plugin, modhost
# standalone, modhost linked to Prosody); not part of `make test`.
# Flags: make bench-roster BENCH_FLAGS='-users 100 -rounds 10'
bench-roster:
	$(GO) build -o bin/modhost-bench ./cmd/modhost-bench
	bin/modhost-bench $(BENCH_FLAGS)

# Refreshes of one roster replaced by 1k, 10k and 100k other contacts, both
# readers (plugins/mod_http_roster_admin/large_bench_test.go); a refresh
# must be linear in contacts. Sizes: BENCH_CONTACTS=1000,4000.
bench-contacts:
	MODHOST_BENCH_CONTACTS=$(BENCH_CONTACTS) $(GO) test -run '^$$' -bench BenchmarkRefreshLarge -benchtime 1x -benchmem -timeout 60m ./plugins/mod_http_roster_admin/

# The hostile probe, not part of `make test` (minutes, figures rather than
# assertions; each bound it exercises has its own test): a real modhost on
# loopback against slow, huge, smuggled and abandoned requests, hostile
# bodies and web app answers, handlers that never return and a SIGTERM while
# busy; per probe the answer, time, RSS and goroutines before and after.
hostile: build
	$(GO) build -o bin/modhost-hostile ./cmd/modhost-hostile
	bin/modhost-hostile $(HOSTILE_FLAGS)

# The soak, not part of `make test`: SOAK_TIME (a Go duration) of mixed
# logins, logouts and refreshes on one standalone runtime
# (plugins/mod_http_roster_admin/soak_test.go), checking every request is answered,
# goroutines come back to their baseline and RSS stays bounded; it logs RSS
# and goroutines as it goes. No go test timeout: every operation in it has
# its own deadline.
SOAK_TIME ?= 10m
soak:
	MODHOST_SOAK=$(SOAK_TIME) $(GO) test -count=1 -timeout 0 -run '^TestRosterAdminSoak$$' -v ./plugins/mod_http_roster_admin/

# The module sweep, not part of `make test` (a few minutes): every module in
# the installed Prosody's plugin folder (Prosody's own and Debian's
# prosody-modules), one by one on a minimal config, run for 2 s; loaded /
# skipped (server-side) / failed with the first error, and a summary by
# cause. SWEEP_FLAGS='-all' also loads what modhost skips as server-side.
sweep:
	$(GO) run ./cmd/modhost-sweep $(SWEEP_FLAGS)
