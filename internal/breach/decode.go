package breach

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Limits on a body, beyond JSON syntax (API.md, Errors).
const (
	MaxBodyBytes = 256 << 10
	maxDepth     = 16
	maxItems     = 100
)

// decodeStrict decodes body into v, rejecting duplicate names, unknown or case-variant names,
// trailing data, invalid UTF-8, nesting deeper than 16 and arrays longer than 100 items.
// A value of the wrong JSON type is a field error (rule `type`) at its path.
func decodeStrict(body []byte, v any) error {
	if err := checkShape(body); err != nil {
		return err
	}
	err := json.Unmarshal(body, v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		return Errorf(InvalidJSON, "%s at byte offset %d", syntaxProblem(syn.Err), syn.ByteOffset)
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return Errorf(InvalidJSON, "unknown field %q", jsonPath(string(sem.JSONPointer)))
	case errors.As(err, &sem) && sem.JSONPointer != "":
		return invalid([]FieldError{{Field: jsonPath(string(sem.JSONPointer)), Rule: RuleType}})
	case errors.As(err, &sem):
		return Errorf(InvalidJSON, "the body must be a JSON object")
	default:
		return Errorf(InvalidJSON, "the body is not valid JSON")
	}
}

// syntaxProblem names a syntax error in words of our own: the library's text names Go types.
func syntaxProblem(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return "duplicate member name"
	case strings.Contains(msg, "UTF-8"):
		return "invalid UTF-8"
	case strings.Contains(msg, "after top-level value"):
		return "trailing data after the JSON value"
	case strings.Contains(msg, "EOF"):
		return "unexpected end of JSON input"
	default:
		return "JSON syntax error"
	}
}

// checkShape enforces the depth and array-length limits in one pass over the bytes, before the
// decoder allocates anything for a hostile body. Syntax is left to the decoder.
func checkShape(body []byte) error {
	type level struct {
		array bool
		items int
	}
	var stack [maxDepth]level
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			// Skip the string's contents at memchr speed: only quotes and backslashes matter.
			for {
				j := -1
				if i+1 < len(body) {
					j = bytes.IndexAny(body[i+1:], "\"\\")
				}
				if j < 0 {
					return nil // unterminated: the decoder reports it
				}
				i += 1 + j
				if body[i] == '"' {
					break
				}
				i++ // the escaped character
			}
		case '[', '{':
			if depth == maxDepth {
				return Errorf(InvalidJSON, "nesting deeper than %d levels", maxDepth)
			}
			stack[depth] = level{array: body[i] == '[', items: 1}
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth > 0 && stack[depth-1].array {
				stack[depth-1].items++
				if stack[depth-1].items > maxItems {
					return Errorf(InvalidJSON, "an array has more than %d items", maxItems)
				}
			}
		}
	}
	return nil
}

// jsonPath turns a JSON pointer (/data/data_categories/2) into our field path
// (data.data_categories[2]).
func jsonPath(pointer string) string {
	var b strings.Builder
	for seg := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if _, err := strconv.Atoi(seg); err == nil {
			fmt.Fprintf(&b, "[%s]", seg)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}
