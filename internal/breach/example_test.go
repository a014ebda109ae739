package breach_test

import (
	"context"
	"fmt"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

func ExampleIntake_Submit() {
	org := breach.Organisation{ID: "boulangerie", LegalName: "Boulangerie Exemple SARL", Country: "FR"}
	clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(breachtest.NewStore(org), clock, ids)

	body := []byte(`{"regimes":["gdpr"],
	 "reporter":{"name":"Camille Durand","email":"dpo@boulangerie-exemple.fr"},
	 "organisation":{"legal_name":"Boulangerie Exemple SARL","sector":"retail","country":"FR","role":"controller"},
	 "incident":{"title":"Laptop stolen","description":"Customer list on a stolen laptop.",
	  "aware_at":"2026-11-21T10:00:00Z","breach_types":["confidentiality"],"cause":"accidental_external"},
	 "data":{"subjects_affected":240,"subjects_estimate":"approximate","data_categories":["identity","contact"]},
	 "measures":{"taken":"Passwords reset."}}`)
	got, err := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: "order-42", Body: body})
	fmt.Println(got.ID, got.Severity, got.Late, got.Replay, err)
	// Output: 01KAKZ7Q1W5Q7Y3X2V8N4M6P0R medium false false <nil>
}

func ExampleParser_Parse() {
	p := breach.NewParser()
	_, err := p.Parse([]byte(`{"regimes":["gdpr","ccpa"]}`), breach.Organisation{ID: "org"}, time.Now())
	fmt.Println(err.(*breach.Error).Fields[:2])
	// Output: [{regimes[1] enum} {reporter.name required}]
}

func ExampleDeadlines() {
	aware := time.Date(2027, 1, 28, 9, 0, 0, 0, time.UTC)
	received := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC) // the NIS2 notification, on time
	covered := breach.Coverage{breach.StageNIS2EarlyWarning: aware, breach.StageNIS2Notification: received}
	for _, d := range breach.Deadlines([]breach.Regime{breach.NIS2}, aware, covered, received) {
		fmt.Println(d.Stage, d.DueAt.Format(time.RFC3339), d.Met != nil && *d.Met)
	}
	// Output:
	// nis2.early_warning 2027-01-29T09:00:00Z true
	// nis2.notification 2027-01-31T09:00:00Z true
	// nis2.final 2027-02-28T09:00:00Z false
}

func ExampleCursors() {
	cursors, err := breach.NewCursors([]byte("a secret key of at least 32 bytes, from the environment"))
	if err != nil {
		panic(err)
	}
	next := cursors.Seal("org-a", "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R") // the last report of a page
	fmt.Println(cursors.Open("org-a", next))
	_, err = cursors.Open("org-b", next) // another organisation's cursor opens nothing
	fmt.Println(err)
	// Output:
	// 01KAKZ7Q1W5Q7Y3X2V8N4M6P0R <nil>
	// validation_failed: the cursor is not valid [{query.cursor format}]
}
