// Command bare is the cold-start baseline: the smallest Lambda function there is, lambda.Start
// with an echo handler. Every function's start-up is measured against this one.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
}
