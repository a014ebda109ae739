package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
)

// Two organisations and a regulator, as the tenancy tests see them.
var (
	tenantA = breach.Organisation{ID: "org-alpha", LegalName: "Mutuelle Exemple", SIREN: "775685019", Country: "FR"}
	// No SIREN: it may file the same example body as tenantA, so only the key tells them apart.
	tenantB = breach.Organisation{ID: "org-beta", LegalName: "Clinique Exemple", Country: "FR"}
)

// asSupplement turns a first-report body into a supplement body of the given stage.
func asSupplement(body []byte, stage string) []byte {
	return append([]byte(`{"stage":"`+stage+`",`), bytes.TrimLeft(body, " \n{")...)
}

// requestIDs blanks request ids: two answers that must be identical may differ only there.
var requestIDs = regexp.MustCompile(`"request_id":"[^"]*"`)

func withoutRequestID(body string) string {
	return requestIDs.ReplaceAllString(body, `"request_id":""`)
}

// TestTenancyMatrix is the BOLA matrix: every route, every key (organisation A, organisation B,
// regulator, none) and every kind of id (own, other's, unknown, malformed; other's version and
// cursor). Only a caller's own data ever comes back, and "other's" answers are byte for byte
// "unknown" answers.
func TestTenancyMatrix(t *testing.T) {
	st := newLiveStack(t, breach.SystemClock())
	keyA, keyB := st.orgKey(t, tenantA), st.orgKey(t, tenantB)
	regulator := st.newKey(t, auth.Key{Principal: auth.PrincipalRegulator, Regulator: "CNIL"})

	// Each organisation files three reports; A's second one gets a supplement (version 2).
	var ownA, ownB []breach.ReportID
	for i := range 3 {
		ownA = append(ownA, st.submit(t, keyA, fmt.Sprintf("a-%d", i)).ID)
		ownB = append(ownB, st.submit(t, keyB, fmt.Sprintf("b-%d", i)).ID)
	}
	supplement := asSupplement(example(t, "processor-late.json"), "supplementary")
	if status, body := st.call(t, "POST", "/v1/reports/"+string(ownA[1])+"/supplements", supplement,
		"Authorization", "Bearer "+keyA, "Content-Type", "application/json", "Idempotency-Key", "a-sup", "If-Match", "1"); status != 201 {
		t.Fatalf("supplement: %d %s", status, body)
	}
	unknown := breach.ReportID("01KAAAAAAAAAAAAAAAAAAAAAAA")
	keys := map[string]string{"A": keyA, "B": keyB, "regulator": regulator}
	own := map[string][]breach.ReportID{"A": ownA, "B": ownB}
	other := map[string]string{"A": "B", "B": "A"}
	orgs := map[string]breach.Organisation{"A": tenantA, "B": tenantB}

	get := func(t *testing.T, who, path string) (int, string) {
		t.Helper()
		if who == "none" {
			return st.call(t, "GET", path, nil)
		}
		return st.call(t, "GET", path, nil, "Authorization", "Bearer "+keys[who])
	}
	// leaks fails when a body shown to who names anything of the other organisation.
	leaks := func(t *testing.T, who, body string) {
		t.Helper()
		for _, id := range own[other[who]] {
			if strings.Contains(body, string(id)) {
				t.Fatalf("%s was shown %s's report %s: %s", who, other[who], id, body)
			}
		}
		if theirs := orgs[other[who]].ID; strings.Contains(body, string(theirs)) {
			t.Fatalf("%s was shown organisation %s: %s", who, theirs, body)
		}
	}

	for _, who := range []string{"A", "B"} {
		mine, theirs := own[who], own[other[who]]
		t.Run(who+" reads its own reports and nothing else", func(t *testing.T) {
			for _, id := range mine {
				status, body := get(t, who, "/v1/reports/"+string(id))
				if status != 200 || !strings.Contains(body, `"id":"`+string(id)+`"`) {
					t.Fatalf("own report %s: %d %s", id, status, body)
				}
				leaks(t, who, body)
				status, body = get(t, who, "/v1/reports/"+string(id)+"/versions/1")
				if status != 200 || !strings.Contains(body, `"id":"`+string(id)+`"`) {
					t.Fatalf("own version: %d %s", status, body)
				}
			}
			// 404s: other's report, other's version, unknown, malformed ids and versions.
			notFound := map[string]string{}
			for name, path := range map[string]string{
				"other's report":        "/v1/reports/" + string(theirs[0]),
				"other's version":       "/v1/reports/" + string(theirs[0]) + "/versions/1",
				"other's supplemented":  "/v1/reports/" + string(ownA[1]) + "/versions/2",
				"unknown report":        "/v1/reports/" + string(unknown),
				"unknown version":       "/v1/reports/" + string(unknown) + "/versions/1",
				"own, version too high": "/v1/reports/" + string(mine[0]) + "/versions/9",
				"own, version zero":     "/v1/reports/" + string(mine[0]) + "/versions/0",
				"own, version 01":       "/v1/reports/" + string(mine[0]) + "/versions/01",
				"own, version -1":       "/v1/reports/" + string(mine[0]) + "/versions/-1",
				"malformed id":          "/v1/reports/not-a-report",
				"lower-case id":         "/v1/reports/" + strings.ToLower(string(theirs[0])),
				"malformed, version":    "/v1/reports/x/versions/1",
			} {
				if who == "A" && name == "other's supplemented" {
					continue // A's own
				}
				status, body := get(t, who, path)
				if status != 404 {
					t.Fatalf("%s (%s): %d %s", name, path, status, body)
				}
				notFound[name] = withoutRequestID(body)
			}
			first := notFound["unknown report"]
			for name, body := range notFound {
				if body != first {
					t.Errorf("%s answers %s; unknown answers %s", name, body, first)
				}
			}
			// A supplement to another's report is the same 404 and changes nothing.
			status, body := st.call(t, "POST", "/v1/reports/"+string(theirs[0])+"/supplements", supplement,
				"Authorization", "Bearer "+keys[who], "Content-Type", "application/json", "Idempotency-Key", "x-"+who, "If-Match", "1")
			if status != 404 || withoutRequestID(body) != first {
				t.Fatalf("supplement to other's report: %d %s", status, body)
			}
			status, body = st.call(t, "POST", "/v1/reports/"+string(unknown)+"/supplements", supplement,
				"Authorization", "Bearer "+keys[who], "Content-Type", "application/json", "Idempotency-Key", "y-"+who, "If-Match", "1")
			if status != 404 || withoutRequestID(body) != first {
				t.Fatalf("supplement to an unknown report: %d %s", status, body)
			}
		})

		t.Run(who+" lists its own reports, page by page, newest first", func(t *testing.T) {
			var seen []string
			path, pages := "/v1/reports?limit=2", 0
			for {
				status, body := get(t, who, path)
				if status != 200 {
					t.Fatalf("list: %d %s", status, body)
				}
				leaks(t, who, body)
				var page struct {
					Items []struct {
						ID string `json:"id"`
					} `json:"items"`
					NextCursor *string `json:"next_cursor"`
				}
				if err := json.Unmarshal([]byte(body), &page); err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					seen = append(seen, it.ID)
				}
				pages++
				if page.NextCursor == nil || *page.NextCursor == "" {
					break
				}
				// The other organisation presenting this cursor gets a 400, never a page.
				status, body = get(t, other[who], "/v1/reports?cursor="+url.QueryEscape(*page.NextCursor))
				if status != 400 || !strings.Contains(body, `"field":"query.cursor"`) {
					t.Fatalf("other's cursor: %d %s", status, body)
				}
				path = "/v1/reports?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
			}
			want := []string{string(mine[2]), string(mine[1]), string(mine[0])}
			if strings.Join(seen, ",") != strings.Join(want, ",") || pages != 2 {
				t.Fatalf("listed %v in %d pages, want %v in 2", seen, pages, want)
			}
		})
	}

	t.Run("cursors and limits that are not ours are refused", func(t *testing.T) {
		for _, q := range []string{"cursor=garbage", "cursor=" + strings.Repeat("A", 40), "limit=0", "limit=101", "limit=abc"} {
			if status, body := get(t, "A", "/v1/reports?"+q); status != 400 || !strings.Contains(body, `"code":"validation_failed"`) {
				t.Errorf("%s: %d %s", q, status, body)
			}
		}
	})

	t.Run("the regulator reads every report through its route only", func(t *testing.T) {
		for who, ids := range own {
			for _, id := range ids {
				status, body := get(t, "regulator", "/v1/regulator/reports/"+string(id))
				if status != 200 || !strings.Contains(body, `"id":"`+string(id)+`"`) {
					t.Fatalf("regulator reading %s's %s: %d %s", who, id, status, body)
				}
			}
		}
		status, unknownBody := get(t, "regulator", "/v1/regulator/reports/"+string(unknown))
		if status != 404 {
			t.Fatalf("regulator, unknown: %d %s", status, unknownBody)
		}
		if status, body := get(t, "regulator", "/v1/regulator/reports/nope"); status != 404 || withoutRequestID(body) != withoutRequestID(unknownBody) {
			t.Fatalf("regulator, malformed: %d %s", status, body)
		}
		for _, path := range []string{"/v1/reports", "/v1/reports/" + string(ownA[0]), "/v1/reports/" + string(ownA[0]) + "/versions/1"} {
			if status, body := get(t, "regulator", path); status != 403 || body != `{"message":"Forbidden"}` {
				t.Fatalf("regulator key on %s: %d %s", path, status, body)
			}
		}
		if status, body := st.post(t, example(t, "processor-late.json"), "Authorization", "Bearer "+regulator,
			"Content-Type", "application/json", "Idempotency-Key", "r"); status != 403 || body != `{"message":"Forbidden"}` {
			t.Fatalf("regulator submitting: %d %s", status, body)
		}
	})

	t.Run("organisations never use the regulator route", func(t *testing.T) {
		for _, who := range []string{"A", "B"} {
			for _, id := range append(own[who], own[other[who]]...) {
				if status, body := get(t, who, "/v1/regulator/reports/"+string(id)); status != 403 || body != `{"message":"Forbidden"}` {
					t.Fatalf("%s on the regulator route: %d %s", who, status, body)
				}
			}
		}
	})

	t.Run("no key, no answer", func(t *testing.T) {
		for _, path := range []string{"/v1/reports", "/v1/reports/" + string(ownA[0]), "/v1/reports/" + string(ownA[0]) + "/versions/1", "/v1/regulator/reports/" + string(ownA[0])} {
			if status, body := get(t, "none", path); status != 401 || body != `{"message":"Unauthorized"}` {
				t.Fatalf("%s without a key: %d %s", path, status, body)
			}
		}
	})

	t.Run("B's reports are untouched by A's attempts", func(t *testing.T) {
		for _, id := range ownB {
			versions, err := st.store.Versions(context.Background(), id)
			if err != nil || len(versions) != 1 {
				t.Fatalf("%s: versions %+v, %v", id, versions, err)
			}
		}
	})
}

