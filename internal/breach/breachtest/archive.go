package breachtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/breach-intake/intake/internal/breach"
)

// Archive is an in-memory breach.Archive with the semantics of the S3 adapter: a key is written
// once, a put of the same bytes again is success, a put of other bytes is an error.
type Archive struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    map[string]int
	failOn  func(key string) error
}

// NewArchive is an empty archive.
func NewArchive() *Archive {
	return &Archive{objects: map[string][]byte{}, puts: map[string]int{}}
}

// FailOn makes every later Put first call f with its key: a non-nil error fails that Put, as S3
// would, without storing anything. f(nil) removes the hook. To fail the third put of a batch,
// fail on the third record's key (or count calls in f).
func (a *Archive) FailOn(f func(key string) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failOn = f
}

func (a *Archive) Put(_ context.Context, key string, doc []byte, sha256Hex string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.puts[key]++
	if a.failOn != nil {
		if err := a.failOn(key); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(doc)
	if hex.EncodeToString(sum[:]) != sha256Hex {
		return fmt.Errorf("archive %s: document does not hash to %q", key, sha256Hex)
	}
	if prior, ok := a.objects[key]; ok {
		if sha256.Sum256(prior) != sum {
			return fmt.Errorf("archive %s already holds other content: not overwritten", key)
		}
		return nil
	}
	a.objects[key] = slices.Clone(doc)
	return nil
}

// Object returns the bytes stored under key, for assertions.
func (a *Archive) Object(key string) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	doc, ok := a.objects[key]
	return slices.Clone(doc), ok
}

// Keys lists the stored keys, sorted.
func (a *Archive) Keys() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.objects))
	for k := range a.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Puts counts the calls of Put for key, failed ones included: how often a record was processed.
func (a *Archive) Puts(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.puts[key]
}

var _ breach.Archive = (*Archive)(nil)
