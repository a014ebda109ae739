package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/client"
	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// localStack is the whole stack of `make dev` in the test: the real template's resources on a
// private moto_server and its handlers behind the local API server, over real HTTP.
type localStack struct {
	url   string
	store *dynamo.Store
}

func startLocalStack(t *testing.T) *localStack {
	t.Helper()
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl, err := local.LoadTemplate("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tpl, "test")
	if err != nil {
		t.Fatal(err)
	}
	fns := local.TemplateFunctions(tpl, names, cfg, breach.SystemClock(), io.Discard)
	api, err := local.NewAPI(tpl, fns, local.APIOptions{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &localStack{url: srv.URL, store: dynamo.New(dynamodb.NewFromConfig(cfg), names["ReportsTable"])}
}

// orgKey provisions org and returns a new key for it, as `breachctl keys create` does.
func (s *localStack) orgKey(t *testing.T, org breach.Organisation) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.store.PutOrganisation(ctx, org, time.Now()); err != nil {
		t.Fatal(err)
	}
	k, plaintext, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.Principal, k.OrgID, k.CreatedAt = auth.PrincipalOrganisation, string(org.ID), time.Now()
	if err := s.store.PutKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return plaintext
}

// newReport is a valid report, on time at now, built in Go.
func newReport(title string, now time.Time) client.Report {
	no := false
	records := int64(15_000)
	return client.Report{
		Regimes:      []string{"gdpr"},
		Reporter:     client.Reporter{Name: "Jeanne Martin", Role: "DPO", Email: "dpo@example.fr", Phone: "+33 1 23 45 67 89"},
		Organisation: client.Organisation{LegalName: "Exemple SA", Sector: "retail", Country: "FR", Role: "controller"},
		Incident: client.Incident{
			Title: title, Description: "Credential stuffing on the customer portal.",
			OccurredAt: now.Add(-3 * time.Hour), DiscoveredAt: now.Add(-2 * time.Hour), AwareAt: now.Add(-time.Hour),
			Ongoing: &no, BreachTypes: []string{"confidentiality"}, Cause: "malicious_external", CrossBorder: &no,
		},
		Data: client.Data{SubjectsAffected: 12_000, SubjectsEstimate: "approximate", RecordsAffected: &records,
			SubjectCategories: []string{"customers"}, DataCategories: []string{"identity", "contact", "national_id"}},
		Measures:         client.Measures{Taken: "Passwords reset.", Planned: "Second factor."},
		SubjectsInformed: &client.SubjectsInformed{Status: "planned", Reason: "Scope being established."},
	}
}

// dropFirstAnswer loses the first answer after the server has acted on the request: the client
// cannot know whether its report was stored.
type dropFirstAnswer struct{ calls atomic.Int32 }

func (d *dropFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && d.calls.Add(1) == 1 {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (test)")
	}
	return resp, err
}

// TestLocalStack drives the client against the real handlers: submit, replay, reads, supplements,
// listing, and the API's errors as the client types them.
func TestLocalStack(t *testing.T) {
	ctx := t.Context()
	st := startLocalStack(t)
	org := breach.Organisation{ID: "org-client", LegalName: "Exemple SA", Country: "FR"}
	c := client.New(st.url, st.orgKey(t, org), client.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	now := time.Now()
	r := newReport("Credential stuffing", now)

	if err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}

	first, err := c.Submit(ctx, r)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	t.Run("a receipt", func(t *testing.T) {
		if first.ID == "" || first.Version != 1 || first.Status != "received" || first.Stage != "initial" || first.Replayed ||
			first.Severity != "critical" || first.Late || len(first.SHA256) != 64 || time.Since(first.ReceivedAt) > time.Minute {
			t.Fatalf("%+v", first)
		}
		if len(first.Deadlines) != 1 || first.Deadlines[0].Stage != "gdpr.notification" || first.Deadlines[0].Met == nil || !*first.Deadlines[0].Met ||
			!first.Deadlines[0].DueAt.Equal(r.Incident.AwareAt.Add(72*time.Hour)) {
			t.Fatalf("deadlines %+v", first.Deadlines)
		}
	})

	t.Run("the same call again replays its receipt", func(t *testing.T) {
		again, err := c.Submit(ctx, r, client.WithIdempotencyKey(first.IdempotencyKey))
		if err != nil || !again.Replayed || string(again.Raw) != string(first.Raw) {
			t.Fatalf("%v: replayed %v\n%s\n%s", err, again.Replayed, again.Raw, first.Raw)
		}
		other := r
		other.Consequences = "Another body."
		_, err = c.Submit(ctx, other, client.WithIdempotencyKey(first.IdempotencyKey))
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 422 || e.Code != "idempotency_key_reused" || e.RequestID == "" {
			t.Fatalf("same key, other body: %v", err)
		}
	})

	t.Run("a lost answer is retried with the same key and stored once", func(t *testing.T) {
		lossy := client.New(st.url, st.orgKey(t, org), client.WithHTTPClient(&http.Client{Transport: &dropFirstAnswer{}}),
			client.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
		rc, err := lossy.Submit(ctx, newReport("Lost answer", now))
		if err != nil || !rc.Replayed || rc.Version != 1 {
			t.Fatalf("%+v %v: want the first receipt, replayed", rc, err)
		}
		n := 0
		for s, err := range c.Reports(ctx, 100) {
			if err != nil {
				t.Fatal(err)
			}
			if s.ID == rc.ID {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("report %s listed %d times", rc.ID, n)
		}
	})

	t.Run("every failing field, one by one", func(t *testing.T) {
		bad := r
		bad.Reporter.Email = " "
		bad.Organisation.Sector = "bakery"
		bad.Data.DataCategories = []string{"identity", "gossip"}
		bad.Incident.AwareAt = time.Time{}
		_, err := c.Submit(ctx, bad)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "validation_failed" || e.RequestID == "" {
			t.Fatalf("%v", err)
		}
		for _, want := range []client.FieldError{{"reporter.email", "required"}, {"organisation.sector", "enum"}, {"data.data_categories[1]", "enum"}} {
			if !slices.Contains(e.Fields, want) {
				t.Errorf("%v lacks %v", e.Fields, want)
			}
		}
		if !slices.ContainsFunc(e.Fields, func(f client.FieldError) bool { return f.Field == "incident.aware_at" }) {
			t.Errorf("%v lacks incident.aware_at", e.Fields)
		}
	})

	t.Run("the gateway's answers", func(t *testing.T) {
		_, err := client.New(st.url, "bik_0123456789abcdef_nope").Submit(ctx, r)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 403 || e.Code != "" || e.Message != "Forbidden" || e.RequestID == "" {
			t.Fatalf("%#v", err)
		}
		_, err = client.New(st.url, "").List(ctx, "", 0)
		if !errors.As(err, &e) || e.Status != 401 || e.Message != "Unauthorized" {
			t.Fatalf("%#v", err)
		}
	})

	t.Run("read back", func(t *testing.T) {
		v, err := c.Get(ctx, first.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if v.ID != first.ID || v.Version != 1 || len(v.Versions) != 1 || v.Versions[0].SHA256 != first.SHA256 || v.Versions[0].Stage != "initial" {
			t.Fatalf("view %+v", v)
		}
		if v.Latest.SHA256() != first.SHA256 {
			t.Errorf("the latest document's bytes do not hash to the receipt's sha256:\n%s", v.Latest.Raw)
		}
		d, err := c.Version(ctx, first.ID, 1)
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		if d.SHA256() != first.SHA256 || d.ID != first.ID || d.Version != 1 || d.OrgID != string(org.ID) || d.SchemaVersion != 1 ||
			d.Severity != first.Severity || !d.ReceivedAt.Equal(first.ReceivedAt) {
			t.Fatalf("version 1 %+v", d)
		}
		if got := d.Report; got.Incident.Title != r.Incident.Title || !got.Incident.AwareAt.Equal(r.Incident.AwareAt) ||
			got.Data.SubjectsAffected != 12_000 || *got.Data.RecordsAffected != 15_000 || !slices.Equal(got.Data.DataCategories, r.Data.DataCategories) {
			t.Errorf("stored report %+v", got)
		}
		for name, read := range map[string]func() error{
			"an unknown report": func() error { _, err := c.Get(ctx, "01KAAAAAAAAAAAAAAAAAAAAAAA"); return err },
			"a version too far": func() error { _, err := c.Version(ctx, first.ID, 9); return err },
			"a malformed id":    func() error { _, err := c.Get(ctx, "not/an id"); return err },
		} {
			if err := read(); !client.IsNotFound(err) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("supplements", func(t *testing.T) {
		next := r
		next.Measures.Planned = "Second factor for every account, by January."
		next.Regimes = []string{"gdpr", "nis2"}
		second, err := c.Supplement(ctx, first.ID, 1, "nis2.notification", next)
		if err != nil {
			t.Fatalf("supplement: %v", err)
		}
		if second.ID != first.ID || second.Version != 2 || second.Stage != "nis2.notification" || second.Replayed {
			t.Fatalf("%+v", second)
		}
		again, err := c.Supplement(ctx, first.ID, 1, "nis2.notification", next, client.WithIdempotencyKey(second.IdempotencyKey))
		if err != nil || !again.Replayed || string(again.Raw) != string(second.Raw) {
			t.Fatalf("its retry: %v, replayed %v", err, again.Replayed)
		}
		if _, err := c.Supplement(ctx, first.ID, 1, "supplementary", next); !client.IsConflict(err) {
			t.Fatalf("a stale If-Match: %v", err)
		}
		moved := next
		moved.Incident.AwareAt = moved.Incident.AwareAt.Add(time.Minute)
		_, err = c.Supplement(ctx, first.ID, 2, "supplementary", moved)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || !slices.Contains(e.Fields, client.FieldError{Field: "incident.aware_at", Rule: "immutable"}) {
			t.Fatalf("aware_at changed: %v", err)
		}

		v, err := c.Get(ctx, first.ID)
		if err != nil || v.Version != 2 || len(v.Versions) != 2 || v.Latest.SHA256() != second.SHA256 || v.Latest.Stage != "nis2.notification" {
			t.Fatalf("after the supplement: %+v %v", v, err)
		}
		d2, err := c.Version(ctx, first.ID, 2)
		if err != nil || d2.SHA256() != second.SHA256 || d2.Report.Measures.Planned != next.Measures.Planned {
			t.Fatalf("version 2: %+v %v", d2, err)
		}
		d1, err := c.Version(ctx, first.ID, 1)
		if err != nil || d1.SHA256() != first.SHA256 {
			t.Fatalf("version 1 changed: %v", err)
		}
	})

	t.Run("list, newest first, page by page", func(t *testing.T) {
		var want []string
		for _, title := range []string{"Third", "Fourth", "Fifth"} {
			rc, err := c.Submit(ctx, newReport(title, now))
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{rc.ID}, want...)
		}
		p, err := c.List(ctx, "", 2)
		if err != nil || len(p.Items) != 2 || p.NextCursor == "" || p.Items[0].ID != want[0] || p.Items[1].ID != want[1] {
			t.Fatalf("first page %+v %v", p, err)
		}
		var all []client.ReportSummary
		for s, err := range c.Reports(ctx, 2) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, s)
		}
		// The three above, the lost answer's report and the first one: five in three pages.
		if len(all) != 5 || all[0].ID != want[0] || all[1].ID != want[1] || all[2].ID != want[2] || all[4].ID != first.ID {
			t.Fatalf("listed %+v", all)
		}
		if s := all[4]; s.Version != 2 || s.Stage != "nis2.notification" || !slices.Equal(s.Regimes, []string{"gdpr", "nis2"}) ||
			!s.ReceivedAt.Equal(first.ReceivedAt) || s.UpdatedAt.Before(s.ReceivedAt) {
			t.Errorf("the supplemented report listed as %+v", s)
		}
		if _, err := c.List(ctx, "not-a-cursor", 0); err == nil {
			t.Error("a forged cursor was accepted")
		}
	})

	t.Run("another organisation sees none of it", func(t *testing.T) {
		other := client.New(st.url, st.orgKey(t, breach.Organisation{ID: "org-other", LegalName: "Autre SA", Country: "FR"}))
		if _, err := other.Get(ctx, first.ID); !client.IsNotFound(err) {
			t.Fatalf("get: %v", err)
		}
		if _, err := other.Version(ctx, first.ID, 1); !client.IsNotFound(err) {
			t.Fatalf("version: %v", err)
		}
		if _, err := other.Supplement(ctx, first.ID, 2, "supplementary", r); !client.IsNotFound(err) {
			t.Fatalf("supplement: %v", err)
		}
		for s, err := range other.Reports(ctx, 0) {
			t.Fatalf("listed %+v %v", s, err)
		}
	})
}
