package breachtest

import (
	"context"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// ContractOrg is the organisation StoreContract expects open to have provisioned.
var ContractOrg = breach.Organisation{ID: "contract-org", LegalName: "Contract SA", SIREN: "552100554", Country: "FR"}

// StoreContract is the behaviour every breach.Store must show. open returns a fresh, empty store
// in which ContractOrg is provisioned.
func StoreContract(t *testing.T, open func(t *testing.T) breach.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	version := func(id breach.ReportID, n int) breach.Version {
		return breach.Version{OrgID: ContractOrg.ID, ReportID: id, Number: n, Stage: breach.StageInitial,
			ReceivedAt: now, Severity: breach.Low, Document: []byte(`{"id":"` + string(id) + `"}`), SHA256: "00"}
	}
	record := func(key string, sha string) breach.IdempotencyRecord {
		return breach.IdempotencyRecord{
			Key:           breach.IdempotencyKey{Org: ContractOrg.ID, Route: breach.RouteSubmit, Key: key},
			RequestSHA256: sha, Receipt: []byte(`{"receipt":"` + key + `"}`), ExpiresAt: now.Add(breach.IdempotencyTTL),
		}
	}

	t.Run("a provisioned organisation is found", func(t *testing.T) {
		got, err := open(t).Organisation(ctx, ContractOrg.ID)
		if err != nil || got != ContractOrg {
			t.Fatalf("Organisation = %+v, %v; want %+v", got, err, ContractOrg)
		}
	})
	t.Run("an unknown organisation is not_found", func(t *testing.T) {
		_, err := open(t).Organisation(ctx, "nobody")
		if breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("err = %v, want not_found", err)
		}
	})
	t.Run("a saved key is found until it expires", func(t *testing.T) {
		s := open(t)
		rec := record("k1", "aa")
		if prior, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA1", 1), rec, now); err != nil || prior != nil {
			t.Fatalf("SaveVersion = %v, %v", prior, err)
		}
		got, err := s.Idempotency(ctx, rec.Key, now.Add(time.Hour))
		if err != nil || got == nil || got.RequestSHA256 != "aa" || string(got.Receipt) != string(rec.Receipt) {
			t.Fatalf("Idempotency = %+v, %v", got, err)
		}
		if got, err := s.Idempotency(ctx, rec.Key, rec.ExpiresAt); err != nil || got != nil {
			t.Fatalf("at expiry Idempotency = %+v, %v; want none", got, err)
		}
	})
	t.Run("replay returns the first record and writes nothing", func(t *testing.T) {
		s := open(t)
		first := record("k2", "aa")
		if _, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA2", 1), first, now); err != nil {
			t.Fatal(err)
		}
		second := record("k2", "bb")
		prior, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA3", 1), second, now.Add(time.Minute))
		if err != nil || prior == nil || prior.RequestSHA256 != "aa" {
			t.Fatalf("second SaveVersion = %+v, %v; want the first record", prior, err)
		}
		// The second version was not written: saving it now under a fresh key succeeds.
		if prior, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA3", 1), record("k3", "cc"), now); err != nil || prior != nil {
			t.Fatalf("version of a refused save was written: %v, %v", prior, err)
		}
	})
	t.Run("an expired key can be used again", func(t *testing.T) {
		s := open(t)
		rec := record("k4", "aa")
		if _, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA4", 1), rec, now); err != nil {
			t.Fatal(err)
		}
		later := rec.ExpiresAt.Add(time.Second)
		again := record("k4", "bb")
		again.ExpiresAt = later.Add(breach.IdempotencyTTL)
		if prior, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA5", 1), again, later); err != nil || prior != nil {
			t.Fatalf("SaveVersion after expiry = %+v, %v; want a fresh write", prior, err)
		}
	})
	t.Run("an existing version is a version_conflict", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAA6", 1)
		if _, err := s.SaveVersion(ctx, v, record("k5", "aa"), now); err != nil {
			t.Fatal(err)
		}
		_, err := s.SaveVersion(ctx, v, record("k6", "aa"), now)
		if breach.ErrorCode(err) != breach.VersionConflict {
			t.Fatalf("err = %v, want version_conflict", err)
		}
		// The idempotency record of the failed save was not written either.
		if got, _ := s.Idempotency(ctx, record("k6", "aa").Key, now); got != nil {
			t.Fatalf("idempotency record of a failed save exists: %+v", got)
		}
	})
	t.Run("keys are scoped by organisation", func(t *testing.T) {
		s := open(t)
		rec := record("k7", "aa")
		if _, err := s.SaveVersion(ctx, version("01JAAAAAAAAAAAAAAAAAAAAAA7", 1), rec, now); err != nil {
			t.Fatal(err)
		}
		other := rec.Key
		other.Org = "another-org"
		if got, err := s.Idempotency(ctx, other, now); err != nil || got != nil {
			t.Fatalf("another org sees the key: %+v, %v", got, err)
		}
	})
}

