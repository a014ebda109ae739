// Command submit-report serves POST /v1/reports: validate, store durably, answer with a receipt.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/breach"
)

func main() {
	log, err := app.Logger(os.Stdout, os.Getenv)
	if err != nil {
		log.Fatal().Err(err).Msg("logger") // fatal only at start-up, never in a handler
	}
	cfg, err := app.LambdaConfig(os.Getenv)
	if err != nil {
		log.Fatal().Err(err).Msg("load AWS config")
	}
	h, err := app.SubmitReport(app.Runtime{AWS: cfg, Env: os.Getenv, Log: log, Clock: breach.SystemClock()})
	if err != nil {
		log.Fatal().Err(err).Msg("start")
	}
	lambda.Start(h)
}
