// Package audit keeps the audit trail: every read and write of a report, appended to the hash
// chain of the report's organisation, and anchors of every chain's head kept where the table's
// writers cannot reach (the archive bucket, under Object Lock). Verify walks the chains and the
// anchors and names each chain's first broken link.
//
// A chain alone proves order and integrity against a careless edit only: whoever can write the
// table can rewrite a chain from the edited entry on, or cut its tail. An anchor fixes a head's
// digest outside the table, so a rewrite or a cut of anything up to the last anchor is caught;
// entries after it are as safe as the table. No AWS imports: internal/dynamo and
// internal/archive implement the ports.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
)

// Entry is one link of a chain: who did what to which report, when, and with what result.
//
// Its fields are declared in the byte order of their JSON names, so json.Marshal's output is
// RFC 8785 canonical JSON (as for the stored report document) and the digest of an entry does
// not depend on how it was encoded: any store, any language can recompute it.
type Entry struct {
	At        time.Time `json:"at"`         // when it was appended, UTC; never before the previous entry's
	Chain     string    `json:"chain"`      // the organisation whose chain holds it
	KeyID     string    `json:"key_id"`     // the API key's id (never its secret)
	Prev      string    `json:"prev"`       // the previous entry's SHA256; "" for the first
	Principal string    `json:"principal"`  // the kind of caller: organisation or regulator
	ReportID  string    `json:"report_id"`  // "" for a route on no single report (the list)
	RequestID string    `json:"request_id"` // the gateway's request id, to find the request's logs
	Result    string    `json:"result"`     // the answer: HTTP status, then the error code if any ("404 not_found")
	Route     string    `json:"route"`      // the route key ("GET /v1/reports/{id}")
	Seq       int64     `json:"seq"`        // 1, 2, 3… within the chain, without gaps
	SHA256    string    `json:"sha256,omitempty"`
	Version   int       `json:"version"` // the report version read or written; 0 for none
	Who       string    `json:"who"`     // the caller: its organisation's id, or the regulator's name
}

