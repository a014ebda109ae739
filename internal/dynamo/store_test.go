package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestStoreContract runs the contract every breach.Store must pass against DynamoDB on moto,
// a fresh table for each case.
func TestStoreContract(t *testing.T) {
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	tables := 0
	breachtest.StoreContract(t, func(t *testing.T) breach.Store {
		tables++
		name := fmt.Sprintf("contract-%d", tables)
		createTable(t, db, name)
		s := dynamo.New(db, name)
		if _, err := s.PutOrganisation(context.Background(), breachtest.ContractOrg, time.Now()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLedgerContract(t *testing.T) {
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	tables := 0
	breachtest.LedgerContract(t, func(t *testing.T) (breach.Store, breach.Ledger) {
		tables++
		name := fmt.Sprintf("ledger-%d", tables)
		createTable(t, db, name)
		s := dynamo.New(db, name)
		if _, err := s.PutOrganisation(context.Background(), breachtest.ContractOrg, time.Now()); err != nil {
			t.Fatal(err)
		}
		return s, s
	})
}
