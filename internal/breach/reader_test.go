package breach_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

var cursorKey = bytes.Repeat([]byte{7}, 32)

// tenants is a store where exampleOrg filed five reports, one supplemented, and otherOrg two.
type tenants struct {
	store  *breachtest.Store
	reader *breach.Reader
	mine   []breach.ReportID // oldest first
	theirs []breach.ReportID
}

func newTenants(t *testing.T) *tenants {
	t.Helper()
	store := breachtest.NewStore(exampleOrg, otherOrg)
	now := exampleTime
	n := 0
	ids := func(time.Time) breach.ReportID { // increasing, as ULIDs are over time
		n++
		return breach.ReportID(fmt.Sprintf("01KA%022d", n))
	}
	in := breach.NewIntake(store, func() time.Time { return now }, ids)
	cursors, err := breach.NewCursors(cursorKey)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenants{store: store, reader: breach.NewReader(store, cursors)}
	body := readTestdata(t, "gdpr-minimal.json")
	for i := range 7 {
		org := exampleOrg.ID
		if i%3 == 1 {
			org = otherOrg.ID
		}
		now = now.Add(time.Minute)
		got, err := in.Submit(context.Background(), breach.Submission{Org: org, IdempotencyKey: fmt.Sprint(i), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if org == exampleOrg.ID {
			tn.mine = append(tn.mine, got.ID)
		} else {
			tn.theirs = append(tn.theirs, got.ID)
		}
	}
	head, err := in.Head(context.Background(), exampleOrg.ID, string(tn.mine[1]))
	if err != nil {
		t.Fatal(err)
	}
	sup := mutate(t, body, map[string]any{"stage": "supplementary"})
	if _, err := in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: "s", IfMatch: "1", Body: sup}); err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestReaderReport(t *testing.T) {
	tn := newTenants(t)
	id := tn.mine[1] // supplemented
	view, err := tn.reader.Report(context.Background(), exampleOrg.ID, string(id))
	if err != nil {
		t.Fatal(err)
	}
	stored := tn.store.Stored(id)
	if view.ID != id || view.Version != 2 || !bytes.Equal(view.Latest, stored[1].Document) || len(view.Versions) != 2 ||
		view.Versions[0].Number != 1 || view.Versions[1].SHA256 != stored[1].SHA256 {
		t.Fatalf("view %+v", view)
	}
	// The latest document is embedded as stored, so its digest still verifies.
	b, err := json.Marshal(view)
	if err != nil || !bytes.Contains(b, append([]byte(`"latest":`), stored[1].Document...)) {
		t.Fatalf("view JSON does not embed the stored document as it is: %s, %v", b, err)
	}
	if !strings.Contains(string(b), `"versions":[{"version":1,"stage":"initial",`) {
		t.Fatalf("versions in %s", b)
	}

	v, err := tn.reader.Version(context.Background(), exampleOrg.ID, string(id), "1")
	if err != nil || !bytes.Equal(v.Document, stored[0].Document) {
		t.Fatalf("Version 1 = %s, %v", v.Document, err)
	}
	for who, id := range map[string]breach.ReportID{"A": tn.mine[0], "B": tn.theirs[0]} {
		view, err := tn.reader.RegulatorReport(context.Background(), string(id))
		if err != nil || view.ID != id || !bytes.Equal(view.Latest, tn.store.Stored(id)[0].Document) {
			t.Fatalf("regulator reading %s's report: %+v, %v", who, view, err)
		}
	}
}

// TestReaderAnswersAlikeForEveryReportNotOurs: another organisation's report, an unknown one, a
// malformed id, a version that is not one: the same error, which names nothing.
func TestReaderAnswersAlikeForEveryReportNotOurs(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	mine, theirs, unknown := string(tn.mine[0]), string(tn.theirs[0]), "01KAAAAAAAAAAAAAAAAAAAAAAA"
	report := func(id string) func() error {
		return func() error { _, err := tn.reader.Report(ctx, exampleOrg.ID, id); return err }
	}
	version := func(id, n string) func() error {
		return func() error { _, err := tn.reader.Version(ctx, exampleOrg.ID, id, n); return err }
	}
	regulator := func(id string) func() error {
		return func() error { _, err := tn.reader.RegulatorReport(ctx, id); return err }
	}
	want := &breach.Error{Code: breach.NotFound, Msg: "no such report"}
	for name, call := range map[string]func() error{
		"other's report":         report(theirs),
		"unknown report":         report(unknown),
		"malformed id":           report("not-a-report"),
		"lower case id":          report(strings.ToLower(mine)),
		"other's version":        version(theirs, "1"),
		"unknown report version": version(unknown, "1"),
		"version 2 of a v1":      version(mine, "2"),
		"version 0":              version(mine, "0"),
		"version 01":             version(mine, "01"),
		"version -1":             version(mine, "-1"),
		"version abc":            version(mine, "abc"),
		"version empty":          version(mine, ""),
		"regulator, unknown":     regulator(unknown),
		"regulator, malformed":   regulator("x"),
	} {
		err := call()
		var e *breach.Error
		if !errors.As(err, &e) || !reflect.DeepEqual(e, want) {
			t.Errorf("%s: err = %#v, want %#v", name, err, want)
		}
	}
}

func TestReaderListsNewestFirstPageByPage(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	var seen []breach.ReportID
	var pages []breach.Page
	for cursor := ""; ; {
		page, err := tn.reader.List(ctx, exampleOrg.ID, cursor, "2")
		if err != nil {
			t.Fatalf("List(%q): %v", cursor, err)
		}
		pages = append(pages, page)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		// The other organisation presenting it gets a 400, never a page.
		if _, err := tn.reader.List(ctx, otherOrg.ID, cursor, ""); !isFieldError(err, "query.cursor", breach.RuleFormat) {
			t.Fatalf("other's cursor: %v", err)
		}
	}
	want := slices.Clone(tn.mine)
	slices.Reverse(want)
	if !slices.Equal(seen, want) || len(pages) != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", seen, len(pages), want)
	}
	if it := pages[1].Items[1]; it.ID != tn.mine[1] || it.Version != 2 || it.Stage != breach.StageSupplementary {
		t.Fatalf("supplemented report listed as %+v", it)
	}
	last, _ := json.Marshal(pages[2])
	if !strings.HasSuffix(string(last), `"next_cursor":null}`) {
		t.Fatalf("last page %s", last)
	}
	all, err := tn.reader.List(ctx, exampleOrg.ID, "", "")
	if err != nil || len(all.Items) != len(tn.mine) || all.NextCursor != nil {
		t.Fatalf("default page: %+v, %v", all, err)
	}
	empty, _ := json.Marshal(must(tn.reader.List(ctx, "org-without-reports", "", "")))
	if string(empty) != `{"items":[],"next_cursor":null}` {
		t.Fatalf("empty page %s", empty)
	}
}

