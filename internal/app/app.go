// Package app builds each Lambda function's handler from its environment. functions/*/main.go
// and the local stack both call it, so the code that runs locally is the code that runs in Lambda.
package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
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

func required(env Env, name string) (string, error) {
	v := env(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// SubmitReport is the submit-report function.
func SubmitReport(cfg aws.Config, env Env, log zerolog.Logger) (apigw.Handler, error) {
	table, err := required(env, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), table)
	return apigw.SubmitReport(breach.NewIntake(store, breach.SystemClock(), breach.ULIDs()), log), nil
}

// Authorize is the authorize function, the HTTP API's Lambda authorizer.
func Authorize(cfg aws.Config, env Env, log zerolog.Logger) (func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error), error) {
	table, err := required(env, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), table)
	return auth.NewAuthorizer(store, time.Now, log).Handle, nil
}

// Handler builds the function of the template's logical id as a lambda.Handler, for the local
// stack and `breachctl invoke`.
func Handler(logicalID string, cfg aws.Config, env Env, log zerolog.Logger) (lambda.Handler, error) {
	switch logicalID {
	case "SubmitReportFunction":
		return SubmitReport(cfg, env, log)
	case "AuthorizeFunction":
		h, err := Authorize(cfg, env, log)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(h), nil
	}
	return nil, fmt.Errorf("no function %q in this build", logicalID)
}
