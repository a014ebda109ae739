package audit

import "time"

// SetBackoff shortens a trail's waits, so that a test of giving up does not take seconds.
func SetBackoff(t *Trail, slot, maxBackoff time.Duration) { t.slot, t.maxBackoff = slot, maxBackoff }
