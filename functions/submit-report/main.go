// Command submit-report serves POST /v1/reports: validate, store durably, answer with a receipt.
package main

import "github.com/breach-intake/intake/internal/app"

func main() { app.Main(app.SubmitReport) }
