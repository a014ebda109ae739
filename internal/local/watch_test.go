package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
)

// nis2Aware is incident.aware_at of the NIS2 example (07:30+01:00).
var nis2Aware = time.Date(2026, 11, 21, 6, 30, 0, 0, time.UTC)

// movable is a clock the test moves: the stack's functions and API read it.
type movable struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movable) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movable) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// edited is a report body with top-level members replaced.
func edited(t *testing.T, body []byte, edits map[string]any) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// file posts a first report and returns its id.
func (s *liveStack) file(t *testing.T, key, idem string, body []byte) breach.ReportID {
	t.Helper()
	status, answer := s.post(t, body, "Authorization", "Bearer "+key, "Content-Type", "application/json", "Idempotency-Key", idem)
	var rc receipt
	if status != 201 || json.Unmarshal([]byte(answer), &rc) != nil {
		t.Fatalf("submit: %d %s", status, answer)
	}
	return rc.ID
}

// supplementTo posts a supplement as version `ifMatch`+1.
func (s *liveStack) supplementTo(t *testing.T, key string, id breach.ReportID, ifMatch, idem string, body []byte) {
	t.Helper()
	status, answer := s.call(t, "POST", "/v1/reports/"+string(id)+"/supplements", body, "Authorization", "Bearer "+key,
		"Content-Type", "application/json", "Idempotency-Key", idem, "If-Match", ifMatch)
	if status != 201 {
		t.Fatalf("supplement: %d %s", status, answer)
	}
}

