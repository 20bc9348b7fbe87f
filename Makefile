# Gatehouse. `make test` installs what the tests need and runs all of them,
# with throwaway backing services (PostgreSQL) from scripts/with-services.sh.
GO ?= go
STATICCHECK = $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)

.PHONY: run test deps lint unit bench loadtest-ci loadtest

run:
	$(GO) run ./cmd/gatehouse

deps:
	./scripts/test-deps.sh

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Calls over a simulated network (vnet) are only as punctual as the machine
# running them: they run after the rest, alone, so that other packages'
# tests do not load the CPU under them.
NETWORK_TESTS = ^(TestNetwork|TestReconnectAfterTenSecondNetworkCut)

test: deps lint
	./scripts/with-services.sh $(GO) test -race -count=1 -timeout 15m -skip '$(NETWORK_TESTS)' ./...
	$(GO) test -race -count=1 -timeout 5m -run '$(NETWORK_TESTS)' ./e2e/
	$(MAKE) loadtest-ci

bench:
	./scripts/with-services.sh $(GO) test -run '^$$' -bench . -benchmem ./...

# Load tests (loadtest/cmd/loadtest; README "Load testing"). Each starts its
# own server on loopback (--spawn) and exits non-zero when a call does not
# connect or its audio stops mid-call.
#
# loadtest-ci: short and bounded (well under 2 minutes), for `make test`: four
# one-to-one visits and one call of three, a 15 s steady window, every
# connection on one UDP port (the port's reader carries every call).
loadtest-ci:
	$(GO) run ./loadtest/cmd/loadtest --spawn --spawn-udp-port --scenario mixed --calls 4 --group-calls 1 \
		--participants 3 --ramp 2s --duration 15s --join-timeout 20s --timeout 100s --no-progress

# loadtest: the full runs, each with a JSON result and an HTML report in
# $(LOADTEST_OUT).
LOADTEST_OUT ?= loadtest-results
LOADTEST_DURATION ?= 60s
loadtest:
	mkdir -p $(LOADTEST_OUT)
	$(GO) run ./loadtest/cmd/loadtest --spawn --scenario one-to-one --calls 10 --ramp 10s \
		--duration $(LOADTEST_DURATION) --json $(LOADTEST_OUT)/one-to-one.json --report $(LOADTEST_OUT)/one-to-one.html
	$(GO) run ./loadtest/cmd/loadtest --spawn --scenario group --calls 3 --participants 5 --ramp 5s \
		--duration $(LOADTEST_DURATION) --json $(LOADTEST_OUT)/group.json --report $(LOADTEST_OUT)/group.html
	$(GO) run ./loadtest/cmd/loadtest --spawn --scenario fanout --calls 1 --participants 11 --ramp 3s \
		--duration $(LOADTEST_DURATION) --json $(LOADTEST_OUT)/fanout.json --report $(LOADTEST_OUT)/fanout.html
	$(GO) run ./loadtest/cmd/loadtest --spawn --scenario turn --calls 2 --ramp 2s \
		--duration $(LOADTEST_DURATION) --json $(LOADTEST_OUT)/turn.json --report $(LOADTEST_OUT)/turn.html
