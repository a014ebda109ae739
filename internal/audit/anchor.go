package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
)

// Anchor is every chain's head at one time, kept out of the table's reach. Fields in the byte
// order of their JSON names: its document is canonical JSON.
type Anchor struct {
	At    time.Time `json:"at"`
	Heads []Head    `json:"heads"` // sorted by chain
}

// Head is a chain's last entry when the anchor was made.
type Head struct {
	Chain  string `json:"chain"`
	Seq    int64  `json:"seq"`
	SHA256 string `json:"sha256"`
}

// Anchors keeps anchors. internal/archive implements it with Object Lock.
type Anchors interface {
	// PutAnchor stores a once; it can be neither replaced nor deleted.
	PutAnchor(ctx context.Context, a Anchor) error
	// EachAnchor calls fn with every anchor stored, oldest first, stopping at fn's first error,
	// which it returns.
	EachAnchor(ctx context.Context, fn func(Anchor) error) error
}

// Document is the anchor's canonical JSON, as it is stored.
func (a Anchor) Document() ([]byte, error) {
	a.At = a.At.UTC()
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("anchor of %s: %w", a.At.Format(time.RFC3339Nano), err)
	}
	return b, nil
}

// ParseAnchor reads an anchor's document. Unknown members are refused: an anchor that says more
// than this code understands is not checked as if it said less.
func ParseAnchor(doc []byte) (Anchor, error) {
	var a Anchor
	if err := json.Unmarshal(doc, &a, json.RejectUnknownMembers(true)); err != nil {
		return Anchor{}, fmt.Errorf("anchor document: %w", err)
	}
	return a, nil
}

// headReaders bounds the chains whose heads BuildAnchor reads at once: one organisation per
// chain, thousands of them, one strongly consistent query each.
const headReaders = 16

// BuildAnchor reads every chain's head at now.
func BuildAnchor(ctx context.Context, store Store, now time.Time) (Anchor, error) {
	chains, err := store.Chains(ctx)
	if err != nil {
		return Anchor{}, fmt.Errorf("list audit chains: %w", err)
	}
	heads := make([]Head, len(chains))
	found := make([]bool, len(chains))
	errs := make([]error, len(chains))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(headReaders, len(chains)) {
		wg.Go(func() {
			for i := range next {
				last, ok, err := store.Last(ctx, chains[i])
				if err != nil {
					errs[i] = fmt.Errorf("head of audit chain %s: %w", chains[i], err)
					continue
				}
				heads[i], found[i] = Head{Chain: chains[i], Seq: last.Seq, SHA256: last.SHA256}, ok
			}
		})
	}
	for i := range chains {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Anchor{}, err
	}
	a := Anchor{At: now.UTC(), Heads: make([]Head, 0, len(chains))}
	for i, h := range heads {
		if found[i] {
			a.Heads = append(a.Heads, h)
		}
	}
	return a, nil
}

// WriteAnchor builds the anchor of every chain's head at now and stores it.
func WriteAnchor(ctx context.Context, store Store, anchors Anchors, now time.Time) (Anchor, error) {
	a, err := BuildAnchor(ctx, store, now)
	if err != nil {
		return Anchor{}, err
	}
	if err := anchors.PutAnchor(ctx, a); err != nil {
		return Anchor{}, fmt.Errorf("store anchor: %w", err)
	}
	return a, nil
}