// watch runs the template's DeadlineWatchFunction once with the sample scheduled event.
func (s *liveStack) watch(t *testing.T) error {
	t.Helper()
	fn, err := s.fns("DeadlineWatchFunction")
	if err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile("../../events/deadline-watch.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fn.Invoke(context.Background(), event)
	return err
}

// TestDeadlineWatchOnMoto: the template's deadline-watch over the local stack, with the index the
// template declares, a clock the test moves, and two runs at once. A GDPR report without a
// covering version at aware_at + 73 h and a NIS2 report whose notification did not come are each
// alerted once, for that stage only; the runs after alert nothing more.
func TestDeadlineWatchOnMoto(t *testing.T) {
	ctx := context.Background()
	clock := &movable{t: nis2Aware.Add(time.Hour)}
	st := newLiveStack(t, clock.now)
	key := st.orgKey(t, tenantB) // provisioned without a SIREN: the NIS2 example's is another
	regulator := st.subscribe(t, "regulator", "")
	overdueOnly := st.subscribe(t, "overdue-only", `{"kind":["overdue"]}`)
	nis2 := example(t, "nis2-health-ransomware.json")

	// A NIS2 report to which a supplement adds GDPR: only a first report covers gdpr.notification.
	gdprLate := st.file(t, key, "g-1", edited(t, nis2, map[string]any{"regimes": []string{"nis2"}}))
	// A GDPR report to which a supplement adds NIS2 with its early warning, in time.
	nis2Late := st.file(t, key, "n-1", edited(t, nis2, map[string]any{"regimes": []string{"gdpr"}}))
	clock.set(nis2Aware.Add(2 * time.Hour))
	st.supplementTo(t, key, gdprLate, "1", "g-2", edited(t, nis2, map[string]any{"regimes": []string{"nis2", "gdpr"}, "stage": "supplementary"}))
	clock.set(nis2Aware.Add(20 * time.Hour))
	st.supplementTo(t, key, nis2Late, "1", "n-2", edited(t, nis2, map[string]any{"regimes": []string{"gdpr", "nis2"}, "stage": "nis2.early_warning"}))
	// A report with every stage covered never enters the index.
	st.file(t, key, "c-1", example(t, "gdpr-minimal.json"))
	if err := st.poller(t, st.streamSource(t)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.alerts(t, regulator); len(got) != 5 {
		t.Fatalf("%d alerts from the fan-out, want 5 (3 new, 2 supplements)", len(got))
	}

	clock.set(nis2Aware.Add(72 * time.Hour))
	if err := st.watch(t); err != nil {
		t.Fatal(err)
	}
	if got := st.alerts(t, regulator); len(got) != 0 {
		t.Fatalf("at the due time exactly: %+v", got)
	}

	clock.set(nis2Aware.Add(73 * time.Hour))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := st.watch(t); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	clock.set(nis2Aware.Add(73*time.Hour + 15*time.Minute))
	if err := st.watch(t); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range st.alerts(t, overdueOnly) {
		if a.Kind != breach.AlertOverdue || a.Version != 2 || a.OrgID != tenantB.ID || a.OrganisationName != tenantB.LegalName {
			t.Errorf("alert %+v", a)
		}
		got = append(got, string(a.ReportID)+" "+string(a.Stage))
	}
	slices.Sort(got)
	want := []string{string(gdprLate) + " gdpr.notification", string(nis2Late) + " nis2.notification"}
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("overdue alerts %v, want %v", got, want)
	}
	if got := st.alerts(t, regulator); len(got) != 2 {
		t.Fatalf("the regulator got %d alerts, want the 2 overdue ones", len(got))
	}

	// Both reports wait in the index for nis2.final, a month away; nothing else is there.
	refs, err := st.store.Due(ctx, nis2Aware.AddDate(1, 0, 0), 10)
	if err != nil {
		t.Fatal(err)
	}
	filed := map[breach.ReportID]time.Time{}
	for _, r := range refs {
		filed[r.ID] = r.OpenDue
	}
	if wantFiled := map[breach.ReportID]time.Time{
		gdprLate: time.Date(2026, 12, 21, 7, 30, 0, 0, time.UTC), // a month after its notification (aware + 1 h)
		nis2Late: time.Date(2026, 12, 24, 6, 30, 0, 0, time.UTC), // a month after the notification's due time
	}; len(filed) != 2 || !filed[gdprLate].Equal(wantFiled[gdprLate]) || !filed[nis2Late].Equal(wantFiled[nis2Late]) {
		t.Fatalf("index %v, want %v", filed, wantFiled)
	}
	if strings.Contains(st.logs.String(), "Lefèvre") || !strings.Contains(st.logs.String(), `"deadline watch"`) {
		t.Fatal("the watch's log lines are missing, or carry contact details")
	}
}

// TestCorrelationOverHTTP: two organisations name the same processor SIREN; regulators get one
// correlated alert listing both reports, and neither organisation's answers (receipts, its list,
// its report and versions) mention the other's report, identity or name.
func TestCorrelationOverHTTP(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	keyA, keyB := st.orgKey(t, tenantA), st.orgKey(t, tenantB)
	regulator := st.subscribe(t, "regulator", "")
	bodyA := example(t, "processor-late.json")
	bodyB := bytes.Replace(bodyA, []byte(`"legal_name": "Mutuelle Exemple", "siren": "775685019"`), []byte(`"legal_name": "Clinique Exemple"`), 1)
	if bytes.Equal(bodyA, bodyB) {
		t.Fatal("B's body still names A")
	}
	var answers = map[string][]string{} // organisation → every answer it got
	post := func(key, org string, body []byte, idem string) breach.ReportID {
		status, answer := st.post(t, body, "Authorization", "Bearer "+key, "Content-Type", "application/json", "Idempotency-Key", idem)
		var rc receipt
		if status != 201 || json.Unmarshal([]byte(answer), &rc) != nil {
			t.Fatalf("submit: %d %s", status, answer)
		}
		answers[org] = append(answers[org], answer)
		return rc.ID
	}
	idA := post(keyA, "A", bodyA, "a-1")
	idB := post(keyB, "B", bodyB, "b-1")
	if err := st.poller(t, st.streamSource(t)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var correlated []breach.Alert
	for _, a := range st.alerts(t, regulator) {
		if a.Kind == breach.AlertCorrelated {
			correlated = append(correlated, a)
		}
	}
	if len(correlated) != 1 {
		t.Fatalf("%d correlated alerts, want 1", len(correlated))
	}
	c := correlated[0]
	var listed []string
	for _, r := range c.Reports {
		listed = append(listed, string(r.ReportID)+" "+string(r.OrgID)+" "+r.OrganisationName)
	}
	want := []string{string(idA) + " org-alpha Mutuelle Exemple", string(idB) + " org-beta Clinique Exemple"}
	// The joining report is the one processed second: both are in one stream batch.
	if c.Processor == nil || c.Processor.SIREN != "443061841" || (c.ReportID != idA && c.ReportID != idB) || !reflect.DeepEqual(listed, want) {
		t.Fatalf("correlated alert %+v listing %v, want %v", c, listed, want)
	}

	for _, who := range []struct {
		org, key            string
		own, other          breach.ReportID
		otherOrg, otherName string // the other organisation's id and name
	}{
		{"A", keyA, idA, idB, "org-beta", "Clinique Exemple"},
		{"B", keyB, idB, idA, "org-alpha", "Mutuelle Exemple"},
	} {
		for _, path := range []string{"/v1/reports", "/v1/reports/" + string(who.own), "/v1/reports/" + string(who.own) + "/versions/1"} {
			status, answer := st.call(t, "GET", path, nil, "Authorization", "Bearer "+who.key)
			if status != 200 {
				t.Fatalf("%s GET %s: %d %s", who.org, path, status, answer)
			}
			answers[who.org] = append(answers[who.org], answer)
		}
		status, answer := st.call(t, "GET", "/v1/reports/"+string(who.other), nil, "Authorization", "Bearer "+who.key)
		if status != 404 {
			t.Fatalf("%s GET the other's report: %d %s", who.org, status, answer)
		}
		for _, answer := range answers[who.org] {
			for _, secret := range []string{string(who.other), who.otherOrg, who.otherName, "correlat"} {
				if strings.Contains(answer, secret) {
					t.Errorf("an answer to %s mentions %q: %s", who.org, secret, answer)
				}
			}
		}
	}
}

// TestDeadlineWatchUpdatesOnlyTheIndex: of a report's head, deadline-watch may update its place
// in the index and nothing else (dynamodb:Attributes: the key, the index's two attributes, and
// latest, which its condition reads), with nothing returned; no other statement lets it write
// heads.
func TestDeadlineWatchUpdatesOnlyTheIndex(t *testing.T) {
	tpl := loadReal(t)
	var found int
	for _, s := range functionStatements(t, tpl, "DeadlineWatchFunction", tpl.Resources["DeadlineWatchFunction"]) {
		cond := mapping(s["Condition"])
		if !slices.Contains(strs(mapping(cond["ForAllValues:StringLike"])["dynamodb:LeadingKeys"]), "REPORTS#*") {
			continue
		}
		actions := strs(s["Action"])
		if !slices.ContainsFunc(actions, func(a string) bool { return a == "dynamodb:UpdateItem" || a == "dynamodb:PutItem" }) {
			continue
		}
		found++
		attrs := strs(mapping(cond["ForAllValues:StringEquals"])["dynamodb:Attributes"])
		slices.Sort(attrs)
		if !reflect.DeepEqual(actions, []string{"dynamodb:UpdateItem"}) || !reflect.DeepEqual(attrs, []string{"deadline_watch", "latest", "open_due", "pk", "sk"}) ||
			!reflect.DeepEqual(strs(mapping(cond["StringEqualsIfExists"])["dynamodb:ReturnValues"]), []string{"NONE"}) {
			t.Errorf("heads written by %v on attributes %v, returning %v", actions, attrs, cond["StringEqualsIfExists"])
		}
	}
	if found != 1 {
		t.Fatalf("%d statements let deadline-watch write heads, want 1", found)
	}
}

// TestOverdueClaimsOutliveARun: a claim on an overdue alert (breach.OverdueClaimTTL) must outlast
// any run holding it (the function's Timeout), or two runs could publish, and expire before the
// next scheduled run, which retries what a failed run claimed. Lambda does not retry a run.
func TestOverdueClaimsOutliveARun(t *testing.T) {
	tpl := loadReal(t)
	fn := tpl.Resources["DeadlineWatchFunction"]
	timeout, ok := fn.Properties["Timeout"].(int)
	if !ok || time.Duration(timeout)*time.Second >= breach.OverdueClaimTTL {
		t.Errorf("Timeout %v, want a number of seconds under %s", fn.Properties["Timeout"], breach.OverdueClaimTTL)
	}
	schedules, err := tpl.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(schedules, func(s local.Schedule) bool { return s.Function == "DeadlineWatchFunction" })
	if i < 0 || schedules[i].Expression != "rate(15 minutes)" || 15*time.Minute <= breach.OverdueClaimTTL {
		t.Errorf("schedule %+v, want rate(15 minutes), longer than a claim lives", schedules)
	}
	if retries := mapping(fn.Properties["EventInvokeConfig"])["MaximumRetryAttempts"]; retries != 0 {
		t.Errorf("MaximumRetryAttempts %v, want 0", retries)
	}
}
