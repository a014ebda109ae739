// Command authorize is the HTTP API's Lambda authorizer: API key in, principal out.
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
		log.Fatal().Err(err).Msg("AWS config")
	}
	h, err := app.Authorize(app.Runtime{AWS: cfg, Env: os.Getenv, Log: log, Clock: breach.SystemClock()})
	if err != nil {
		log.Fatal().Err(err).Msg("start")
	}
	lambda.Start(h)
}
