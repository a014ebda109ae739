// Command submit-report serves POST /v1/reports and POST /v1/reports/{id}/supplements: validate,
// store durably, answer with a signed receipt; and GET /v1/receipts/public-key, the keys that
// verify the receipts.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/submit"
)

func main() { app.Main(submit.SubmitReport) }
