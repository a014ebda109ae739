package archive_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/local/localtest"
)

const kmsKey = "arn:aws:kms:eu-west-3:123456789012:key/11111111-2222-3333-4444-555555555555"

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// client is an S3 client on a fresh moto_server. Path-style addressing: moto on 127.0.0.1 has no
// DNS for virtual-hosted bucket names.
func client(t *testing.T) *s3.Client {
	return s3.NewFromConfig(localtest.Config(t, localtest.Moto(t)), func(o *s3.Options) { o.UsePathStyle = true })
}

// createBucket makes a bucket like the template's: versioned, with Object Lock.
func createBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                     aws.String(name),
		ObjectLockEnabledForBucket: aws.Bool(true),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(localtest.Region),
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
}

// TestArchiveContract runs the contract every breach.Archive must pass against S3 on moto, a
// fresh bucket for each case.
func TestArchiveContract(t *testing.T) {
	c := client(t)
	buckets := 0
	breachtest.ArchiveContract(t, func(t *testing.T) breach.Archive {
		buckets++
		name := fmt.Sprintf("contract-%d", buckets)
		createBucket(t, c, name)
		return archive.New(c, name, kmsKey, types.ObjectLockModeGovernance, 24*time.Hour, clock)
	})
}

func TestPutIsLockedChecksummedAndWrittenOnce(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	createBucket(t, c, "archive")
	a := archive.New(c, "archive", kmsKey, types.ObjectLockModeGovernance, 24*time.Hour, clock)
	doc := []byte(`{"id":"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R","version":1}`)
	sum := sha256.Sum256(doc)
	digest := hex.EncodeToString(sum[:])
	const key = "reports/org/01KAKZ7Q1W5Q7Y3X2V8N4M6P0R/v1.json"

	if _, _, _, found, err := a.Head(ctx, key); err != nil || found {
		t.Fatalf("Head before Put: found %v, %v", found, err)
	}
	for range 2 {
		if err := a.Put(ctx, key, doc, digest); err != nil {
			t.Fatal(err)
		}
	}

	gotSum, until, mode, found, err := a.Head(ctx, key)
	if err != nil || !found {
		t.Fatalf("Head: found %v, %v", found, err)
	}
	if gotSum != digest {
		t.Errorf("Head sha256 = %q, want %q", gotSum, digest)
	}
	if mode != "GOVERNANCE" || !until.Equal(now.Add(24*time.Hour)) {
		t.Errorf("retention = %s until %s, want GOVERNANCE until %s", mode, until, now.Add(24*time.Hour))
	}

	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("archive"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(body); got != sum {
		t.Errorf("bytes read back hash to %x, want %s", got, digest)
	}
	if ct := aws.ToString(obj.ContentType); ct != "application/json" {
		t.Errorf("ContentType = %q", ct)
	}
	if obj.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(obj.SSEKMSKeyId) != kmsKey {
		t.Errorf("encryption = %s %q, want aws:kms %q", obj.ServerSideEncryption, aws.ToString(obj.SSEKMSKeyId), kmsKey)
	}

	versions, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("archive"), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Versions) != 1 || len(versions.DeleteMarkers) != 0 {
		t.Fatalf("%d versions, %d delete markers; want exactly one version", len(versions.Versions), len(versions.DeleteMarkers))
	}

	other := []byte(`{}`)
	otherSum := sha256.Sum256(other)
	err = a.Put(ctx, key, other, hex.EncodeToString(otherSum[:]))
	if err == nil || !strings.Contains(err.Error(), "other content") {
		t.Fatalf("Put of other content under a taken key = %v, want refused as other content", err)
	}
}

// TestConflictIsRetried makes S3 answer 409 ConditionalRequestConflict (another conditional
// write to the key in flight) to the first puts; moto never does, so a middleware injects it.
func TestConflictIsRetried(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	for _, c := range []struct {
		conflicts, wantPuts int
		wantErr             bool
	}{
		{conflicts: 2, wantPuts: 3},
		{conflicts: 100, wantPuts: 5, wantErr: true},
	} {
		t.Run(fmt.Sprintf("%d conflicts", c.conflicts), func(t *testing.T) {
			puts := 0
			conflict := middleware.InitializeMiddlewareFunc("conflict",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if _, ok := in.Parameters.(*s3.PutObjectInput); ok {
						if puts++; puts <= c.conflicts {
							return middleware.InitializeOutput{}, middleware.Metadata{},
								&smithy.GenericAPIError{Code: "ConditionalRequestConflict", Message: "injected"}
						}
					}
					return next.HandleInitialize(ctx, in)
				})
			s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.UsePathStyle = true
				o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
					return s.Initialize.Add(conflict, middleware.Before)
				})
			})
			bucket := fmt.Sprintf("conflict-%d", c.conflicts)
			createBucket(t, s3c, bucket)
			doc := []byte(`{"conflict":true}`)
			err := archive.New(s3c, bucket, kmsKey, types.ObjectLockModeGovernance, time.Hour, clock).
				Put(ctx, "k", doc, breachtest.SHA256Hex(doc))
			if (err != nil) != c.wantErr || puts != c.wantPuts {
				t.Fatalf("Put = %v after %d PutObject calls; want error %v after %d", err, puts, c.wantErr, c.wantPuts)
			}
		})
	}
}

func TestPutStopsRetryingWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := localtest.Config(t, localtest.Moto(t))
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("conflict",
				func(context.Context, middleware.InitializeInput, middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					cancel()
					return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "ConditionalRequestConflict"}
				}), middleware.Before)
		})
	})
	doc := []byte(`{}`)
	err := archive.New(s3c, "any", kmsKey, types.ObjectLockModeGovernance, time.Hour, clock).Put(ctx, "k", doc, breachtest.SHA256Hex(doc))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
}

// TestVersionCountsExactKeys: a second version written past Put (GOVERNANCE retention lets a
// new version in) is counted; keys the prefix also matches and delete markers are not.
func TestVersionCountsExactKeys(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	createBucket(t, c, "versions")
	a := archive.New(c, "versions", kmsKey, types.ObjectLockModeGovernance, time.Hour, clock)
	const key = "reports/org/01KAKZ7Q1W5Q7Y3X2V8N4M6P0R/v1.json"
	count := func(want int) {
		t.Helper()
		counts, err := a.VersionCounts(ctx, "reports/")
		if n := counts[key]; err != nil || n != want {
			t.Fatalf("VersionCounts[%s] = %d, %v; want %d", key, n, err, want)
		}
	}
	count(0)
	doc := []byte(`{"version":1}`)
	if err := a.Put(ctx, key, doc, breachtest.SHA256Hex(doc)); err != nil {
		t.Fatal(err)
	}
	count(1)
	raw := func(k string) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("versions"), Key: aws.String(k),
			Body: strings.NewReader("other"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
			t.Fatal(err)
		}
	}
	raw(key + ".bak")
	count(1)
	raw(key)
	count(2)
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("versions"), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	count(2)
}
