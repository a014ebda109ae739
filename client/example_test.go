package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/breach-intake/intake/client"
)

// exampleAPI stands in for the intake API in the examples: it accepts a report that has a
// reporter's email, lists three reports two by two, and takes supplements to version 1 only.
func exampleAPI() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", func(w http.ResponseWriter, r *http.Request) {
		var rep client.Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil || rep.Reporter.Email == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"validation_failed","message":"the report has invalid fields","request_id":"req-1",`+
				`"fields":[{"field":"reporter.email","rule":"required"},{"field":"data.data_categories[0]","rule":"enum"}]}}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		due := rep.Incident.AwareAt.Add(72 * time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `{"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0CD","version":1,"status":"received","received_at":"2026-11-21T12:00:00Z",`+
			`"stage":"initial","severity":"medium","late":false,"deadlines":[{"stage":"gdpr.notification","due_at":%q,"met":true}],"sha256":"5e1f…"}`, due)
	})
	mux.HandleFunc("POST /v1/reports/{id}/supplements", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"error":{"code":"version_conflict","message":"the report is at version 2","request_id":"req-2"}}`)
	})
	mux.HandleFunc("GET /v1/reports", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cursor") == "" {
			fmt.Fprint(w, `{"items":[{"id":"01KAZ5…","version":1,"severity":"high"},{"id":"01KAZ4…","version":3,"severity":"critical"}],"next_cursor":"opaque"}`)
			return
		}
		fmt.Fprint(w, `{"items":[{"id":"01KAZ3…","version":1,"severity":"medium"}],"next_cursor":null}`)
	})
	return httptest.NewServer(mux)
}

func Example() {
	api := exampleAPI()
	defer api.Close()
	ctx := context.Background()

	c := client.New(api.URL, "bik_0123456789abcdef_…") // the organisation's API key
	receipt, err := c.Submit(ctx, client.Report{
		Regimes:      []string{"gdpr"},
		Reporter:     client.Reporter{Name: "Jeanne Martin", Email: "dpo@example.fr"},
		Organisation: client.Organisation{LegalName: "Exemple SA", Role: "controller", Sector: "retail", Country: "FR"},
		Incident: client.Incident{Title: "Lost laptop", Description: "An unencrypted laptop was stolen.",
			AwareAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), BreachTypes: []string{"confidentiality"}, Cause: "accidental_internal"},
		Data:     client.Data{SubjectsAffected: 350, SubjectsEstimate: "exact", DataCategories: []string{"identity", "contact"}},
		Measures: client.Measures{Taken: "Remote wipe requested."},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(receipt.ID, "version", receipt.Version, receipt.Severity)
	for _, d := range receipt.Deadlines {
		fmt.Println(d.Stage, "due", d.DueAt.Format(time.RFC3339), "met:", *d.Met)
	}
	// Output:
	// 01KAZ3J8Q4V2M7X9R5T6Y1B0CD version 1 medium
	// gdpr.notification due 2026-11-24T10:00:00Z met: true
}

// A refused report comes back as an *Error listing every failing field.
func ExampleError() {
	api := exampleAPI()
	defer api.Close()

	c := client.New(api.URL, "bik_0123456789abcdef_…")
	_, err := c.Submit(context.Background(), client.Report{Regimes: []string{"gdpr"}})
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, "request", e.RequestID)
		for _, f := range e.Fields {
			fmt.Println(f.Field, f.Rule)
		}
	}
	// Output:
	// 400 validation_failed request req-1
	// reporter.email required
	// data.data_categories[0] enum
}

func ExampleClient_Reports() {
	api := exampleAPI()
	defer api.Close()

	c := client.New(api.URL, "bik_0123456789abcdef_…")
	for r, err := range c.Reports(context.Background(), 2) { // newest first, two per request
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.ID, "v", r.Version, r.Severity)
	}
	// Output:
	// 01KAZ5… v 1 high
	// 01KAZ4… v 3 critical
	// 01KAZ3… v 1 medium
}

// A supplement names the version it follows; when another came in since, read the report again
// before deciding what to send.
func ExampleClient_Supplement() {
	api := exampleAPI()
	defer api.Close()

	c := client.New(api.URL, "bik_0123456789abcdef_…")
	var updated client.Report // the full report as it now stands
	_, err := c.Supplement(context.Background(), "01KAZ3J8Q4V2M7X9R5T6Y1B0CD", 1, "nis2.notification", updated)
	if client.IsConflict(err) {
		fmt.Println("version 1 is not the latest any more:", err)
	}
	// Output:
	// version 1 is not the latest any more: 409 version_conflict: the report is at version 2 [request req-2]
}
