package local

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The local stack's fixed coordinates: what `make dev` runs and every breachctl command talks to
// by default.
const (
	StackName       = "breach-intake-local"
	DefaultEndpoint = "http://127.0.0.1:4566"
	DefaultAPIAddr  = "127.0.0.1:3000"
)

// Config is the AWS config for a local endpoint: region eu-west-3, credentials test/test.
func Config(endpoint string) aws.Config { return ConfigFor(Endpoints{AWS: endpoint}) }

// Endpoints are the local endpoints: AWS for every service, and optionally DynamoDB Local for
// DynamoDB and its streams.
type Endpoints struct {
	AWS      string
	DynamoDB string
}

// ConfigFor is the AWS config for local endpoints. Every client made from it (and from its copies)
// sends its calls to moto_server one at a time: moto is not thread-safe (16 concurrent
// TransactWriteItems fail about one in three with a 500, "dictionary changed size during
// iteration"), and as one Python process it gains nothing from concurrency. DynamoDB calls go to
// DynamoDB Local instead, when there is one, concurrently.
func ConfigFor(e Endpoints) aws.Config {
	c := &localClient{client: awshttp.NewBuildableClient()}
	if e.DynamoDB != "" {
		u, err := url.Parse(e.DynamoDB)
		if err == nil {
			c.dynamodb = u
		}
	}
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(e.AWS),
		HTTPClient:   c,
		Retryer:      localRetryer,
	}
}

// localRetryer is the SDK's standard retryer with its waits cut to at most 100 ms and no retry
// quota: the endpoint is on this machine, and with injected faults the default waits (up to
// seconds) and quota would make a test of hundreds of reports wait minutes. The retries still
// happen, as often as in AWS.
func localRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxBackoff = 100 * time.Millisecond
		o.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
		o.RateLimiter = ratelimit.None
	})
}

// localClient routes a request to its local endpoint: DynamoDB's (told by its X-Amz-Target,
// "DynamoDB_20120810.…" or "DynamoDBStreams_20120810.…") to DynamoDB Local if set, the rest to
// moto_server one at a time. The lock is released once the response's headers are in: the
// endpoint has done its work by then. Neither endpoint checks signatures.
type localClient struct {
	mu       sync.Mutex
	client   aws.HTTPClient
	dynamodb *url.URL
}

func (c *localClient) Do(r *http.Request) (*http.Response, error) {
	if c.dynamodb != nil && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB") {
		r.URL.Scheme, r.URL.Host, r.Host = c.dynamodb.Scheme, c.dynamodb.Host, c.dynamodb.Host
		return c.client.Do(r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client.Do(r)
}

// PhysicalNames are the names CreateResources gives the template's resources (what their Ref
// returns), without creating anything. A KMS key's id is chosen by the endpoint when the key is
// created: here a key is named by its alias in the template, which KMS, S3 and DynamoDB accept
// wherever a key id goes (and !GetAtt Key.Arn resolves to the alias ARN).
func PhysicalNames(t *Template, stack string) map[string]string {
	params := map[string]string{"AWS::StackName": stack}
	names := map[string]string{}
	for id, r := range t.Resources {
		if r.Condition != "" {
			if holds, err := t.Condition(r.Condition, params); err != nil || !holds {
				continue
			}
		}
		ref, ok := localRef(t, stack, id)
		if !ok {
			continue
		}
		names[id] = ref
		if target := str(mapping(r.Properties["TargetKeyId"])["Ref"]); r.Type == "AWS::KMS::Alias" && target != "" {
			names[target] = ref
		}
	}
	return names
}

func physicalName(stack, logicalID string) string { return stack + "-" + logicalID }
