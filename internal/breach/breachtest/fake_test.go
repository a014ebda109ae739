package breachtest_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

func TestFakeStore(t *testing.T) {
	breachtest.StoreContract(t, func(t *testing.T) breach.Store { return breachtest.NewStore(breachtest.ContractOrg) })
}

func TestFakeLedger(t *testing.T) {
	breachtest.LedgerContract(t, func(t *testing.T) (breach.Store, breach.Ledger) {
		s := breachtest.NewStore(breachtest.ContractOrg)
		return s, s
	})
}
