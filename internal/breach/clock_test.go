package breach_test

import (
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/breach-intake/intake/internal/breach"
)

// TestULIDs: our ids are valid ULIDs that carry their time, checked with the reference library.
func TestULIDs(t *testing.T) {
	ids := breach.ULIDs()
	seen := map[breach.ReportID]bool{}
	for _, at := range []time.Time{
		time.UnixMilli(0), time.Date(2026, 11, 21, 12, 0, 0, 123e6, time.UTC), time.UnixMilli(1<<48 - 1),
	} {
		for range 100 {
			id := ids(at)
			parsed, err := ulid.ParseStrict(string(id))
			if err != nil {
				t.Fatalf("%s is not a ULID: %v", id, err)
			}
			if got := ulid.Time(parsed.Time()); !got.Equal(at) {
				t.Fatalf("%s carries %v, want %v", id, got, at)
			}
			if parsed.String() != string(id) || strings.ToUpper(string(id)) != string(id) || seen[id] {
				t.Fatalf("%s: not canonical or repeated", id)
			}
			seen[id] = true
		}
	}
}
