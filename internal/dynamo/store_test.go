package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestStoreContract runs the contract every breach.Store must pass against DynamoDB on moto,
// a fresh table for each case.
// freshTables gives each call a new table, created from the template, on one moto_server per
// test: every contract subtest starts empty.
func freshTables(t *testing.T) func(t *testing.T) (*dynamodb.Client, string) {
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	tables := 0
	return func(t *testing.T) (*dynamodb.Client, string) {
		tables++
		name := fmt.Sprintf("table-%d", tables)
		createTable(t, db, name)
		return db, name
	}
}

// contractStores gives each call a Store on a new table, with the contracts' organisation
// provisioned.
func contractStores(t *testing.T) func(t *testing.T) *dynamo.Store {
	table := freshTables(t)
	return func(t *testing.T) *dynamo.Store {
		s := dynamo.New(table(t))
		if _, err := s.PutOrganisation(context.Background(), breachtest.ContractOrg, time.Now()); err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestStoreContract(t *testing.T) {
	open := contractStores(t)
	breachtest.StoreContract(t, func(t *testing.T) breach.Store { return open(t) })
}

func TestLedgerContract(t *testing.T) {
	open := contractStores(t)
	breachtest.LedgerContract(t, func(t *testing.T) (breach.Store, breach.Ledger) {
		s := open(t)
		return s, s
	})
}

// TestSaveVersionRetriesATransactionConflict: DynamoDB cancels a transaction that meets another
// on the same items (two retries of one request in flight) with TransactionConflict; the store
// tries again rather than answering 500.
func TestSaveVersionRetriesATransactionConflict(t *testing.T) {
	conflicts := 2
	cfg := localtest.Config(t, localtest.Moto(t))
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("conflict",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if _, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok && conflicts > 0 {
						conflicts--
						code := func(c string) types.CancellationReason { return types.CancellationReason{Code: aws.String(c)} }
						return middleware.InitializeOutput{}, middleware.Metadata{}, &types.TransactionCanceledException{
							Message:             aws.String("Transaction cancelled"),
							CancellationReasons: []types.CancellationReason{code("None"), code("TransactionConflict"), code("None"), code("None")},
						}
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
	createTable(t, db, "conflict")
	s := dynamo.New(db, "conflict")
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	v := breach.Version{OrgID: "org", ReportID: "01JAAAAAAAAAAAAAAAAAAAAAE1", Number: 1, Stage: breach.StageInitial,
		ReceivedAt: now, Severity: breach.Low, Document: []byte(`{}`), SHA256: "00"}
	rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: "org", Route: breach.RouteSubmit, Key: "k"},
		RequestSHA256: "aa", Receipt: []byte(`{}`), ExpiresAt: now.Add(breach.IdempotencyTTL)}
	if prior, err := s.SaveVersion(context.Background(), v, headOf(v), rec, now); err != nil || prior != nil {
		t.Fatalf("SaveVersion = %v, %v; want it stored after the conflicts", prior, err)
	}
	if conflicts != 0 {
		t.Fatalf("%d conflicts not met", conflicts)
	}
	if got, err := s.Version(context.Background(), v.ReportID, 1); err != nil || got.SHA256 != "00" {
		t.Fatalf("stored version: %+v, %v", got, err)
	}
}
