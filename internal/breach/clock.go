package breach

import (
	"crypto/rand"
	"time"

	"github.com/oklog/ulid/v2"
)

// Clock tells the time; tests inject a fixed one.
type Clock func() time.Time

// SystemClock is the real clock, in UTC.
func SystemClock() Clock { return func() time.Time { return time.Now().UTC() } }

// IDSource makes a new report id for a report received at t.
type IDSource func(t time.Time) ReportID

// ULIDs makes ULIDs from t and crypto/rand, so ids sort by reception time and cannot be guessed.
func ULIDs() IDSource {
	return func(t time.Time) ReportID {
		return ReportID(ulid.MustNew(ulid.Timestamp(t), rand.Reader).String())
	}
}
