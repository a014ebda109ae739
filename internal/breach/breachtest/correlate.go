package breachtest

import (
	"context"
	"slices"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Correlations = (*Store)(nil)

// group is a processor's group in the fake.
type group struct {
	seq     int
	members []breach.CorrelatedReport
	events  map[breach.ReportID]breach.Correlation
}

func cloneMember(m breach.CorrelatedReport) breach.CorrelatedReport {
	m.Regimes = slices.Clone(m.Regimes)
	return m
}

func cloneCorrelation(c breach.Correlation) breach.Correlation {
	c.Report = cloneMember(c.Report)
	members := make([]breach.CorrelatedReport, len(c.Members))
	for i, m := range c.Members {
		members[i] = cloneMember(m)
	}
	c.Members = members
	return c
}

func (s *Store) ProcessorGroup(_ context.Context, siren string) (breach.ProcessorGroup, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[siren]
	if !ok {
		return breach.ProcessorGroup{}, nil
	}
	out := breach.ProcessorGroup{Seq: g.seq}
	for _, m := range g.members {
		out.Members = append(out.Members, cloneMember(m))
	}
	return out, nil
}

func (s *Store) JoinProcessorGroup(_ context.Context, siren string, seq int, m breach.CorrelatedReport, c *breach.Correlation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[siren]
	if !ok {
		g = &group{events: map[breach.ReportID]breach.Correlation{}}
	}
	if g.seq != seq || slices.ContainsFunc(g.members, func(x breach.CorrelatedReport) bool { return x.ReportID == m.ReportID }) {
		return breach.Errorf(breach.VersionConflict, "the group of %s is not at %d", siren, seq)
	}
	g.seq++
	g.members = append(g.members, cloneMember(m))
	if c != nil {
		g.events[m.ReportID] = cloneCorrelation(*c)
	}
	s.groups[siren] = g
	return nil
}

func (s *Store) Correlation(_ context.Context, siren string, id breach.ReportID) (*breach.Correlation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[siren]
	if !ok {
		return nil, nil
	}
	c, ok := g.events[id]
	if !ok {
		return nil, nil
	}
	c = cloneCorrelation(c)
	return &c, nil
}

func (s *Store) MarkCorrelationSent(_ context.Context, siren string, id breach.ReportID, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[siren]
	if !ok {
		return breach.Errorf(breach.NotFound, "no group of %s", siren)
	}
	c, ok := g.events[id]
	if !ok {
		return breach.Errorf(breach.NotFound, "no correlation of %s in %s", id, siren)
	}
	c.Sent = true
	g.events[id] = c
	return nil
}
