package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an answer of the API that is not a success. The handlers' answers carry a Code (API.md,
// Errors: "validation_failed", "not_found", "version_conflict"…), a RequestID to quote and, for
// validation, every failing field. The gateway's own answers (401, 403, some 404s, 429) have no
// Code: only their Message ("Unauthorized", "Forbidden", "Not Found", "Too Many Requests").
type Error struct {
	Status    int          // the HTTP status
	Code      string       // the handlers' error code; empty for the gateway's answers
	Message   string       // safe to show
	RequestID string       // the handlers' request_id, else the gateway's apigw-requestid header
	Fields    []FieldError // every failing field of a validation_failed answer
}

// FieldError names a failing field by its JSON path ("incident.aware_at", "data.data_categories[2]",
// "header.If-Match") and the rule it breaks ("required", "enum", "luhn"…).
type FieldError struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(f.Field + " " + f.Rule)
		if i == len(e.Fields)-1 {
			b.WriteString(")")
		}
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// IsNotFound reports an answer 404: a report that does not exist or that the caller may not see
// (the API does not tell them apart).
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports an answer 409 version_conflict: the If-Match of a supplement is not the
// report's latest version any more. Read the report again before deciding what to send.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// errorFrom reads a failed answer: the handlers' {"error":{…}}, the gateway's {"message":…}, or
// anything else (a proxy's HTML page) as its status text.
func errorFrom(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, RequestID: header.Get("Apigw-Requestid")}
	var ours struct {
		Error *struct {
			Code      string       `json:"code"`
			Message   string       `json:"message"`
			RequestID string       `json:"request_id"`
			Fields    []FieldError `json:"fields"`
		} `json:"error"`
		Message *string `json:"message"`
	}
	switch err := json.Unmarshal(body, &ours); {
	case err == nil && ours.Error != nil && ours.Error.Code != "":
		e.Code, e.Message, e.Fields = ours.Error.Code, ours.Error.Message, ours.Error.Fields
		if ours.Error.RequestID != "" {
			e.RequestID = ours.Error.RequestID
		}
	case err == nil && ours.Message != nil:
		e.Message = *ours.Message
	default:
		e.Message = http.StatusText(status)
	}
	return e
}