// Digest is the hex SHA-256 of the entry's canonical JSON without its SHA256 field: what
// SHA256 must hold, and what the next entry's Prev holds.
func (e Entry) Digest() (string, error) {
	e.SHA256 = ""
	e.At = e.At.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("audit entry %d of chain %s: %w", e.Seq, e.Chain, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ErrConflict is what Store.Put answers when the chain already has an entry with that Seq:
// another append won the race for it.
var ErrConflict = errors.New("audit entry already exists")

// ConflictError is Store.Put's answer when the Seq is taken. Taken is the entry that took it, so
// the next attempt chains on it without reading the head again (nil when the store cannot say).
type ConflictError struct {
	Chain string
	Seq   int64
	Taken *Entry
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("chain %s entry %d: %v", e.Chain, e.Seq, ErrConflict)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Store keeps the chains. internal/dynamo implements it; audittest.StoreContract is the
// behaviour every implementation must show.
type Store interface {
	// Last is the chain's entry with the highest Seq; false when the chain has none. Strongly
	// consistent: it sees every Put that returned.
	Last(ctx context.Context, chain string) (Entry, bool, error)
	// Put stores e in e.Chain only if the chain has no entry e.Seq; otherwise it stores nothing
	// and returns a *ConflictError (which is ErrConflict) holding the entry stored there.
	Put(ctx context.Context, e Entry) error
	// Chains is every chain holding an entry, sorted.
	Chains(ctx context.Context) ([]string, error)
	// Entries calls fn with each entry of the chain in Seq order, stopping at fn's first error,
	// which it returns. A stored entry that cannot be read back as an Entry stops it with a
	// *CorruptError.
	Entries(ctx context.Context, chain string, fn func(Entry) error) error
}

// CorruptError is a stored entry that is no longer an entry at all (an attribute of the wrong
// type, an unreadable time): Verify reports it as that entry's broken link.
type CorruptError struct {
	Chain string
	Seq   int64
	Err   error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("audit entry %d of chain %s is malformed: %v", e.Seq, e.Chain, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Rounds bounds the tries of one Append. Appends to one chain are serial by nature: each needs
// the digest of the one before. A round reads the chain's head and puts the entry after it;
// lost, the store names the winner and the entry is put once more, after it, at once. Lost
// again, the next round waits first.
const Rounds = 32

// slot and maxBackoff shape the wait before a round: random, up to a cap that doubles from slot
// (about a put's round trip) to maxBackoff, so the losers of one race do not all meet at the next.
const (
	slot       = 8 * time.Millisecond
	maxBackoff = 256 * time.Millisecond
)

// stripes is the number of locks that serialise a Trail's own appends, chain by chain.
const stripes = 64

// Trail appends entries to chains. Its own appends to one chain wait for each other rather than
// race in the store: one Lambda instance serves one request at a time, but the local stack
// serves many at once with one Trail.
type Trail struct {
	store      Store
	now        func() time.Time
	slot       time.Duration
	maxBackoff time.Duration
	locks      [stripes]chan struct{}

	// heads remembers the last entry this Trail stored in each chain: the next append tries to
	// follow it directly, one round trip instead of two; a stale guess only loses the
	// conditional put, which names the entry that won.
	mu    sync.Mutex
	heads map[string]Entry
}

// NewTrail is a trail over store, timed by now.
func NewTrail(store Store, now func() time.Time) *Trail {
	t := &Trail{store: store, now: now, slot: slot, maxBackoff: maxBackoff, heads: map[string]Entry{}}
	for i := range t.locks {
		t.locks[i] = make(chan struct{}, 1)
	}
	return t
}

// lock takes the lock of chain's stripe, or gives up when ctx ends.
func (t *Trail) lock(ctx context.Context, chain string) (unlock func(), err error) {
	h := fnv.New32a()
	h.Write([]byte(chain))
	l := t.locks[h.Sum32()%stripes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Append adds e at the end of e.Chain, filling in its Seq, At, Prev and SHA256 (whatever they
// held), and returns it as stored. Appends to one chain from other Trails (other Lambda
// instances) race for its next Seq: the store's conditional Put lets one win; the others try
// again, for up to Rounds rounds. Invalid UTF-8 in e's strings is replaced (U+FFFD), as JSON and
// DynamoDB need.
func (t *Trail) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.Chain == "" {
		return Entry{}, errors.New("audit entry without a chain")
	}
	for _, s := range []*string{&e.Chain, &e.KeyID, &e.Principal, &e.ReportID, &e.RequestID, &e.Result, &e.Route, &e.Who} {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
	}
	unlock, err := t.lock(ctx, e.Chain)
	if err != nil {
		return Entry{}, fmt.Errorf("append to audit chain %s: %w", e.Chain, err)
	}
	defer unlock()
	var last error
	for round := range Rounds {
		if round > 0 {
			if err := sleep(ctx, rand.N(min(t.slot<<(round-1), t.maxBackoff))); err != nil {
				return Entry{}, fmt.Errorf("append to audit chain %s: %w", e.Chain, err)
			}
		}
		head, ok := t.remembered(e.Chain)
		if !ok || round > 0 {
			var err error
			if head, ok, err = t.store.Last(ctx, e.Chain); err != nil {
				return Entry{}, fmt.Errorf("append to audit chain %s: read its head: %w", e.Chain, err)
			}
		}
		var after *Entry
		if ok {
			after = &head
		}
		stored, err := t.put(ctx, e, after)
		var c *ConflictError
		if errors.As(err, &c) && c.Taken != nil && c.Taken.Chain == e.Chain && c.Taken.Seq == stored.Seq {
			// The winner just named is the freshest head there is.
			stored, err = t.put(ctx, e, c.Taken)
		}
		if err == nil {
			t.remember(stored)
			return stored, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Entry{}, fmt.Errorf("append to audit chain %s: %w", e.Chain, err)
		}
		last = err
	}
	return Entry{}, fmt.Errorf("append to audit chain %s: %d rounds lost to concurrent appends: %w", e.Chain, Rounds, last)
}

func (t *Trail) remembered(chain string) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.heads[chain]
	return e, ok
}

func (t *Trail) remember(e Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.heads[e.Chain] = e
}

// put stores e after head (nil: first of its chain), returning it as it was tried.
func (t *Trail) put(ctx context.Context, e Entry, head *Entry) (Entry, error) {
	e.Seq, e.Prev, e.At = 1, "", t.now().UTC()
	if head != nil {
		e.Seq, e.Prev = head.Seq+1, head.SHA256
		// Lambda hosts' clocks differ by milliseconds: the chain's times never go back.
		if e.At.Before(head.At) {
			e.At = head.At.UTC()
		}
	}
	var err error
	if e.SHA256, err = e.Digest(); err != nil {
		return e, err
	}
	return e, t.store.Put(ctx, e)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
