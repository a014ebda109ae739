// Command read-reports serves the read side: an organisation's own reports (GET /v1/reports,
// /v1/reports/{id}, /v1/reports/{id}/versions/{n}) and any report to a regulator
// (GET /v1/regulator/reports/{id}), each answer appended to the audit trail.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/reads"
)

func main() { app.Main(reads.ReadReports) }
