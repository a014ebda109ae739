package breach

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Clock tells the time; tests inject a fixed one.
type Clock func() time.Time

// SystemClock is the real clock, in UTC.
func SystemClock() Clock { return func() time.Time { return time.Now().UTC() } }

// IDSource makes a new report id for a report received at t.
type IDSource func(t time.Time) ReportID

// ULIDs makes ULIDs (github.com/ulid/spec) from t and crypto/rand, so ids sort by reception time
// and cannot be guessed. A dozen lines of our own rather than oklog/ulid, whose package init
// (seeding its default entropy) costs 0.1 ms of every cold start.
func ULIDs() IDSource {
	return func(t time.Time) ReportID {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16) // 48-bit milliseconds first
		rand.Read(b[6:])                                             // never fails (crypto/rand)
		return ReportID(encodeULID(b))
	}
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// encodeULID writes 128 bits as 26 Crockford base32 characters, most significant first.
func encodeULID(b [16]byte) string {
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
