package breachtest

import (
	"context"
	"slices"
	"sync"

	"github.com/breach-intake/intake/internal/breach"
)

// Alerts is an in-memory breach.Alerts that records what it publishes.
type Alerts struct {
	mu        sync.Mutex
	published []breach.Alert
	attempts  int
	failOn    func(a breach.Alert) error
}

// NewAlerts is an Alerts that has published nothing.
func NewAlerts() *Alerts { return &Alerts{} }

// FailOn makes every later Publish first call f with its alert: a non-nil error fails that
// Publish, as SNS would, and nothing is recorded. f(nil) removes the hook.
func (p *Alerts) FailOn(f func(a breach.Alert) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failOn = f
}

func (p *Alerts) Publish(_ context.Context, a breach.Alert) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.failOn != nil {
		if err := p.failOn(a); err != nil {
			return err
		}
	}
	// Copies, so that a caller reusing its slices cannot change what was published.
	a.Regimes = slices.Clone(a.Regimes)
	a.DataCategories = slices.Clone(a.DataCategories)
	a.Deadlines = slices.Clone(a.Deadlines)
	a.Reports = slices.Clone(a.Reports)
	if a.Processor != nil {
		p := *a.Processor
		a.Processor = &p
	}
	p.published = append(p.published, a)
	return nil
}

// Published returns the alerts published so far, in order.
func (p *Alerts) Published() []breach.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.published)
}

// Attempts counts the calls of Publish, failed ones included.
func (p *Alerts) Attempts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts
}

var _ breach.Alerts = (*Alerts)(nil)
