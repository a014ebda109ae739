// Package breachtest holds an in-memory Store for unit tests and the contract suite that every
// Store, the fake included, must pass.
package breachtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// Store is an in-memory breach.Store, breach.Ledger, breach.Watchlist and breach.Correlations.
type Store struct {
	mu       sync.Mutex
	orgs     map[breach.OrgID]breach.Organisation
	versions map[breach.ReportID][]breach.Version
	heads    map[headKey]breach.ReportHead
	idem     map[breach.IdempotencyKey]breach.IdempotencyRecord
	alerted  map[breach.VersionRef]time.Time
	openDue  map[headKey]time.Time // the watch's index: heads with an open stage (watch.go)
	overdue  map[overdueKey]breach.OverdueMark
	groups   map[string]*group // processors' groups by SIREN (correlate.go)
}

// NewStore is an empty store with the given organisations provisioned.
func NewStore(orgs ...breach.Organisation) *Store {
	s := &Store{
		orgs:     map[breach.OrgID]breach.Organisation{},
		versions: map[breach.ReportID][]breach.Version{},
		heads:    map[headKey]breach.ReportHead{},
		idem:     map[breach.IdempotencyKey]breach.IdempotencyRecord{},
		alerted:  map[breach.VersionRef]time.Time{},
		openDue:  map[headKey]time.Time{},
		overdue:  map[overdueKey]breach.OverdueMark{},
		groups:   map[string]*group{},
	}
	for _, o := range orgs {
		s.orgs[o.ID] = o
	}
	return s
}

func (s *Store) Organisation(_ context.Context, id breach.OrgID) (breach.Organisation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[id]
	if !ok {
		return breach.Organisation{}, breach.Errorf(breach.NotFound, "no organisation %s", id)
	}
	return o, nil
}

func (s *Store) Idempotency(_ context.Context, key breach.IdempotencyKey, now time.Time) (*breach.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live(key, now), nil
}

func (s *Store) live(key breach.IdempotencyKey, now time.Time) *breach.IdempotencyRecord {
	rec, ok := s.idem[key]
	if !ok || !now.Before(rec.ExpiresAt) {
		return nil
	}
	return &rec
}

// headKey is how heads are found: by organisation and id together, as the table's key does, so
// that another organisation's id finds nothing rather than something to filter out.
type headKey struct {
	org breach.OrgID
	id  breach.ReportID
}

func (s *Store) SaveVersion(_ context.Context, v breach.Version, head breach.ReportHead, rec breach.IdempotencyRecord, now time.Time) (*breach.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if head.Latest != v.Number || head.ID != v.ReportID || head.Org != v.OrgID {
		return nil, fmt.Errorf("head %s v%d of %s does not match version %s v%d of %s", head.ID, head.Latest, head.Org, v.ReportID, v.Number, v.OrgID)
	}
	if prior := s.live(rec.Key, now); prior != nil {
		return prior, nil
	}
	if slices.ContainsFunc(s.versions[v.ReportID], func(x breach.Version) bool { return x.Number == v.Number }) {
		return nil, breach.Errorf(breach.VersionConflict, "version %d of %s exists", v.Number, v.ReportID)
	}
	k := headKey{head.Org, head.ID}
	if s.heads[k].Latest != v.Number-1 { // an absent head is at 0: version 1 needs none
		return nil, breach.Errorf(breach.VersionConflict, "report %s is not at version %d", v.ReportID, v.Number-1)
	}
	v.Document = slices.Clone(v.Document)
	s.versions[v.ReportID] = append(s.versions[v.ReportID], v)
	s.heads[k] = cloneHead(head)
	s.placeInIndex(k, head.OpenDue(nil))
	s.idem[rec.Key] = rec
	return nil, nil
}

// cloneHead copies what a head shares with its caller, as a real store's encoding would.
func cloneHead(h breach.ReportHead) breach.ReportHead {
	h.Regimes = slices.Clone(h.Regimes)
	h.Covered = maps.Clone(h.Covered)
	return h
}

func (s *Store) Head(_ context.Context, org breach.OrgID, id breach.ReportID) (breach.ReportHead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.heads[headKey{org, id}]
	if !ok {
		return breach.ReportHead{}, breach.Errorf(breach.NotFound, "no report %s of %s", id, org)
	}
	return cloneHead(h), nil
}

func (s *Store) Reports(_ context.Context, org breach.OrgID, after breach.ReportID, limit int) ([]breach.ReportHead, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var heads []breach.ReportHead
	for k, h := range s.heads {
		if k.org == org && (after == "" || k.id < after) {
			heads = append(heads, cloneHead(h))
		}
	}
	slices.SortFunc(heads, func(a, b breach.ReportHead) int { return -strings.Compare(string(a.ID), string(b.ID)) })
	if len(heads) > limit {
		return heads[:limit], true, nil
	}
	return heads, false, nil
}

func (s *Store) Versions(_ context.Context, id breach.ReportID) ([]breach.VersionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.versions[id]) == 0 {
		return nil, breach.Errorf(breach.NotFound, "no report %s", id)
	}
	var infos []breach.VersionInfo
	for _, v := range s.versions[id] {
		infos = append(infos, v.Info())
	}
	slices.SortFunc(infos, func(a, b breach.VersionInfo) int { return a.Number - b.Number })
	return infos, nil
}

func (s *Store) Owner(_ context.Context, id breach.ReportID) (breach.OrgID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.versions[id]) == 0 {
		return "", breach.Errorf(breach.NotFound, "no report %s", id)
	}
	return s.versions[id][0].OrgID, nil
}

// Stored returns the stored versions of a report, documents included, for assertions.
func (s *Store) Stored(id breach.ReportID) []breach.Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.versions[id])
}

func (s *Store) Alerted(_ context.Context, id breach.ReportID, n int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.version(id, n); !ok {
		return false, breach.Errorf(breach.NotFound, "no version %d of %s", n, id)
	}
	_, ok := s.alerted[breach.VersionRef{ReportID: id, Number: n}]
	return ok, nil
}

func (s *Store) MarkAlerted(_ context.Context, id breach.ReportID, n int, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.version(id, n); !ok {
		return breach.Errorf(breach.NotFound, "no version %d of %s", n, id)
	}
	s.alerted[breach.VersionRef{ReportID: id, Number: n}] = at
	return nil
}

func (s *Store) Pending(_ context.Context, before time.Time, limit int) ([]breach.VersionRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pending []breach.Version
	for _, vs := range s.versions {
		for _, v := range vs {
			if _, done := s.alerted[breach.VersionRef{ReportID: v.ReportID, Number: v.Number}]; !done && v.ReceivedAt.Before(before) {
				pending = append(pending, v)
			}
		}
	}
	slices.SortFunc(pending, func(a, b breach.Version) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	refs := make([]breach.VersionRef, 0, min(limit, len(pending)))
	for _, v := range pending[:min(limit, len(pending))] {
		refs = append(refs, breach.VersionRef{ReportID: v.ReportID, Number: v.Number})
	}
	return refs, nil
}

func (s *Store) Version(_ context.Context, id breach.ReportID, n int) (breach.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.version(id, n)
	if !ok {
		return breach.Version{}, breach.Errorf(breach.NotFound, "no version %d of %s", n, id)
	}
	return v, nil
}

func (s *Store) version(id breach.ReportID, n int) (breach.Version, bool) {
	i := slices.IndexFunc(s.versions[id], func(v breach.Version) bool { return v.Number == n })
	if i < 0 {
		return breach.Version{}, false
	}
	return s.versions[id][i], true
}
