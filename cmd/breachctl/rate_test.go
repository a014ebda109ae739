package main

import (
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"rate(5 minutes)": 5 * time.Minute, "rate(1 hour)": time.Hour, "rate(2 days)": 48 * time.Hour,
	} {
		if got, err := rate(expr); err != nil || got != want {
			t.Errorf("rate(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, expr := range []string{"cron(0 12 * * ? *)", "rate(5 minutes", "5 minutes)", "rate(0 minutes)", "rate(5 weeks)"} {
		if _, err := rate(expr); err == nil {
			t.Errorf("rate(%q): no error", expr)
		}
	}
}
