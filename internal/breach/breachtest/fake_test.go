package breachtest_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

func TestFakeStore(t *testing.T) {
	breachtest.StoreContract(t, func(t *testing.T) breach.Store { return breachtest.NewStore(breachtest.ContractOrg) })
}
