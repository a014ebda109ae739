// Package app builds each Lambda function's handler from its environment. functions/*/main.go
// and the local stack both call it, so the code that runs locally is the code that runs in Lambda.
// Functions that need more AWS clients live in sub-packages (app/submit and app/reads: KMS;
// app/fanout, app/anchor and app/watch: S3 and SNS), so that no function links (and initialises,
// at every cold start) a client it does not use.
package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/metrics"
)

// Env reads a function's environment variable ("" when unset): os.Getenv in Lambda, the
// template's Environment locally.
type Env func(name string) string

// Logger is the JSON logger of a function, at the level LOG_LEVEL names (info by default).
func Logger(w io.Writer, env Env) (zerolog.Logger, error) {
	log := zerolog.New(w).With().Timestamp().Logger()
	level := zerolog.InfoLevel
	if s := env("LOG_LEVEL"); s != "" {
		l, err := zerolog.ParseLevel(s)
		if err != nil {
			return log, fmt.Errorf("LOG_LEVEL: %w", err)
		}
		level = l
	}
	return log.Level(level), nil
}

// Required reads an environment variable that must be set.
func Required(env Env, name string) (string, error) {
	v := env(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// Runtime is what a function is built from: the AWS config, its environment, its logger, the
// clock (breach.SystemClock() but in tests) and its metrics (EMF lines beside its logs; nil: none).
type Runtime struct {
	AWS     aws.Config
	Env     Env
	Log     zerolog.Logger
	Clock   breach.Clock
	Metrics *metrics.Metrics
}

// AuthorizerHandler is the signature of the HTTP API Lambda authorizer.
type AuthorizerHandler func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Authorize is the authorize function, the HTTP API's Lambda authorizer.
func Authorize(rt Runtime) (AuthorizerHandler, error) {
	table, err := Required(rt.Env, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(rt.AWS), table)
	return auth.NewAuthorizer(store, rt.Clock, rt.Log).Handle, nil
}

// Main is every function's main: logger, AWS config and handler from the Lambda environment,
// then lambda.Start. Only start-up failures are fatal; handlers return errors.
func Main[H any](build func(Runtime) (H, error)) {
	log, err := Logger(os.Stdout, os.Getenv)
	if err != nil {
		log.Fatal().Err(err).Msg("logger")
	}
	cfg, err := LambdaConfig(os.Getenv)
	if err != nil {
		log.Fatal().Err(err).Msg("AWS config")
	}
	// The function's name is what the template's !Ref gives the dashboard as Service.
	m, err := metrics.New(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), breach.SystemClock())
	if err != nil {
		log.Fatal().Err(err).Msg("metrics")
	}
	h, err := build(Runtime{AWS: cfg, Env: os.Getenv, Log: log, Clock: breach.SystemClock(), Metrics: m})
	if err != nil {
		log.Fatal().Err(err).Msg("start")
	}
	lambda.Start(h)
}
