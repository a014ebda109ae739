package client

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoffIsExponentialJitteredAndCapped(t *testing.T) {
	c := New("http://127.0.0.1:1", "k", WithBackoff(100*time.Millisecond, time.Second))
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 40: time.Second, 100: time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := c.backoffBefore(attempt)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d waits %v: want %v…%v", attempt, d, ceiling/2, ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: %d distinct waits in 200: no jitter", attempt, len(seen))
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0": 0, "3": 3 * time.Second, now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat): 0,
	} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("Retry-After %q: %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "1.5", "soon"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("Retry-After %q honoured", v)
		}
	}
}
