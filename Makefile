# Family Help. `make run` serves the site; `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
BIN := bin/familyhelp
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEMPL := github.com/a-h/templ/cmd/templ@v0.3.977
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.7.0
VULNDB := $(abspath ../shared/vulndb)

.PHONY: run build test lint unit fuzz e2e bench assets templates vuln deploy-check clean

run:
	$(GO) run ./cmd/familyhelp

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/familyhelp

# Everything: formatting, vet, staticcheck, govulncheck, Go tests, a short fuzz run, the deployment
# files, browser tests.
test: lint unit fuzz deploy-check e2e

lint:
	GO=$(GO) TEMPL=$(TEMPL) scripts/check-templates
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(MAKE) --no-print-directory vuln

# Go tests, with Redis and PostgreSQL started (or installed) if they are not running.
unit:
	scripts/ensure-services
	$(GO) test -count=1 ./...

# Every fuzz target for FUZZTIME each (the seed corpora in testdata/fuzz also run in `unit`).
FUZZTIME ?= 5s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz-short

# Browser journeys and accessibility checks in Chromium (installed if missing).
e2e: build
	scripts/ensure-browser
	npm ci --no-audit --no-fund --loglevel=error
	FAMILYHELP_BIN=$(abspath $(BIN)) node --test e2e/

bench:
	$(GO) run ./cmd/benchload

# Regenerate the page code from views/*.templ (the output is committed).
templates:
	$(GO) run $(TEMPL) fmt views
	$(GO) run $(TEMPL) generate -path views

# Rebuild static/assets from static/src (the output is committed).
assets:
	npm ci --no-audit --no-fund --loglevel=error
	npm run build

# docker-compose.yml (`docker compose config`) and the Dockerfile (BuildKit's checks), without a
# Docker engine; builds Compose from the Go module proxy once if the plugin is missing.
deploy-check:
	GO=$(GO) scripts/check-compose

vuln:
	$(GO) run $(GOVULNCHECK) -db "file://$(VULNDB)" ./...

clean:
	rm -rf bin data
