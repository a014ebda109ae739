package breachtest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

func TestFakeArchive(t *testing.T) {
	breachtest.ArchiveContract(t, func(t *testing.T) breach.Archive { return breachtest.NewArchive() })
}

func TestFakeArchiveFailsThirdOfFive(t *testing.T) {
	ctx := context.Background()
	a := breachtest.NewArchive()
	down := errors.New("s3 down")
	a.FailOn(func(key string) error {
		if key == "k3" {
			return down
		}
		return nil
	})
	var errs []error
	for i := 1; i <= 5; i++ {
		doc := fmt.Appendf(nil, `{"n":%d}`, i)
		errs = append(errs, a.Put(ctx, fmt.Sprintf("k%d", i), doc, breachtest.SHA256Hex(doc)))
	}
	if !slices.Equal(errs, []error{nil, nil, down, nil, nil}) {
		t.Fatalf("errors = %v", errs)
	}
	if got := a.Keys(); !slices.Equal(got, []string{"k1", "k2", "k4", "k5"}) {
		t.Fatalf("keys = %v", got)
	}
	a.FailOn(nil)
	doc := []byte(`{"n":3}`)
	if err := a.Put(ctx, "k3", doc, breachtest.SHA256Hex(doc)); err != nil {
		t.Fatal(err)
	}
	if got, ok := a.Object("k3"); !ok || string(got) != string(doc) {
		t.Fatalf("Object(k3) = %s, %v", got, ok)
	}
	if a.Puts("k3") != 2 || a.Puts("k1") != 1 {
		t.Fatalf("Puts: k3 %d, k1 %d", a.Puts("k3"), a.Puts("k1"))
	}
}

func TestFakeAlerts(t *testing.T) {
	ctx := context.Background()
	p := breachtest.NewAlerts()
	down := errors.New("sns down")
	p.FailOn(func(a breach.Alert) error {
		if a.Version == 2 {
			return down
		}
		return nil
	})
	regimes := []breach.Regime{breach.GDPR}
	for n := 1; n <= 3; n++ {
		err := p.Publish(ctx, breach.Alert{Kind: breach.AlertNew, ReportID: "r", Version: n, Regimes: regimes})
		if want := map[bool]error{true: down, false: nil}[n == 2]; err != want {
			t.Fatalf("Publish v%d = %v, want %v", n, err, want)
		}
	}
	regimes[0] = breach.DORA // the caller reusing its slice changes nothing published
	got := p.Published()
	if len(got) != 2 || got[0].Version != 1 || got[1].Version != 3 || got[0].Regimes[0] != breach.GDPR {
		t.Fatalf("Published = %+v", got)
	}
	if p.Attempts() != 3 {
		t.Fatalf("Attempts = %d", p.Attempts())
	}
}
