package breachtest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Watchlist = (*Store)(nil)

type overdueKey struct {
	id    breach.ReportID
	stage breach.Stage
}

// placeInIndex files a head in the watch's index under due, or takes it out when due is zero.
func (s *Store) placeInIndex(k headKey, due time.Time) {
	if due.IsZero() {
		delete(s.openDue, k)
		return
	}
	s.openDue[k] = due
}

func (s *Store) Due(_ context.Context, before time.Time, limit int) ([]breach.DueRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var refs []breach.DueRef
	for k, due := range s.openDue {
		if due.Before(before) {
			refs = append(refs, breach.DueRef{Org: k.org, ID: k.id, OpenDue: due})
		}
	}
	slices.SortFunc(refs, func(a, b breach.DueRef) int {
		if c := a.OpenDue.Compare(b.OpenDue); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return refs[:min(limit, len(refs))], nil
}

func (s *Store) OverdueMarks(_ context.Context, id breach.ReportID) (map[breach.Stage]breach.OverdueMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := map[breach.Stage]breach.OverdueMark{}
	for k, m := range s.overdue {
		if k.id == id {
			marks[k.stage] = m
		}
	}
	return marks, nil
}

func (s *Store) ClaimOverdue(_ context.Context, _ breach.OrgID, id breach.ReportID, stage breach.Stage, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := overdueKey{id, stage}
	if m, ok := s.overdue[k]; ok && (m.State == breach.OverdueSent || !m.ClaimedAt.Before(now.Add(-breach.OverdueClaimTTL))) {
		return false, nil
	}
	s.overdue[k] = breach.OverdueMark{State: breach.OverduePending, ClaimedAt: now}
	return true, nil
}

func (s *Store) MarkOverdueSent(_ context.Context, id breach.ReportID, stage breach.Stage, _ int, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := overdueKey{id, stage}
	m, ok := s.overdue[k]
	if !ok {
		return breach.Errorf(breach.NotFound, "no overdue marker for %s %s", id, stage)
	}
	m.State = breach.OverdueSent
	s.overdue[k] = m
	return nil
}

func (s *Store) SetOpenDue(_ context.Context, org breach.OrgID, id breach.ReportID, latest int, due time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := headKey{org, id}
	if h, ok := s.heads[k]; ok && h.Latest == latest {
		s.placeInIndex(k, due)
	}
	return nil
}

// Index returns the watch's index: each report filed there and its due time.
func (s *Store) Index() map[breach.ReportID]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[breach.ReportID]time.Time{}
	for k, due := range s.openDue {
		out[k.id] = due
	}
	return out
}
