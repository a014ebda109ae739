package audit_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
)

// chains is a store holding two chains of five entries, and an empty anchor store.
func chains(t *testing.T) (*audittest.Store, *audittest.Anchors, *audit.Trail) {
	t.Helper()
	s := audittest.NewStore()
	trail := audit.NewTrail(s, ticking())
	appendN(t, trail, "acme", 5)
	appendN(t, trail, "globex", 5)
	return s, audittest.NewAnchors(), trail
}

func verify(t *testing.T, s audit.Store, a audit.Anchors) audit.Result {
	t.Helper()
	r, err := audit.Verify(context.Background(), s, a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantBroken checks that exactly one chain is broken, at the entry named, with the problem.
func wantBroken(t *testing.T, r audit.Result, chain string, seq int64, problem string) {
	t.Helper()
	if len(r.Broken) != 1 {
		t.Fatalf("broken links %v, want one in chain %s at entry %d", r.Broken, chain, seq)
	}
	b := r.Broken[0]
	if b.Chain != chain || b.Seq != seq || !strings.Contains(b.Problem, problem) {
		t.Fatalf("broken link %q, want chain %s entry %d: …%s…", b, chain, seq, problem)
	}
	if s := b.String(); !strings.HasPrefix(s, fmt.Sprintf("chain %s entry %d: ", chain, seq)) {
		t.Fatalf("String() = %q", s)
	}
}

func TestVerifyIntactChains(t *testing.T) {
	s, anchors, trail := chains(t)
	if _, err := audit.WriteAnchor(context.Background(), s, anchors, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	appendN(t, trail, "acme", 2) // after the anchor: still intact
	r := verify(t, s, anchors)
	if !r.OK() || r.Chains != 2 || r.Entries != 12 || r.Anchors != 1 || r.Heads != 2 {
		t.Fatalf("Verify = %+v", r)
	}
	if r := verify(t, audittest.NewStore(), audittest.NewAnchors()); !r.OK() || r.Chains != 0 {
		t.Fatalf("Verify of nothing = %+v", r)
	}
}

// TestTamperingIsNamed changes every field of every entry, one at a time: each change is caught,
// at the entry changed.
func TestTamperingIsNamed(t *testing.T) {
	typ := reflect.TypeFor[audit.Entry]()
	for f := range typ.Fields() {
		for seq := int64(1); seq <= 5; seq++ {
			t.Run(fmt.Sprintf("%s of entry %d", f.Name, seq), func(t *testing.T) {
				s, anchors, _ := chains(t)
				s.Tamper("globex", seq, func(e *audit.Entry) {
					v := reflect.ValueOf(e).Elem().FieldByIndex(f.Index)
					switch x := v.Interface().(type) {
					case string:
						v.SetString(x + "0")
					case int, int64:
						v.SetInt(v.Int() + 1)
					case time.Time:
						v.Set(reflect.ValueOf(x.Add(time.Nanosecond)))
					default:
						t.Fatalf("field %s of type %T: teach this test to change it", f.Name, x)
					}
				})
				r := verify(t, s, anchors)
				if len(r.Broken) != 1 || r.Broken[0].Chain != "globex" || r.Broken[0].Seq != seq {
					t.Fatalf("broken links %v, want one: chain globex entry %d", r.Broken, seq)
				}
			})
		}
	}
}

func TestVerifyNamesTheProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func(*audittest.Store)
		seq     int64
		problem string
	}{
		{"content changed", func(s *audittest.Store) {
			s.Tamper("acme", 3, func(e *audit.Entry) { e.Result = "404 not_found" })
		}, 3, "sha256 does not match its content"},
		{"content changed and its digest recomputed", func(s *audittest.Store) {
			s.Tamper("acme", 3, func(e *audit.Entry) { e.Who = "someone else"; e.SHA256, _ = e.Digest() })
		}, 4, "prev does not match the sha256 of entry 3"},
		{"an entry deleted", func(s *audittest.Store) { s.Delete("acme", 2) }, 2, "missing (the next stored entry is 3)"},
		{"an entry moved to another seq", func(s *audittest.Store) {
			s.Tamper("acme", 2, func(e *audit.Entry) { e.Seq = 1 })
		}, 2, "out of order"},
		{"an entry of another chain", func(s *audittest.Store) {
			s.Tamper("acme", 2, func(e *audit.Entry) { e.Chain = "globex" })
		}, 2, `names chain "globex"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, anchors, _ := chains(t)
			tc.tamper(s)
			wantBroken(t, verify(t, s, anchors), "acme", tc.seq, tc.problem)
		})
	}
}

// TestAnchorCatchesADeletedTail: the last entries deleted leave a chain that is intact as far
// as it goes; only an anchor made before knows it was longer.
func TestAnchorCatchesADeletedTail(t *testing.T) {
	s, anchors, _ := chains(t)
	s.Delete("acme", 4, 5)
	if r := verify(t, s, anchors); !r.OK() {
		t.Fatalf("without an anchor a cut tail cannot be told: %v", r.Broken)
	}

	s, anchors, _ = chains(t)
	if _, err := audit.WriteAnchor(context.Background(), s, anchors, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Delete("acme", 4, 5)
	wantBroken(t, verify(t, s, anchors), "acme", 4, "names entry 5, but the chain ends at entry 3")
}

// TestAnchorCatchesARewrittenTail: a tail cut and appended again is a valid chain, but not the
// one anchored.
func TestAnchorCatchesARewrittenTail(t *testing.T) {
	s, anchors, _ := chains(t)
	if _, err := audit.WriteAnchor(context.Background(), s, anchors, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Delete("acme", 3, 4, 5)
	// The rewriter's own trail: it follows the chain as it now is in the store.
	appendN(t, audit.NewTrail(s, ticking()), "acme", 4)
	wantBroken(t, verify(t, s, anchors), "acme", 5, "recorded by the anchor of 2026-11-21T13:00:00Z")
}

func TestAnchorOfALongerChain(t *testing.T) {
	s, anchors, _ := chains(t)
	ctx := context.Background()
	head := func(chain string, seq int64) audit.Head {
		return audit.Head{Chain: chain, Seq: seq, SHA256: strings.Repeat("0", 64)}
	}
	if err := anchors.PutAnchor(ctx, audit.Anchor{At: t0, Heads: []audit.Head{head("acme", 9), head("initech", 2)}}); err != nil {
		t.Fatal(err)
	}
	r := verify(t, s, anchors)
	want := []string{
		"chain acme entry 6: missing: the anchor of 2026-11-21T12:00:00Z names entry 9, but the chain ends at entry 5",
		"chain initech entry 1: missing: the anchor of 2026-11-21T12:00:00Z names entry 2, but the chain has no entries",
	}
	var got []string
	for _, b := range r.Broken {
		got = append(got, b.String())
	}
	if !reflect.DeepEqual(got, want) || r.Chains != 3 {
		t.Fatalf("broken links\n%s\nwant\n%s\n(%d chains)", strings.Join(got, "\n"), strings.Join(want, "\n"), r.Chains)
	}
}

// corrupt is a store whose entry 2 of acme cannot be read back.
type corrupt struct{ *audittest.Store }

func (c corrupt) Entries(ctx context.Context, chain string, fn func(audit.Entry) error) error {
	return c.Store.Entries(ctx, chain, func(e audit.Entry) error {
		if chain == "acme" && e.Seq == 2 {
			return &audit.CorruptError{Chain: chain, Seq: 2, Err: errors.New("version is not a number")}
		}
		return fn(e)
	})
}

func TestVerifyReportsAMalformedEntryAndFailsOnReadErrors(t *testing.T) {
	s, anchors, _ := chains(t)
	wantBroken(t, verify(t, corrupt{s}, anchors), "acme", 2, "malformed: version is not a number")

	if _, err := audit.Verify(context.Background(), unreadable{s}, anchors); err == nil || !strings.Contains(err.Error(), "read audit chain acme") {
		t.Fatalf("Verify over a failing store = %v", err)
	}
}

type unreadable struct{ *audittest.Store }

func (unreadable) Entries(context.Context, string, func(audit.Entry) error) error {
	return errors.New("throttled")
}
