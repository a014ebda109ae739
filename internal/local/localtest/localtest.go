// Package localtest starts a private moto_server for an integration test and gives an AWS config
// pointing at it. Each test binary gets its own server on a free port, so tests never collide with
// `make dev` on 4566.
package localtest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breach-intake/intake/internal/local"
)

// Region is the region of the local stack.
const Region = "eu-west-3"

// Moto starts moto_server for the test and stops it at cleanup. It fails the test, never skips it,
// when moto_server is missing.
func Moto(t testing.TB) string {
	t.Helper()
	m, err := local.StartMoto(context.Background(), 0)
	if err != nil {
		t.Fatalf("integration test needs moto_server: %v", err)
	}
	t.Cleanup(m.Stop)
	return m.Endpoint()
}

// Config is the local stack's AWS config for the endpoint (local.Config); the environment is set
// to the same for code that reads it (breachctl run by a test).
func Config(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", Region)
	return local.Config(endpoint)
}

// DynamoDBLocal starts DynamoDB Local for the test and stops it at cleanup; it fails the test,
// never skips it, when java or the jar is missing.
func DynamoDBLocal(t testing.TB) string {
	t.Helper()
	d, err := local.StartDynamoDBLocal(context.Background(), 0)
	if err != nil {
		t.Fatalf("test needs DynamoDB Local: %v", err)
	}
	t.Cleanup(d.Stop)
	return d.Endpoint()
}
