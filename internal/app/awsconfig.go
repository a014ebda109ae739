package app

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// LambdaConfig is the AWS config of a function running in Lambda, read from the variables Lambda
// sets (AWS_REGION and the execution role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN) plus AWS_ENDPOINT_URL for a local endpoint. config.LoadDefaultConfig would
// also link SSO, STS, IMDS and shared-file support that a function never uses: about 0.5 MB of
// zipped bootstrap and a slower cold start.
func LambdaConfig(env Env) (aws.Config, error) {
	region := env("AWS_REGION")
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"))),
	}
	if e := env("AWS_ENDPOINT_URL"); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return cfg, nil
}
