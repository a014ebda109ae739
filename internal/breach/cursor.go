package breach

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Cursors seals and opens the opaque cursors of GET /v1/reports. A cursor is the last report id
// of a page with an HMAC-SHA256 over it and the organisation it was issued to: a client can
// neither forge one nor use another organisation's to walk that organisation's reports.
type Cursors struct {
	key []byte
}

// MinCursorKeyBytes is the shortest key NewCursors accepts: HMAC-SHA256's own output size.
const MinCursorKeyBytes = 32

// NewCursors makes cursors with a secret key shared by every instance that reads them.
func NewCursors(key []byte) (*Cursors, error) {
	if len(key) < MinCursorKeyBytes {
		return nil, errors.New("cursor key shorter than 32 bytes")
	}
	return &Cursors{key: append([]byte(nil), key...)}, nil
}

// Seal is the cursor of the page after the report `after`, for org only.
func (c *Cursors) Seal(org OrgID, after ReportID) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte(after), c.mac(org, after)...))
}

// Open returns the report id sealed in cursor if it was issued to org. Anything else (garbled,
// tampered with, another organisation's) is a validation error on query.cursor, rule format,
// that does not say which.
func (c *Cursors) Open(org OrgID, cursor string) (ReportID, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) != 26+sha256.Size {
		return "", badCursor()
	}
	id, sum := ReportID(b[:26]), b[26:]
	if !hmac.Equal(sum, c.mac(org, id)) || !wellFormedID(string(id)) { // constant time
		return "", badCursor()
	}
	return id, nil
}

// mac binds the id to the organisation; the NUL separates them (neither holds one) and the
// prefix keeps these MACs apart from any other use of the key.
func (c *Cursors) mac(org OrgID, id ReportID) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("breach-cursor-v1\x00"))
	h.Write([]byte(org))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return h.Sum(nil)
}

const cursorField = "query.cursor"

func badCursor() *Error {
	return &Error{Code: Invalid, Msg: "the cursor is not valid", Fields: []FieldError{{cursorField, RuleFormat}}}
}
