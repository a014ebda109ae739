package audit_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// ticking is a clock that advances a second at each reading.
func ticking() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)) * time.Second) }
}

func read(e audit.Entry) audit.Entry {
	return audit.Entry{Chain: e.Chain, Who: e.Chain, Principal: "organisation", KeyID: "k1",
		Route: "GET /v1/reports/{id}", ReportID: "01JAAAAAAAAAAAAAAAAAAAAAA1", RequestID: e.RequestID, Result: "200", Version: 1}
}

func appendN(t testing.TB, trail *audit.Trail, chain string, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := range n {
		e, err := trail.Append(context.Background(), read(audit.Entry{Chain: chain, RequestID: fmt.Sprint("r", i)}))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestAppendChain(t *testing.T) {
	s := audittest.NewStore()
	trail := audit.NewTrail(s, ticking())
	got := appendN(t, trail, "acme", 3)
	prev := ""
	for i, e := range got {
		if e.Seq != int64(i+1) || e.Prev != prev || !e.At.Equal(t0.Add(time.Duration(i+1)*time.Second)) {
			t.Errorf("entry %d: seq %d, prev %q, at %s", i, e.Seq, e.Prev, e.At)
		}
		if d, err := e.Digest(); err != nil || d != e.SHA256 || len(d) != 64 {
			t.Errorf("entry %d: sha256 %q, digest %q, %v", i, e.SHA256, d, err)
		}
		prev = e.SHA256
	}
	// Whatever the caller put in the fields Append owns is replaced.
	e, err := trail.Append(context.Background(), audit.Entry{Chain: "acme", Seq: 99, Prev: "x", SHA256: "y", At: t0.Add(-time.Hour)})
	if err != nil || e.Seq != 4 || e.Prev != prev || e.At.Before(got[2].At) {
		t.Fatalf("Append = %+v, %v", e, err)
	}
	if _, err := trail.Append(context.Background(), audit.Entry{Who: "acme"}); err == nil {
		t.Fatal("an entry without a chain was appended")
	}
}

func TestAppendNeverGoesBackInTime(t *testing.T) {
	s := audittest.NewStore()
	late := audit.NewTrail(s, func() time.Time { return t0.Add(time.Second) })
	early := audit.NewTrail(s, func() time.Time { return t0 })
	first := appendN(t, late, "acme", 1)[0]
	second := appendN(t, early, "acme", 1)[0]
	if !second.At.Equal(first.At) {
		t.Fatalf("an append on a clock behind the chain's is at %s, before the previous entry's %s", second.At, first.At)
	}
}

func TestAppendReplacesInvalidUTF8(t *testing.T) {
	s := audittest.NewStore()
	e, err := audit.NewTrail(s, ticking()).Append(context.Background(),
		audit.Entry{Chain: "acme", ReportID: "bad\xffid", Route: "GET /v1/reports/{id}"})
	if err != nil || e.ReportID != "bad\uFFFDid" {
		t.Fatalf("Append = %q, %v", e.ReportID, err)
	}
	if r, err := audit.Verify(context.Background(), s, audittest.NewAnchors()); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// TestConcurrentAppendsAreGapless: appends from many Trails at once (Lambda instances), and
// many at once through one Trail (the local stack), each on two chains.
func TestConcurrentAppendsAreGapless(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("one trail %v", shared), func(t *testing.T) {
			ctx := context.Background()
			s := &counting{Store: audittest.NewStore()}
			clock := ticking()
			one := audit.NewTrail(s, clock)
			const writers, each = 16, 25
			var wg sync.WaitGroup
			var failed atomic.Int64
			for w := range writers {
				trail := one
				if !shared {
					trail = audit.NewTrail(s, clock)
				}
				for _, chain := range []string{"acme", "globex"} {
					wg.Go(func() {
						for i := range each {
							if _, err := trail.Append(ctx, read(audit.Entry{Chain: chain, RequestID: fmt.Sprintf("%d-%d", w, i)})); err != nil {
								t.Error(err)
								failed.Add(1)
							}
						}
					})
				}
			}
			wg.Wait()
			if failed.Load() > 0 {
				t.FailNow()
			}
			for _, chain := range []string{"acme", "globex"} {
				var seqs []int64
				requests := map[string]bool{}
				s.Entries(ctx, chain, func(e audit.Entry) error {
					seqs = append(seqs, e.Seq)
					requests[e.RequestID] = true
					return nil
				})
				if len(seqs) != writers*each || seqs[len(seqs)-1] != writers*each || len(requests) != writers*each {
					t.Errorf("chain %s: %d entries up to seq %d, %d distinct requests; want %d", chain, len(seqs), seqs[len(seqs)-1], len(requests), writers*each)
				}
			}
			r, err := audit.Verify(ctx, s, audittest.NewAnchors())
			if err != nil || !r.OK() || r.Chains != 2 || r.Entries != 2*writers*each {
				t.Fatalf("Verify = %+v, %v", r, err)
			}
			// One trail's appends wait for each other: not one lost race.
			if puts := s.puts.Load(); shared && puts != 2*writers*each {
				t.Errorf("%d puts for %d appends through one trail", puts, 2*writers*each)
			}
		})
	}
}

// counting is a store that counts puts.
type counting struct {
	*audittest.Store
	puts atomic.Int64
}

func (c *counting) Put(ctx context.Context, e audit.Entry) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, e)
}

