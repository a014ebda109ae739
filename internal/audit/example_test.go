package audit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
)

func ExampleVerify() {
	ctx := context.Background()
	store, anchors := audittest.NewStore(), audittest.NewAnchors()
	clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	trail := audit.NewTrail(store, clock)
	for _, route := range []string{"POST /v1/reports", "GET /v1/reports/{id}", "GET /v1/reports/{id}"} {
		e, _ := trail.Append(ctx, audit.Entry{Chain: "acme", Principal: "organisation", Who: "acme",
			KeyID: "k1", Route: route, ReportID: "01JAAAAAAAAAAAAAAAAAAAAAA1", Version: 1, Result: "200"})
		fmt.Printf("entry %d prev %.8s… sha256 %.8s…\n", e.Seq, e.Prev, e.SHA256)
	}
	audit.WriteAnchor(ctx, store, anchors, clock())

	r, _ := audit.Verify(ctx, store, anchors)
	fmt.Printf("%d chains, %d entries, %d anchors: ok %v\n", r.Chains, r.Entries, r.Anchors, r.OK())

	// Someone with write access to the table hides a read.
	store.Tamper("acme", 2, func(e *audit.Entry) { e.Result = "404 not_found" })
	r, _ = audit.Verify(ctx, store, anchors)
	for _, b := range r.Broken {
		fmt.Println(b)
	}
	// Output:
	// entry 1 prev … sha256 c4ffc4a6…
	// entry 2 prev c4ffc4a6… sha256 80ddabd1…
	// entry 3 prev 80ddabd1… sha256 c83ee131…
	// 1 chains, 3 entries, 1 anchors: ok true
	// chain acme entry 2: sha256 does not match its content
}