func TestReaderRefusesBadQueries(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	good := must(tn.reader.List(ctx, exampleOrg.ID, "", "1")).NextCursor
	// Another id under the same MAC: the id is in the clear, a client could try.
	raw, err := base64.RawURLEncoding.DecodeString(*good)
	if err != nil || !bytes.HasPrefix(raw, []byte(tn.mine[4])) {
		t.Fatalf("cursor %q does not start with the id it seals", raw)
	}
	copy(raw, tn.mine[0])
	tampered := base64.RawURLEncoding.EncodeToString(raw)
	otherKey, _ := breach.NewCursors(bytes.Repeat([]byte{8}, 32))
	for _, tc := range []struct {
		name, cursor, limit string
		want                []breach.FieldError
	}{
		{"a tampered cursor", tampered, "", []breach.FieldError{fe("query.cursor", "format")}},
		{"a cursor of another key", otherKey.Seal(exampleOrg.ID, tn.mine[2]), "", []breach.FieldError{fe("query.cursor", "format")}},
		{"garbage", "garbage!", "", []breach.FieldError{fe("query.cursor", "format")}},
		{"a truncated cursor", (*good)[:40], "", []breach.FieldError{fe("query.cursor", "format")}},
		{"limit 0", "", "0", []breach.FieldError{fe("query.limit", "min")}},
		{"limit 101", "", "101", []breach.FieldError{fe("query.limit", "max")}},
		{"limit beyond int", "", "99999999999999999999", []breach.FieldError{fe("query.limit", "max")}},
		{"limit abc", "", "abc", []breach.FieldError{fe("query.limit", "type")}},
		{"limit -1", "", "-1", []breach.FieldError{fe("query.limit", "type")}},
		{"limit 1.5", "", "1.5", []breach.FieldError{fe("query.limit", "type")}},
		{"both", "x", "0", []breach.FieldError{fe("query.cursor", "format"), fe("query.limit", "min")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tn.reader.List(ctx, exampleOrg.ID, tc.cursor, tc.limit)
			var e *breach.Error
			if !errors.As(err, &e) || e.Code != breach.Invalid || !slices.Equal(e.Fields, tc.want) {
				t.Fatalf("err = %v, want validation_failed %v", err, tc.want)
			}
		})
	}
	for _, limit := range []string{"", "1", "100", "020"} {
		if _, err := tn.reader.List(ctx, exampleOrg.ID, *good, limit); err != nil {
			t.Errorf("limit %q: %v", limit, err)
		}
	}
}

func TestNewCursorsNeedsAKeyOf32Bytes(t *testing.T) {
	if _, err := breach.NewCursors(make([]byte, 31)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}

func isFieldError(err error, field string, rule breach.Rule) bool {
	var e *breach.Error
	return errors.As(err, &e) && e.Code == breach.Invalid && slices.Equal(e.Fields, []breach.FieldError{fe(field, rule)})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
