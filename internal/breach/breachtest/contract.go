package breachtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
	// head is the head a version writes. Its times carry fractions, which a store must keep.
	aware := now.Add(-90*time.Minute + 250*time.Millisecond)
	head := func(v breach.Version) breach.ReportHead {
		return breach.ReportHead{Org: v.OrgID, ID: v.ReportID, Latest: v.Number,
			Regimes: []breach.Regime{breach.GDPR, breach.NIS2}, AwareAt: aware,
			Covered:    breach.Coverage{breach.StageGDPRNotification: now, breach.StageNIS2EarlyWarning: now},
			ReceivedAt: now, UpdatedAt: v.ReceivedAt, Stage: v.Stage, Severity: v.Severity, Late: v.Late}
	}
	// saveFirst saves version 1 of id with its head.
	saveFirst := func(s breach.Store, id breach.ReportID, rec breach.IdempotencyRecord, at time.Time) (*breach.IdempotencyRecord, error) {
		v := version(id, 1)
		return s.SaveVersion(ctx, v, head(v), rec, at)
	}
	// save stores v with its head under a fresh key.
	save := func(t *testing.T, s breach.Store, v breach.Version, h breach.ReportHead) {
		t.Helper()
		rec := record(fmt.Sprintf("%s/%s/%d", v.OrgID, v.ReportID, v.Number), "aa")
		rec.Key.Org = v.OrgID
		if prior, err := s.SaveVersion(ctx, v, h, rec, now); err != nil || prior != nil {
			t.Fatalf("SaveVersion %s v%d = %+v, %v", v.ReportID, v.Number, prior, err)
		}
	}
	// supplement is version 2 of v's report: another stage, a regime more, a stage covered.
	supplement := func(v breach.Version) (breach.Version, breach.ReportHead) {
		v2 := version(v.ReportID, 2)
		v2.OrgID, v2.Stage, v2.Severity, v2.Late = v.OrgID, breach.StageNIS2Notification, breach.Critical, true
		v2.ReceivedAt = now.Add(time.Hour + 500*time.Millisecond)
		v2.Document = []byte(`{"id":"` + string(v.ReportID) + `","version":2}`)
		h := head(v2)
		h.Regimes = append(h.Regimes, breach.DORA)
		h.Covered[breach.StageNIS2Notification] = v2.ReceivedAt
		return v2, h
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
		if prior, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA1", rec, now); err != nil || prior != nil {
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
		if _, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA2", first, now); err != nil {
			t.Fatal(err)
		}
		second := record("k2", "bb")
		prior, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA3", second, now.Add(time.Minute))
		if err != nil || prior == nil || prior.RequestSHA256 != "aa" {
			t.Fatalf("second SaveVersion = %+v, %v; want the first record", prior, err)
		}
		// The second version was not written: saving it now under a fresh key succeeds.
		if prior, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA3", record("k3", "cc"), now); err != nil || prior != nil {
			t.Fatalf("version of a refused save was written: %v, %v", prior, err)
		}
	})
	t.Run("an expired key can be used again", func(t *testing.T) {
		s := open(t)
		rec := record("k4", "aa")
		if _, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA4", rec, now); err != nil {
			t.Fatal(err)
		}
		later := rec.ExpiresAt.Add(time.Second)
		again := record("k4", "bb")
		again.ExpiresAt = later.Add(breach.IdempotencyTTL)
		if prior, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA5", again, later); err != nil || prior != nil {
			t.Fatalf("SaveVersion after expiry = %+v, %v; want a fresh write", prior, err)
		}
	})
	t.Run("an existing version is a version_conflict", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAA6", 1)
		if _, err := s.SaveVersion(ctx, v, head(v), record("k5", "aa"), now); err != nil {
			t.Fatal(err)
		}
		_, err := s.SaveVersion(ctx, v, head(v), record("k6", "aa"), now)
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
		if _, err := saveFirst(s, "01JAAAAAAAAAAAAAAAAAAAAAA7", rec, now); err != nil {
			t.Fatal(err)
		}
		other := rec.Key
		other.Org = "another-org"
		if got, err := s.Idempotency(ctx, other, now); err != nil || got != nil {
			t.Fatalf("another org sees the key: %+v, %v", got, err)
		}
	})

	t.Run("a first version writes its head", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAF1", 1)
		save(t, s, v, head(v))
		got, err := s.Head(ctx, ContractOrg.ID, v.ReportID)
		if err != nil || !SameHead(got, head(v)) {
			t.Fatalf("Head = %+v, %v; want %+v", got, err, head(v))
		}
	})
	t.Run("a supplement moves the head on and leaves version 1 as it was", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAF2", 1)
		save(t, s, v, head(v))
		v2, h2 := supplement(v)
		save(t, s, v2, h2)
		if got, err := s.Head(ctx, ContractOrg.ID, v.ReportID); err != nil || !SameHead(got, h2) {
			t.Fatalf("Head = %+v, %v; want %+v", got, err, h2)
		}
		for _, want := range []breach.Version{v, v2} {
			if got, err := s.Version(ctx, v.ReportID, want.Number); err != nil || string(got.Document) != string(want.Document) {
				t.Fatalf("Version %d = %s, %v; want %s", want.Number, got.Document, err, want.Document)
			}
		}
	})
	t.Run("a head that moved on is a version_conflict and nothing is written", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAF3", 1)
		save(t, s, v, head(v))
		// Version 3 written over a head still at 1: only the head's condition can refuse it.
		v3, h3 := supplement(v)
		v3.Number, h3.Latest = 3, 3
		rec := record("f3", "aa")
		if _, err := s.SaveVersion(ctx, v3, h3, rec, now); breach.ErrorCode(err) != breach.VersionConflict {
			t.Fatalf("err = %v, want version_conflict", err)
		}
		if got, err := s.Head(ctx, ContractOrg.ID, v.ReportID); err != nil || got.Latest != 1 {
			t.Fatalf("Head = %+v, %v; want it still at 1", got, err)
		}
		if _, err := s.Version(ctx, v.ReportID, 3); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("version 3 of a refused save: %v, want not_found", err)
		}
		if got, _ := s.Idempotency(ctx, rec.Key, now); got != nil {
			t.Fatalf("idempotency record of a refused save exists: %+v", got)
		}
		// Two supplements made from the same head: the second one conflicts.
		v2, h2 := supplement(v)
		save(t, s, v2, h2)
		v2.Document = []byte(`{"other":true}`)
		if _, err := s.SaveVersion(ctx, v2, h2, record("f3-2", "aa"), now); breach.ErrorCode(err) != breach.VersionConflict {
			t.Fatalf("second supplement from the same head: %v, want version_conflict", err)
		}
	})
	t.Run("another organisation's report has no head for it", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAF4", 1)
		save(t, s, v, head(v))
		if _, err := s.Head(ctx, "another-org", v.ReportID); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("another org's Head: %v, want not_found", err)
		}
		if _, err := s.Head(ctx, ContractOrg.ID, "01JAAAAAAAAAAAAAAAAAAAAAF9"); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("unknown Head: %v, want not_found", err)
		}
	})
	t.Run("reports are listed newest first, page by page, only the organisation's", func(t *testing.T) {
		s := open(t)
		ids := []breach.ReportID{"01JAAAAAAAAAAAAAAAAAAAAAG3", "01JAAAAAAAAAAAAAAAAAAAAAG1", "01JAAAAAAAAAAAAAAAAAAAAAG5",
			"01JAAAAAAAAAAAAAAAAAAAAAG2", "01JAAAAAAAAAAAAAAAAAAAAAG4"}
		var supplemented breach.ReportHead
		for _, id := range ids {
			v := version(id, 1)
			save(t, s, v, head(v))
			if id == "01JAAAAAAAAAAAAAAAAAAAAAG3" { // listed once, as its latest head
				v2, h2 := supplement(v)
				save(t, s, v2, h2)
				supplemented = h2
			}
		}
		// Another organisation's report, newer than all of them.
		theirs := version("01JAAAAAAAAAAAAAAAAAAAAAG9", 1)
		theirs.OrgID = "another-org"
		save(t, s, theirs, head(theirs))

		var pages [][]breach.ReportID
		var after breach.ReportID
		for range 5 {
			heads, more, err := s.Reports(ctx, ContractOrg.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			var page []breach.ReportID
			for _, h := range heads {
				page = append(page, h.ID)
				if h.ID == supplemented.ID && !SameHead(h, supplemented) {
					t.Fatalf("listed head %+v, want %+v", h, supplemented)
				}
			}
			pages = append(pages, page)
			if !more {
				break
			}
			after = heads[len(heads)-1].ID
		}
		want := "[[01JAAAAAAAAAAAAAAAAAAAAAG5 01JAAAAAAAAAAAAAAAAAAAAAG4] [01JAAAAAAAAAAAAAAAAAAAAAG3 01JAAAAAAAAAAAAAAAAAAAAAG2] [01JAAAAAAAAAAAAAAAAAAAAAG1]]"
		if got := fmt.Sprint(pages); got != want {
			t.Fatalf("pages %s, want %s", got, want)
		}
		// A page that ends exactly at the last report says that nothing follows.
		if heads, more, err := s.Reports(ctx, ContractOrg.ID, "", 5); err != nil || len(heads) != 5 || more {
			t.Fatalf("Reports(limit 5) = %d heads, more %v, %v; want 5, false", len(heads), more, err)
		}
		if heads, more, err := s.Reports(ctx, "another-org", "", 10); err != nil || len(heads) != 1 || heads[0].ID != theirs.ReportID || more {
			t.Fatalf("another org's Reports = %+v, %v, %v; want only its own", heads, more, err)
		}
		if heads, more, err := s.Reports(ctx, "nobody", "", 10); err != nil || len(heads) != 0 || more {
			t.Fatalf("Reports of an org without any = %+v, %v, %v", heads, more, err)
		}
	})
	t.Run("versions are listed oldest first, without documents", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAH1", 1)
		save(t, s, v, head(v))
		v2, h2 := supplement(v)
		save(t, s, v2, h2)
		got, err := s.Versions(ctx, v.ReportID)
		if err != nil || len(got) != 2 || !sameInfo(got[0], v.Info()) || !sameInfo(got[1], v2.Info()) {
			t.Fatalf("Versions = %+v, %v; want %+v, %+v", got, err, v.Info(), v2.Info())
		}
		if _, err := s.Versions(ctx, "01JAAAAAAAAAAAAAAAAAAAAAH9"); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("Versions of an unknown report: %v, want not_found", err)
		}
	})
	t.Run("a report's owner is the organisation that filed it", func(t *testing.T) {
		s := open(t)
		v := version("01JAAAAAAAAAAAAAAAAAAAAAJ1", 1)
		save(t, s, v, head(v))
		if got, err := s.Owner(ctx, v.ReportID); err != nil || got != ContractOrg.ID {
			t.Fatalf("Owner = %q, %v; want %q", got, err, ContractOrg.ID)
		}
		if _, err := s.Owner(ctx, "01JAAAAAAAAAAAAAAAAAAAAAJ9"); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("Owner of an unknown report: %v, want not_found", err)
		}
	})
}