// TestSupplementsOverHTTP: If-Match, immutable aware_at, versions never changed, and each version
// archived and alerted on its own.
func TestSupplementsOverHTTP(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	key := st.orgKey(t, tenantA)
	alerts := st.subscribe(t, "all-alerts", "")
	first := st.submit(t, key, "v1")
	path := "/v1/reports/" + string(first.ID) + "/supplements"
	body := example(t, "processor-late.json")
	post := func(t *testing.T, b []byte, headers ...string) (int, string) {
		t.Helper()
		return st.call(t, "POST", path, b, append([]string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}, headers...)...)
	}
	v1 := func(t *testing.T) string {
		t.Helper()
		status, b := st.call(t, "GET", "/v1/reports/"+string(first.ID)+"/versions/1", nil, "Authorization", "Bearer "+key)
		if sum := sha256.Sum256([]byte(b)); status != 200 || hex.EncodeToString(sum[:]) != first.SHA256 {
			t.Fatalf("version 1: %d, its bytes do not hash to the first receipt", status)
		}
		return b
	}
	before := v1(t)

	for _, tc := range []struct {
		name    string
		body    []byte
		headers []string
		status  int
		want    string
	}{
		{"no If-Match", asSupplement(body, "supplementary"), []string{"Idempotency-Key", "s1"}, 400, `{"field":"header.If-Match","rule":"required"}`},
		{"a stale If-Match", asSupplement(body, "supplementary"), []string{"Idempotency-Key", "s2", "If-Match", "0"}, 409, `"code":"version_conflict"`},
		{"aware_at changed", asSupplement(bytes.Replace(body, []byte("2026-10-30T09:00:00Z"), []byte("2026-10-30T10:00:00Z"), 1), "supplementary"),
			[]string{"Idempotency-Key", "s3", "If-Match", "1"}, 400, `{"field":"incident.aware_at","rule":"immutable"}`},
		{"a regime dropped", asSupplement(bytes.Replace(body, []byte(`["gdpr"]`), []byte(`["nis2"]`), 1), "supplementary"),
			[]string{"Idempotency-Key", "s4", "If-Match", "1"}, 400, `{"field":"regimes","rule":"immutable"}`},
		{"no stage", body, []string{"Idempotency-Key", "s5", "If-Match", "1"}, 400, `"field":"stage"`},
		{"version 2", asSupplement(body, "supplementary"), []string{"Idempotency-Key", "s6", "If-Match", "1"}, 201, `"version":2`},
		{"its retry replays rather than conflicts", asSupplement(body, "supplementary"), []string{"Idempotency-Key", "s6", "If-Match", "1"}, 200, `"version":2`},
		{"the same If-Match again is stale", asSupplement(body, "supplementary"), []string{"Idempotency-Key", "s7", "If-Match", "1"}, 409, `"code":"version_conflict"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(t, tc.body, tc.headers...)
			if status != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("%d %s; want %d with %s", status, got, tc.status, tc.want)
			}
		})
	}
	if after := v1(t); after != before {
		t.Fatal("version 1 changed")
	}
	status, view := st.call(t, "GET", "/v1/reports/"+string(first.ID), nil, "Authorization", "Bearer "+key)
	if status != 200 || !strings.Contains(view, `"version":2`) {
		t.Fatalf("report after the supplement: %d %s", status, view)
	}

	if err := st.poller(t, st.streamSource(t)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		k := fmt.Sprintf("reports/%s/%s/v%d.json", tenantA.ID, first.ID, n)
		if _, err := s3.NewFromConfig(st.cfg).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.names["ArchiveBucket"]), Key: aws.String(k)}); err != nil {
			t.Errorf("archive %s: %v", k, err)
		}
	}
	got := map[string]int{}
	for _, a := range st.alerts(t, alerts) {
		got[fmt.Sprintf("v%d %s", a.Version, a.Kind)]++
	}
	if len(got) != 2 || got["v1 new"] != 1 || got["v2 supplement"] != 1 {
		t.Fatalf("alerts %v, want one new for v1 and one supplement for v2", got)
	}
}