// LedgerContract is the behaviour every breach.Ledger must show, over the Store that writes the
// versions it tracks. open returns both, fresh, with ContractOrg provisioned.
func LedgerContract(t *testing.T, open func(t *testing.T) (breach.Store, breach.Ledger)) {
	ctx := context.Background()
	received := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	save := func(t *testing.T, s breach.Store, id breach.ReportID, at time.Time) breach.Version {
		t.Helper()
		v := breach.Version{OrgID: ContractOrg.ID, ReportID: id, Number: 1, Stage: breach.StageInitial, ReceivedAt: at,
			Severity: breach.High, Late: true, Document: []byte(`{"id":"` + string(id) + `"}`), SHA256: "ab"}
		rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: ContractOrg.ID, Route: breach.RouteSubmit, Key: string(id)},
			RequestSHA256: "cd", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
		if _, err := s.SaveVersion(ctx, v, rec, at); err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Run("a saved version is pending until alerted", func(t *testing.T) {
		s, l := open(t)
		old := save(t, s, "01JAAAAAAAAAAAAAAAAAAAAAB1", received)
		save(t, s, "01JAAAAAAAAAAAAAAAAAAAAAB2", received.Add(time.Minute))
		got, err := l.Pending(ctx, received.Add(time.Second), 10)
		want := []breach.VersionRef{{ReportID: old.ReportID, Number: 1}}
		if err != nil || len(got) != 1 || got[0] != want[0] {
			t.Fatalf("Pending = %v, %v; want %v (the later version is too recent)", got, err, want)
		}
		if alerted, err := l.Alerted(ctx, old.ReportID, 1); err != nil || alerted {
			t.Fatalf("Alerted = %v, %v; want false", alerted, err)
		}
		if err := l.MarkAlerted(ctx, old.ReportID, 1, received.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if alerted, err := l.Alerted(ctx, old.ReportID, 1); err != nil || !alerted {
			t.Fatalf("Alerted after MarkAlerted = %v, %v", alerted, err)
		}
		if got, err := l.Pending(ctx, received.Add(time.Hour), 10); err != nil || len(got) != 1 || got[0].ReportID != "01JAAAAAAAAAAAAAAAAAAAAAB2" {
			t.Fatalf("Pending after MarkAlerted = %v, %v; want only the other version", got, err)
		}
	})
	t.Run("pending is oldest first and limited", func(t *testing.T) {
		s, l := open(t)
		for i, id := range []breach.ReportID{"01JAAAAAAAAAAAAAAAAAAAAAC3", "01JAAAAAAAAAAAAAAAAAAAAAC1", "01JAAAAAAAAAAAAAAAAAAAAAC2"} {
			save(t, s, id, received.Add(time.Duration(2-i)*time.Minute))
		}
		got, err := l.Pending(ctx, received.Add(time.Hour), 2)
		if err != nil || len(got) != 2 || got[0].ReportID != "01JAAAAAAAAAAAAAAAAAAAAAC2" || got[1].ReportID != "01JAAAAAAAAAAAAAAAAAAAAAC1" {
			t.Fatalf("Pending = %v, %v", got, err)
		}
	})
	t.Run("a stored version reads back as saved", func(t *testing.T) {
		s, l := open(t)
		v := save(t, s, "01JAAAAAAAAAAAAAAAAAAAAAD1", received)
		got, err := l.Version(ctx, v.ReportID, 1)
		if err != nil || string(got.Document) != string(v.Document) || got.SHA256 != v.SHA256 || got.OrgID != v.OrgID ||
			!got.ReceivedAt.Equal(v.ReceivedAt) || got.Severity != v.Severity || got.Late != v.Late || got.Stage != v.Stage {
			t.Fatalf("Version = %+v, %v; want %+v", got, err, v)
		}
		if _, err := l.Version(ctx, v.ReportID, 2); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("unknown version: %v, want not_found", err)
		}
		if err := l.MarkAlerted(ctx, v.ReportID, 2, received); err == nil {
			t.Fatal("MarkAlerted of an unknown version succeeded")
		}
		if _, err := l.Alerted(ctx, v.ReportID, 2); err == nil {
			t.Fatal("Alerted of a version without a fan-out marker answered")
		}
	})
}
