package breach

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
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
// trailing data, invalid UTF-8, nesting deeper than 16 and arrays longer than 100 items
// (invalid_json). A value of the wrong JSON type does not stop decoding: it is skipped and
// returned as a field error (rule `type`), so that validation can report every failing field.
func decodeStrict(body []byte, v any) (typeErrors []FieldError, err error) {
	if err := checkShape(body); err != nil {
		return nil, err
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, Errorf(InvalidJSON, "the body must be a JSON object")
	}
	err = json.Unmarshal(body, v, json.RejectUnknownMembers(true))
	var sem *json.SemanticError
	switch {
	case err == nil:
		return nil, nil
	case !errors.As(err, &sem) || errors.Is(sem.Err, json.ErrUnknownName):
		return nil, decodeError(err)
	}
	// A value of the wrong type stopped the decoder. Decode again from scratch, skipping and
	// collecting every such value: only bad requests pay for the per-value hook.
	reflect.ValueOf(v).Elem().SetZero()
	wrongType := json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v any) error {
		if _, custom := v.(json.UnmarshalerFrom); custom || fits(dec.PeekKind(), reflect.TypeOf(v).Elem()) {
			return errors.ErrUnsupported // decode as usual
		}
		if err := dec.SkipValue(); err != nil {
			return err
		}
		typeErrors = append(typeErrors, FieldError{Field: jsonPath(string(dec.StackPointer())), Rule: RuleType})
		return nil
	})
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true), json.WithUnmarshalers(wrongType)); err != nil {
		return nil, decodeError(err)
	}
	return typeErrors, nil
}

// decodeError words a decoding failure for the client: the library's text names Go types.
func decodeError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		return Errorf(InvalidJSON, "%s at byte offset %d", syntaxProblem(syn.Err), syn.ByteOffset)
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return Errorf(InvalidJSON, "unknown field %q", jsonPath(string(sem.JSONPointer)))
	default:
		return Errorf(InvalidJSON, "the body is not valid JSON for a report")
	}
}

// fits says whether a JSON value of kind k can decode into a Go value of type t (null fits
// anything: it leaves the value absent; an optional value is a pointer to what it holds).
func fits(k jsontext.Kind, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return k == '"' || k == 'n'
	case reflect.Bool:
		return k == 't' || k == 'f' || k == 'n'
	case reflect.Slice:
		return k == '[' || k == 'n'
	case reflect.Struct:
		return k == '{' || k == 'n'
	}
	return true
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

// pointerUnescaper undoes a JSON pointer's escapes (RFC 6901). It holds no mutable state.
var pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")

// jsonPath turns a JSON pointer (/data/data_categories/2) into our field path
// (data.data_categories[2]).
func jsonPath(pointer string) string {
	var b strings.Builder
	for seg := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		seg = pointerUnescaper.Replace(seg)
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
