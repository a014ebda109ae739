package local

import (
	"github.com/aws/aws-sdk-go-v2/aws"
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
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
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
