package audittest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/audit"
)

// Entry is a complete entry of chain at seq, every field set (the strings not ASCII only), with
// its digest; Prev is left "".
func Entry(chain string, seq int64) audit.Entry {
	e := audit.Entry{
		At:        time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC).Add(time.Duration(seq) * time.Second),
		Chain:     chain,
		KeyID:     "k_01JAAAAAAAAAAAAAAAAAAAAAAA",
		Principal: "organisation",
		ReportID:  "01JAAAAAAAAAAAAAAAAAAAAAA1",
		RequestID: fmt.Sprintf("req-%d", seq),
		Result:    "200",
		Route:     "GET /v1/reports/{id}/versions/{n}",
		Seq:       seq,
		Version:   2,
		Who:       "Clinique Sainte-Thérèse – Lyon",
	}
	e.SHA256 = digest(e)
	return e
}

func digest(e audit.Entry) string {
	d, err := e.Digest()
	if err != nil {
		panic(err)
	}
	return d
}

// same compares entries field by field, times by instant.
func same(a, b audit.Entry) bool {
	if !a.At.Equal(b.At) {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func collect(t *testing.T, s audit.Store, chain string) []audit.Entry {
	t.Helper()
	var got []audit.Entry
	if err := s.Entries(context.Background(), chain, func(e audit.Entry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("Entries(%s): %v", chain, err)
	}
	return got
}

func seqs(entries []audit.Entry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

// StoreContract is the behaviour every audit.Store must show. open returns a fresh, empty store.
func StoreContract(t *testing.T, open func(t *testing.T) audit.Store) {
	ctx := context.Background()

	t.Run("an empty store has no chains and no heads", func(t *testing.T) {
		s := open(t)
		if _, ok, err := s.Last(ctx, "acme"); ok || err != nil {
			t.Fatalf("Last = %v, %v; want none", ok, err)
		}
		if chains, err := s.Chains(ctx); len(chains) != 0 || err != nil {
			t.Fatalf("Chains = %v, %v; want none", chains, err)
		}
		if got := collect(t, s, "acme"); len(got) != 0 {
			t.Fatalf("Entries = %v", got)
		}
	})

	t.Run("an entry comes back as it was put, every field", func(t *testing.T) {
		s := open(t)
		first := Entry("acme", 1)
		// Empty strings are kept as such: the list route names no report and no version.
		second := Entry("acme", 2)
		second.ReportID, second.Version, second.Result, second.Prev = "", 0, "404 not_found", first.SHA256
		second.SHA256 = digest(second)
		for _, e := range []audit.Entry{first, second} {
			if err := s.Put(ctx, e); err != nil {
				t.Fatalf("Put %d: %v", e.Seq, err)
			}
		}
		last, ok, err := s.Last(ctx, "acme")
		if err != nil || !ok || !same(last, second) {
			t.Fatalf("Last = %+v, %v, %v; want %+v", last, ok, err, second)
		}
		got := collect(t, s, "acme")
		if len(got) != 2 || !same(got[0], first) || !same(got[1], second) {
			t.Fatalf("Entries = %+v\nwant %+v", got, []audit.Entry{first, second})
		}
		for _, e := range got {
			if d := digest(e); d != e.SHA256 {
				t.Errorf("entry %d read back hashes to %s, was stored with %s", e.Seq, d, e.SHA256)
			}
		}
	})

	t.Run("a taken seq is a conflict naming its entry and changes nothing", func(t *testing.T) {
		s := open(t)
		e := Entry("acme", 1)
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
		other := Entry("acme", 1)
		other.Result = "500 internal"
		other.SHA256 = digest(other)
		// The first entry of a chain and any later one may be written differently.
		second := Entry("acme", 2)
		if err := s.Put(ctx, second); err != nil {
			t.Fatal(err)
		}
		otherSecond := Entry("acme", 2)
		otherSecond.Who = "someone else"
		for _, tc := range []struct{ put, stored audit.Entry }{{other, e}, {otherSecond, second}} {
			err := s.Put(ctx, tc.put)
			var c *audit.ConflictError
			if !errors.Is(err, audit.ErrConflict) || !errors.As(err, &c) {
				t.Fatalf("second Put of seq %d = %v, want a *ConflictError", tc.put.Seq, err)
			}
			if c.Taken == nil || !same(*c.Taken, tc.stored) {
				t.Fatalf("conflict on seq %d names %+v as taking it, want %+v", tc.put.Seq, c.Taken, tc.stored)
			}
		}
		if got := collect(t, s, "acme"); len(got) != 2 || !same(got[0], e) || !same(got[1], second) {
			t.Fatalf("after the conflicts: %+v", got)
		}
	})

	t.Run("Last is the highest seq; Entries are in seq order, gaps as stored", func(t *testing.T) {
		s := open(t)
		// Beyond 9 and 99, in no order: numeric order, not the strings'.
		put := []int64{7, 100, 2, 11, 1, 9, 10, 3, 99}
		for _, seq := range put {
			if err := s.Put(ctx, Entry("acme", seq)); err != nil {
				t.Fatalf("Put %d: %v", seq, err)
			}
		}
		if last, ok, err := s.Last(ctx, "acme"); err != nil || !ok || last.Seq != 100 {
			t.Fatalf("Last = seq %d, %v, %v; want 100", last.Seq, ok, err)
		}
		want := slices.Sorted(slices.Values(put))
		if got := seqs(collect(t, s, "acme")); !slices.Equal(got, want) {
			t.Fatalf("Entries seqs = %v, want %v", got, want)
		}
	})

	t.Run("chains are separate and listed once, sorted", func(t *testing.T) {
		s := open(t)
		for _, c := range []string{"org-b", "org-a", "org-c"} {
			for seq := int64(1); seq <= 2; seq++ {
				if err := s.Put(ctx, Entry(c, seq)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Put(ctx, Entry("org-a", 3)); err != nil {
			t.Fatal(err)
		}
		chains, err := s.Chains(ctx)
		if err != nil || !slices.Equal(chains, []string{"org-a", "org-b", "org-c"}) {
			t.Fatalf("Chains = %v, %v", chains, err)
		}
		for c, want := range map[string][]int64{"org-a": {1, 2, 3}, "org-b": {1, 2}, "org-c": {1, 2}} {
			got := collect(t, s, c)
			if !slices.Equal(seqs(got), want) {
				t.Errorf("Entries(%s) seqs = %v, want %v", c, seqs(got), want)
			}
			for _, e := range got {
				if e.Chain != c {
					t.Errorf("Entries(%s) gave an entry of %s", c, e.Chain)
				}
			}
		}
		if _, ok, err := s.Last(ctx, "org"); ok || err != nil {
			t.Fatalf("Last of a prefix of chains' names = %v, %v; want none", ok, err)
		}
	})

	t.Run("Entries stops at fn's error", func(t *testing.T) {
		s := open(t)
		for seq := int64(1); seq <= 3; seq++ {
			if err := s.Put(ctx, Entry("acme", seq)); err != nil {
				t.Fatal(err)
			}
		}
		stop := errors.New("enough")
		calls := 0
		err := s.Entries(ctx, "acme", func(audit.Entry) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Entries = %v after %d calls; want fn's error after 1", err, calls)
		}
	})

	t.Run("concurrent appends leave a gapless chain that verifies", func(t *testing.T) {
		s := open(t)
		clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
		const writers, each = 6, 4
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			// A trail each, as Lambda instances have: they race in the store.
			trail := audit.NewTrail(s, clock)
			wg.Go(func() {
				for i := range each {
					_, err := trail.Append(ctx, audit.Entry{Chain: "acme", Who: "acme", Principal: "organisation",
						Route: "GET /v1/reports", Result: "200", RequestID: fmt.Sprintf("%d-%d", w, i)})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := collect(t, s, "acme")
		if len(got) != writers*each || got[len(got)-1].Seq != writers*each {
			t.Fatalf("seqs %v, want 1…%d", seqs(got), writers*each)
		}
		r, err := audit.Verify(ctx, s, NewAnchors())
		if err != nil || !r.OK() || r.Entries != writers*each {
			t.Fatalf("Verify = %+v, %v", r, err)
		}
	})
}

// AnchorsContract is the behaviour every audit.Anchors must show. open returns a fresh, empty
// anchor store.
func AnchorsContract(t *testing.T, open func(t *testing.T) audit.Anchors) {
	ctx := context.Background()
	each := func(t *testing.T, a audit.Anchors) []audit.Anchor {
		t.Helper()
		var got []audit.Anchor
		if err := a.EachAnchor(ctx, func(an audit.Anchor) error { got = append(got, an); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	t.Run("none at first", func(t *testing.T) {
		if got := each(t, open(t)); len(got) != 0 {
			t.Fatalf("EachAnchor = %+v", got)
		}
	})

	t.Run("anchors come back as put, oldest first", func(t *testing.T) {
		a := open(t)
		first := audit.Anchor{At: at, Heads: []audit.Head{}}
		second := audit.Anchor{At: at.Add(15*time.Minute + 500*time.Millisecond), Heads: []audit.Head{
			{Chain: "org-a", Seq: 3, SHA256: Entry("org-a", 3).SHA256},
			{Chain: "org-b", Seq: 1, SHA256: Entry("org-b", 1).SHA256},
		}}
		third := audit.Anchor{At: at.Add(time.Hour), Heads: second.Heads[:1]}
		for _, an := range []audit.Anchor{first, second, third} {
			if err := a.PutAnchor(ctx, an); err != nil {
				t.Fatal(err)
			}
		}
		got := each(t, a)
		if len(got) != 3 {
			t.Fatalf("EachAnchor gave %d anchors, want 3", len(got))
		}
		for i, want := range []audit.Anchor{first, second, third} {
			if !got[i].At.Equal(want.At) || !reflect.DeepEqual(got[i].Heads, want.Heads) {
				t.Errorf("anchor %d = %+v, want %+v", i, got[i], want)
			}
		}
	})

	t.Run("EachAnchor stops at fn's error", func(t *testing.T) {
		a := open(t)
		for i := range 2 {
			if err := a.PutAnchor(ctx, audit.Anchor{At: at.Add(time.Duration(i) * time.Minute), Heads: []audit.Head{}}); err != nil {
				t.Fatal(err)
			}
		}
		stop := errors.New("enough")
		calls := 0
		if err := a.EachAnchor(ctx, func(audit.Anchor) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("EachAnchor = %v after %d calls; want fn's error after 1", err, calls)
		}
	})
}
