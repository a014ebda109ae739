// Package audittest holds in-memory audit stores for unit tests, with ways to tamper with them,
// and the contract suite that every audit.Store, the fake included, must pass.
package audittest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/breach-intake/intake/internal/audit"
)

// Store is an in-memory audit.Store.
type Store struct {
	mu     sync.Mutex
	chains map[string]map[int64]audit.Entry
}

var _ audit.Store = (*Store)(nil)

// NewStore is an empty store.
func NewStore() *Store { return &Store{chains: map[string]map[int64]audit.Entry{}} }

func (s *Store) Last(_ context.Context, chain string) (audit.Entry, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := s.chains[chain]
	if len(entries) == 0 {
		return audit.Entry{}, false, nil
	}
	return entries[slices.Max(slices.Collect(maps.Keys(entries)))], true, nil
}

func (s *Store) Put(_ context.Context, e audit.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chains[e.Chain] == nil {
		s.chains[e.Chain] = map[int64]audit.Entry{}
	}
	if taken, ok := s.chains[e.Chain][e.Seq]; ok {
		return &audit.ConflictError{Chain: e.Chain, Seq: e.Seq, Taken: &taken}
	}
	s.chains[e.Chain][e.Seq] = e
	return nil
}

func (s *Store) Chains(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var chains []string
	for c, entries := range s.chains {
		if len(entries) > 0 {
			chains = append(chains, c)
		}
	}
	slices.Sort(chains)
	return chains, nil
}

func (s *Store) Entries(_ context.Context, chain string, fn func(audit.Entry) error) error {
	for _, e := range s.entries(chain) {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// entries is a copy of the chain's entries in Seq order (by the key each is stored under), so
// fn runs without the lock held.
func (s *Store) entries(chain string) []audit.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := s.chains[chain]
	out := make([]audit.Entry, 0, len(entries))
	for _, seq := range slices.Sorted(maps.Keys(entries)) {
		out = append(out, entries[seq])
	}
	return out
}

// Tamper changes the stored entry seq of chain in place, as someone with write access to the
// table could (edit may change any field, Seq and Chain included: the entry stays stored where
// it was).
func (s *Store) Tamper(chain string, seq int64, edit func(*audit.Entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.chains[chain][seq]
	if !ok {
		panic(fmt.Sprintf("audittest: no entry %d in chain %s", seq, chain))
	}
	edit(&e)
	s.chains[chain][seq] = e
}

// Delete removes entries of chain, as someone with write access to the table could.
func (s *Store) Delete(chain string, seqs ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range seqs {
		delete(s.chains[chain], seq)
	}
}

// Anchors is an in-memory audit.Anchors. It keeps each anchor's document, as the archive does,
// so what is read back went through Document and ParseAnchor.
type Anchors struct {
	mu   sync.Mutex
	docs [][]byte
}

var _ audit.Anchors = (*Anchors)(nil)

// NewAnchors is an empty anchor store.
func NewAnchors() *Anchors { return &Anchors{} }

func (a *Anchors) PutAnchor(_ context.Context, an audit.Anchor) error {
	doc, err := an.Document()
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.docs = append(a.docs, doc)
	return nil
}

func (a *Anchors) EachAnchor(_ context.Context, fn func(audit.Anchor) error) error {
	a.mu.Lock()
	docs := slices.Clone(a.docs)
	a.mu.Unlock()
	for _, doc := range docs {
		an, err := audit.ParseAnchor(doc)
		if err != nil {
			return err
		}
		if err := fn(an); err != nil {
			return err
		}
	}
	return nil
}
