package breach

import (
	"errors"
	"fmt"
)

// Code is the machine-readable kind of an error: the one vocabulary that internal/apigw maps to
// HTTP statuses. Anything that is not an *Error is an internal failure.
type Code string

const (
	InvalidJSON          Code = "invalid_json"
	Invalid              Code = "validation_failed"
	NotFound             Code = "not_found"
	VersionConflict      Code = "version_conflict"
	TooLarge             Code = "too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	IdempotencyKeyReused Code = "idempotency_key_reused"
	LateReasonRequired   Code = "late_reason_required"
)

// Rule names why one field failed; the list is closed (API.md).
type Rule string

const (
	RuleRequired       Rule = "required"
	RuleType           Rule = "type"
	RuleEnum           Rule = "enum"
	RuleFormat         Rule = "format"
	RuleMin            Rule = "min"
	RuleMax            Rule = "max"
	RuleLuhn           Rule = "luhn"
	RuleMismatch       Rule = "mismatch"
	RuleOrder          Rule = "order"
	RuleFuture         Rule = "future"
	RuleUnique         Rule = "unique"
	RuleRequiredIf     Rule = "required_if"
	RuleRequiredIfLate Rule = "required_if_late"
	RuleImmutable      Rule = "immutable"
)

// FieldError is one failing field, named by its JSON path (`incident.aware_at`,
// `data.data_categories[2]`, `header.If-Match`).
type FieldError struct {
	Field string `json:"field"`
	Rule  Rule   `json:"rule"`
}

// Error is a failure the client caused or can act on. Msg is safe to show to the client.
type Error struct {
	Code   Code
	Msg    string
	Fields []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Msg)
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Msg, e.Fields)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and "" otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func invalid(fields []FieldError) *Error {
	return &Error{Code: Invalid, Msg: "the report has invalid fields", Fields: fields}
}
