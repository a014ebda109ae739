package breachtest_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

func TestFakeWatchlist(t *testing.T) {
	breachtest.WatchlistContract(t, func(t *testing.T) (breach.Store, breach.Watchlist) {
		s := breachtest.NewStore(breachtest.ContractOrg)
		return s, s
	})
}

func TestFakeCorrelations(t *testing.T) {
	breachtest.CorrelationsContract(t, func(t *testing.T) breach.Correlations { return breachtest.NewStore() })
}
