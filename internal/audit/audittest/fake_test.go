package audittest_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
)

func TestFakeStore(t *testing.T) {
	audittest.StoreContract(t, func(*testing.T) audit.Store { return audittest.NewStore() })
}

func TestFakeAnchors(t *testing.T) {
	audittest.AnchorsContract(t, func(*testing.T) audit.Anchors { return audittest.NewAnchors() })
}
