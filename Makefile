# Gatehouse. `make test` installs what the tests need and runs all of them,
# with throwaway backing services (PostgreSQL) from scripts/with-services.sh.
GO ?= go
STATICCHECK = $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)

.PHONY: run test deps lint unit bench

run:
	$(GO) run ./cmd/gatehouse

deps:
	./scripts/test-deps.sh

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

test: deps lint
	./scripts/with-services.sh $(GO) test -race -count=1 -timeout 15m ./...

bench:
	./scripts/with-services.sh $(GO) test -run '^$$' -bench . -benchmem ./...