// SameHead reports whether two heads hold the same values, times compared as instants.
func SameHead(a, b breach.ReportHead) bool {
	return a.Org == b.Org && a.ID == b.ID && a.Latest == b.Latest && slices.Equal(a.Regimes, b.Regimes) &&
		a.AwareAt.Equal(b.AwareAt) && maps.EqualFunc(a.Covered, b.Covered, time.Time.Equal) &&
		a.ReceivedAt.Equal(b.ReceivedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.Stage == b.Stage && a.Severity == b.Severity && a.Late == b.Late
}

func sameInfo(a, b breach.VersionInfo) bool {
	return a.Number == b.Number && a.Stage == b.Stage && a.ReceivedAt.Equal(b.ReceivedAt) &&
		a.Severity == b.Severity && a.Late == b.Late && a.SHA256 == b.SHA256
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
		h := breach.ReportHead{Org: v.OrgID, ID: id, Latest: 1, Regimes: []breach.Regime{breach.GDPR}, AwareAt: at.Add(-time.Hour),
			Covered: breach.Coverage{breach.StageGDPRNotification: at}, ReceivedAt: at, UpdatedAt: at,
			Stage: v.Stage, Severity: v.Severity, Late: v.Late}
		if _, err := s.SaveVersion(ctx, v, h, rec, at); err != nil {
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