// conflicting is a store whose every Put loses the race.
type conflicting struct {
	audit.Store
	puts atomic.Int64
}

func (c *conflicting) Put(context.Context, audit.Entry) error {
	c.puts.Add(1)
	return audit.ErrConflict
}

func TestAppendGivesUpAfterBoundedRounds(t *testing.T) {
	s := &conflicting{Store: audittest.NewStore()}
	trail := audit.NewTrail(s, ticking())
	audit.SetBackoff(trail, time.Microsecond, time.Millisecond)
	_, err := trail.Append(context.Background(), audit.Entry{Chain: "acme"})
	if !errors.Is(err, audit.ErrConflict) || s.puts.Load() != audit.Rounds {
		t.Fatalf("Append = %v after %d puts; want ErrConflict after %d", err, s.puts.Load(), audit.Rounds)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := audit.NewTrail(&conflicting{Store: audittest.NewStore()}, ticking()).Append(ctx, audit.Entry{Chain: "acme"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with its context cancelled = %v", err)
	}
}

// racing is a store in which another append wins the race for the first seq that Put is asked
// for, and which counts the reads of the head.
type racing struct {
	*audittest.Store
	raced bool
	lasts int
}

func (r *racing) Last(ctx context.Context, chain string) (audit.Entry, bool, error) {
	r.lasts++
	return r.Store.Last(ctx, chain)
}

func (r *racing) Put(ctx context.Context, e audit.Entry) error {
	if !r.raced {
		r.raced = true
		if _, err := audit.NewTrail(r.Store, ticking()).Append(ctx, audit.Entry{Chain: e.Chain, RequestID: "winner"}); err != nil {
			return err
		}
	}
	return r.Store.Put(ctx, e)
}

// TestAppendChainsOnTheWinner: a lost race names the entry that won, and the next attempt
// chains on it without reading the head again.
func TestAppendChainsOnTheWinner(t *testing.T) {
	ctx := context.Background()
	s := &racing{Store: audittest.NewStore()}
	appendN(t, audit.NewTrail(s.Store, ticking()), "acme", 2)
	e, err := audit.NewTrail(s, ticking()).Append(ctx, audit.Entry{Chain: "acme", RequestID: "loser"})
	if err != nil || e.Seq != 4 || s.lasts != 1 {
		t.Fatalf("Append = seq %d, %v after %d reads of the head; want seq 4 after one", e.Seq, err, s.lasts)
	}
	if r, err := audit.Verify(ctx, s, audittest.NewAnchors()); err != nil || !r.OK() || r.Entries != 4 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// TestAppendFollowsItsLastEntry: a Trail's next append follows the entry it stored last without
// reading the head again; when another Trail appended meanwhile, the lost put names the winner
// and the chain stays gapless.
func TestAppendFollowsItsLastEntry(t *testing.T) {
	ctx := context.Background()
	s := &racing{Store: audittest.NewStore(), raced: true}
	mine := audit.NewTrail(s, ticking())
	appendN(t, mine, "acme", 3)
	if s.lasts != 1 {
		t.Fatalf("3 appends read the head %d times; want once, for the first", s.lasts)
	}
	appendN(t, audit.NewTrail(s.Store, ticking()), "acme", 1) // another instance, meanwhile
	e, err := mine.Append(ctx, audit.Entry{Chain: "acme", RequestID: "after the other"})
	if err != nil || e.Seq != 5 || s.lasts != 1 {
		t.Fatalf("Append = seq %d, %v after %d reads of the head; want seq 5, still one read", e.Seq, err, s.lasts)
	}
	appendN(t, audit.NewTrail(s.Store, ticking()), "acme", 2) // two more: the winner named is not the head
	if e, err = mine.Append(ctx, audit.Entry{Chain: "acme", RequestID: "after two others"}); err != nil || e.Seq != 8 || s.lasts != 2 {
		t.Fatalf("Append = seq %d, %v after %d reads of the head; want seq 8 after a second read", e.Seq, err, s.lasts)
	}
	if r, err := audit.Verify(ctx, s, audittest.NewAnchors()); err != nil || !r.OK() || r.Entries != 8 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// failing is a store whose Put fails for another reason than a conflict.
type failing struct{ audit.Store }

func (failing) Put(context.Context, audit.Entry) error { return errors.New("throttled") }

func TestAppendDoesNotRetryOtherErrors(t *testing.T) {
	_, err := audit.NewTrail(failing{audittest.NewStore()}, ticking()).Append(context.Background(), audit.Entry{Chain: "acme"})
	if err == nil || !strings.Contains(err.Error(), "throttled") || errors.Is(err, audit.ErrConflict) {
		t.Fatalf("Append = %v", err)
	}
}

// TestCanonicalFieldOrder: the entry and the anchor declare their fields in the byte order of
// their JSON names, which is what makes json.Marshal's output canonical, and the output is.
func TestCanonicalFieldOrder(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[audit.Entry](), reflect.TypeFor[audit.Anchor](), reflect.TypeFor[audit.Head]()} {
		var names []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			names = append(names, name)
		}
		if !slices.IsSorted(names) {
			t.Errorf("%s declares its fields as %v: keep them in the order of their JSON names", typ.Name(), names)
		}
	}
	e := appendN(t, audit.NewTrail(audittest.NewStore(), ticking()), "Société – ünïcode <&>", 2)[1]
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := audit.Anchor{At: t0, Heads: []audit.Head{{Chain: e.Chain, Seq: e.Seq, SHA256: e.SHA256}}}.Document()
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{b, doc} {
		v := jsontext.Value(slices.Clone(raw))
		if err := v.Canonicalize(); err != nil || string(v) != string(raw) {
			t.Errorf("not canonical:\n%s\nwant\n%s (%v)", raw, v, err)
		}
	}
}

// TestDigestIsPinned: the digest of an entry is part of the stored record; a change to how it is
// computed would break every chain already written.
func TestDigestIsPinned(t *testing.T) {
	e := audit.Entry{At: time.Date(2026, 11, 21, 12, 0, 0, 500_000_000, time.FixedZone("CET", 3600)),
		Chain: "acme", KeyID: "k1", Prev: "", Principal: "organisation", ReportID: "01JAAAAAAAAAAAAAAAAAAAAAA1",
		RequestID: "r1", Result: "200", Route: "GET /v1/reports/{id}", Seq: 1, SHA256: "ignored", Version: 1, Who: "acme"}
	const canonical = `{"at":"2026-11-21T11:00:00.5Z","chain":"acme","key_id":"k1","prev":"","principal":"organisation",` +
		`"report_id":"01JAAAAAAAAAAAAAAAAAAAAAA1","request_id":"r1","result":"200","route":"GET /v1/reports/{id}","seq":1,"version":1,"who":"acme"}`
	want := fmt.Sprintf("%x", sha256Sum(canonical))
	got, err := e.Digest()
	if err != nil || got != want {
		t.Fatalf("Digest = %s, %v; want %s, the SHA-256 of\n%s", got, err, want, canonical)
	}
}

func TestParseAnchor(t *testing.T) {
	a := audit.Anchor{At: t0, Heads: []audit.Head{{Chain: "acme", Seq: 3, SHA256: strings.Repeat("ab", 32)}}}
	doc, err := a.Document()
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.ParseAnchor(doc)
	if err != nil || !got.At.Equal(a.At) || !reflect.DeepEqual(got.Heads, a.Heads) {
		t.Fatalf("ParseAnchor(%s) = %+v, %v", doc, got, err)
	}
	empty, err := audit.Anchor{At: t0}.Document()
	if err != nil || string(empty) != `{"at":"2026-11-21T12:00:00Z","heads":[]}` {
		t.Fatalf("anchor of no chain: %s, %v", empty, err)
	}
	for _, bad := range []string{
		`{"at":"2026-11-21T12:00:00Z","heads":[],"note":"x"}`,
		`{"at":"2026-11-21T12:00:00Z","heads":[{"chain":"a","seq":1,"sha256":"x","extra":1}]}`,
		`{"at":"2026-11-21T12:00:00Z","heads":[]} {}`,
		`{"at":"yesterday","heads":[]}`,
	} {
		if _, err := audit.ParseAnchor([]byte(bad)); err == nil {
			t.Errorf("ParseAnchor(%s) accepted", bad)
		}
	}
}

func TestWriteAnchor(t *testing.T) {
	ctx := context.Background()
	s, anchors := audittest.NewStore(), audittest.NewAnchors()
	trail := audit.NewTrail(s, ticking())
	acme := appendN(t, trail, "acme", 3)
	globex := appendN(t, trail, "globex", 1)
	a, err := audit.WriteAnchor(ctx, s, anchors, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.Head{{Chain: "acme", Seq: 3, SHA256: acme[2].SHA256}, {Chain: "globex", Seq: 1, SHA256: globex[0].SHA256}}
	if !a.At.Equal(t0.Add(time.Hour)) || !reflect.DeepEqual(a.Heads, want) {
		t.Fatalf("anchor = %+v, want heads %+v", a, want)
	}
	var stored []audit.Anchor
	anchors.EachAnchor(ctx, func(a audit.Anchor) error { stored = append(stored, a); return nil })
	if len(stored) != 1 || !reflect.DeepEqual(stored[0].Heads, want) {
		t.Fatalf("stored anchors %+v", stored)
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
