package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Result is what Verify found.
type Result struct {
	Chains  int     // chains walked
	Entries int     // entries checked (a broken chain, up to its first broken link)
	Anchors int     // anchors read
	Heads   int     // chain heads those anchors name, all checked
	Broken  []Break // the first broken link of each broken chain, by chain
}

// OK says whether every chain and every anchor checked out.
func (r Result) OK() bool { return len(r.Broken) == 0 }

// Break is the first broken link of a chain: the entry at which it stops being provably what
// was appended.
type Break struct {
	Chain   string
	Seq     int64
	Problem string
}

func (b Break) String() string {
	return fmt.Sprintf("chain %s entry %d: %s", b.Chain, b.Seq, b.Problem)
}

// claim is what an anchor says an entry's digest was.
type claim struct {
	sha256 string
	at     time.Time // the first anchor saying it
}

// errStop ends a chain's walk at its first broken link.
var errStop = errors.New("stop")

// Verify walks every chain, entry by entry, and checks every anchor's heads against them. A
// chain breaks at its first entry that is missing (a gap in Seq, or the tail an anchor names),
// whose content does not hash to its SHA256, whose Prev is not the previous entry's SHA256, or
// whose SHA256 is not what an anchor recorded. The anchors are read first, so entries appended
// during the walk are never mistaken for a break. An error is a failure to read, not a break.
func Verify(ctx context.Context, store Store, anchors Anchors) (Result, error) {
	var r Result
	claims := map[string]map[int64][]claim{}
	err := anchors.EachAnchor(ctx, func(a Anchor) error {
		r.Anchors++
		r.Heads += len(a.Heads)
		for _, h := range a.Heads {
			if claims[h.Chain] == nil {
				claims[h.Chain] = map[int64][]claim{}
			}
			// Anchors repeat an idle chain's head: one claim per distinct digest.
			cs := claims[h.Chain][h.Seq]
			if !slices.ContainsFunc(cs, func(c claim) bool { return c.sha256 == h.SHA256 }) {
				claims[h.Chain][h.Seq] = append(cs, claim{sha256: h.SHA256, at: a.At})
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("read anchors: %w", err)
	}
	chains, err := store.Chains(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("list audit chains: %w", err)
	}
	// A chain an anchor names is walked even if the list of chains lost it.
	chains = slices.Compact(slices.Sorted(slices.Values(append(chains, slices.Collect(maps.Keys(claims))...))))
	for _, chain := range chains {
		r.Chains++
		n, b, err := walk(ctx, store, chain, claims[chain])
		r.Entries += n
		if err != nil {
			return Result{}, err
		}
		if b != nil {
			r.Broken = append(r.Broken, *b)
		}
	}
	return r, nil
}

// walk checks one chain: the number of entries read and its first broken link, if any.
func walk(ctx context.Context, store Store, chain string, claims map[int64][]claim) (int, *Break, error) {
	var (
		entries int
		next    int64 = 1 // the Seq the next entry must have
		prev    string
		broken  *Break
	)
	brk := func(seq int64, format string, args ...any) error {
		broken = &Break{Chain: chain, Seq: seq, Problem: fmt.Sprintf(format, args...)}
		return errStop
	}
	err := store.Entries(ctx, chain, func(e Entry) error {
		entries++
		switch {
		case e.Seq > next:
			return brk(next, "missing (the next stored entry is %d)", e.Seq)
		case e.Seq < next:
			return brk(next, "out of order (stored with seq %d)", e.Seq)
		case e.Chain != chain:
			return brk(e.Seq, "stored in this chain, but its content names chain %q", e.Chain)
		}
		if digest, err := e.Digest(); err != nil || digest != e.SHA256 {
			return brk(e.Seq, "sha256 does not match its content")
		}
		if e.Prev != prev {
			return brk(e.Seq, "prev does not match the sha256 of entry %d", e.Seq-1)
		}
		for _, c := range claims[e.Seq] {
			if c.sha256 != e.SHA256 {
				return brk(e.Seq, "sha256 %s differs from %s, recorded by the anchor of %s", e.SHA256, c.sha256, stamp(c.at))
			}
		}
		next, prev = e.Seq+1, e.SHA256
		return nil
	})
	var corrupt *CorruptError
	switch {
	case errors.As(err, &corrupt):
		return entries, &Break{Chain: chain, Seq: corrupt.Seq, Problem: "malformed: " + corrupt.Err.Error()}, nil
	case errors.Is(err, errStop):
		return entries, broken, nil
	case err != nil:
		return entries, nil, fmt.Errorf("read audit chain %s: %w", chain, err)
	}
	// The tail: entries anchored once but no longer stored.
	var missing []int64
	for seq := range claims {
		if seq >= next {
			missing = append(missing, seq)
		}
	}
	if len(missing) == 0 {
		return entries, nil, nil
	}
	last := slices.Max(missing)
	c := claims[last][0]
	end := "the chain has no entries"
	if next > 1 {
		end = fmt.Sprintf("the chain ends at entry %d", next-1)
	}
	return entries, &Break{Chain: chain, Seq: next,
		Problem: fmt.Sprintf("missing: the anchor of %s names entry %d, but %s", stamp(c.at), last, end)}, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
