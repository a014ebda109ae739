package export

import (
	"fmt"
	"strings"
	"time"
)

// ParseTime reads a bound of the export window: "now"; a date, 2026-11-01, meaning 00:00 UTC
// that day; an RFC 3339 time, 2026-11-01T00:00:00+01:00; or a duration back from now, 720h
// (Go's units: h, m, s; there is no d).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty: want a date (2026-11-01), an RFC 3339 time (2026-11-01T00:00:00Z) or a duration back from now (720h)")
	case s == "now":
		return now, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil // UTC midnight
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	hint := ""
	if strings.HasSuffix(s, "d") {
		hint = " (durations have no d: 30 days is 720h)"
	} else if len(s) > 10 && s[4] == '-' && s[10] == 'T' {
		hint = " (a time needs its offset: 2026-11-01T08:00:00Z or +01:00)"
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-11-01), an RFC 3339 time (2026-11-01T00:00:00Z) "+
		"nor a duration back from now (720h)%s", s, hint)
}
