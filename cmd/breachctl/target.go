package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/local"
)

// target is the stack a command works on: its AWS config, its template, the physical names of
// its resources and its Outputs.
type target struct {
	cfg     aws.Config
	tmpl    *local.Template
	names   map[string]string
	outputs map[string]string
	local   bool // the local stack, on an endpoint whose host may not resolve bucket subdomains
}

// targetFlags are the flags every command but dev shares.
type targetFlags struct {
	stack    string
	template string
}

func (f *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stack, "stack", "", "deployed CloudFormation stack to use (default: the local stack)")
	fs.StringVar(&f.template, "template", "template.yaml", "the SAM template")
}

func (f *targetFlags) open(ctx context.Context) (*target, error) {
	tmpl, err := local.LoadTemplate(f.template)
	if err != nil {
		return nil, err
	}
	if f.stack == "" {
		endpoint := os.Getenv("AWS_ENDPOINT_URL")
		if endpoint == "" {
			endpoint = local.DefaultEndpoint
		}
		names := local.PhysicalNames(tmpl, local.StackName)
		outputs, err := local.Outputs(tmpl, names, "http://"+local.DefaultAPIAddr+"/")
		if err != nil {
			return nil, err
		}
		return &target{cfg: local.Config(endpoint), tmpl: tmpl, names: names, outputs: outputs, local: true}, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return stackTarget(ctx, cfg, tmpl, f.stack)
}

// stackTarget reads a deployed stack's Outputs and resources' physical ids.
func stackTarget(ctx context.Context, cfg aws.Config, tmpl *local.Template, stack string) (*target, error) {
	cfn := cloudformation.NewFromConfig(cfg)
	described, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(described.Stacks) != 1 {
		return nil, fmt.Errorf("stack %s not found", stack)
	}
	outputs := map[string]string{}
	for _, o := range described.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	names := map[string]string{}
	pages := cloudformation.NewListStackResourcesPaginator(cfn, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list resources of %s: %w", stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			names[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return &target{cfg: cfg, tmpl: tmpl, names: names, outputs: outputs}, nil
}

// archiveReader reads the archive bucket (objects' heads and versions, anchors): without the KMS
// key, lock mode and retention that only writes need.
func (t *target) archiveReader() (*archive.Archive, error) {
	bucket := t.outputs["ArchiveBucketName"]
	if bucket == "" {
		return nil, errors.New("the stack has no ArchiveBucketName output")
	}
	s3c := s3.NewFromConfig(t.cfg, func(o *s3.Options) { o.UsePathStyle = t.local })
	return archive.New(s3c, bucket, "", "", 0, time.Now), nil
}

// table is the name of the table that holds every item.
func (t *target) table() (string, error) {
	name := t.outputs["ReportsTableName"]
	if name == "" {
		return "", fmt.Errorf("the stack has no ReportsTableName output")
	}
	return name, nil
}
