// Package archive keeps stored documents in S3 under Object Lock: the breach.Archive adapter.
//
// A document is written once and never replaced. Lambda retries and redrives put the same key
// again, so a second put of the same bytes must succeed, and a put of other bytes under a key
// that is taken must fail loudly rather than overwrite (Object Lock would keep the first version
// anyway, but a second version would make "the archived report" ambiguous).
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Archive = (*Archive)(nil)

// conflictRetries bounds the retries of a 409 ConditionalRequestConflict: S3 answers it while
// another conditional write to the same key is in flight, which settles in milliseconds.
const conflictRetries = 4

// Archive writes documents to one Object Lock bucket.
type Archive struct {
	s3        *s3.Client
	bucket    string
	kmsKeyID  string
	mode      types.ObjectLockMode
	retention time.Duration
	now       func() time.Time
}

// New is an archive in bucket. Every object is encrypted with the KMS key kmsKeyID and retained
// in mode until now()+retention (GOVERNANCE for dev/CI stages, COMPLIANCE in production).
func New(s3 *s3.Client, bucket, kmsKeyID string, mode types.ObjectLockMode, retention time.Duration, now func() time.Time) *Archive {
	return &Archive{s3: s3, bucket: bucket, kmsKeyID: kmsKeyID, mode: mode, retention: retention, now: now}
}

// Put stores doc under key once. sha256Hex must be doc's SHA-256 in hex: S3 checks the bytes it
// received against it, and a later put of the same key is recognised as a retry by it.
func (a *Archive) Put(ctx context.Context, key string, doc []byte, sha256Hex string) error {
	want, err := checksum(doc, sha256Hex)
	if err != nil {
		return fmt.Errorf("archive %s: %w", key, err)
	}
	for attempt := 0; ; attempt++ {
		err := a.put(ctx, key, doc, want)
		switch {
		case err == nil:
			return nil
		case errorCode(err) == "PreconditionFailed":
			// If-None-Match: * refused: the key is taken. Same digest: an earlier attempt of ours
			// (Lambda retried, or the response was lost), so done.
			return a.same(ctx, key, want)
		case errorCode(err) == "ConditionalRequestConflict" && attempt < conflictRetries:
			if err := sleep(ctx, time.Duration(50<<attempt)*time.Millisecond); err != nil {
				return fmt.Errorf("archive %s: %w", key, err)
			}
		default:
			return fmt.Errorf("archive %s: %w", key, err)
		}
	}
}

func (a *Archive) put(ctx context.Context, key string, doc []byte, sum string) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(a.bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(doc), // seekable, so the SDK can resend it on a retry
		// Never overwrite: the conditional write turns a second put into 412.
		IfNoneMatch: aws.String("*"),
		// Object Lock buckets require a checksum header on PUT; SHA-256 also lets HeadObject
		// hand back the digest the receipt names.
		ChecksumAlgorithm:         types.ChecksumAlgorithmSha256,
		ChecksumSHA256:            aws.String(sum),
		ContentType:               aws.String("application/json"),
		ServerSideEncryption:      types.ServerSideEncryptionAwsKms,
		ObjectLockMode:            a.mode,
		ObjectLockRetainUntilDate: aws.Time(a.now().Add(a.retention)),
	}
	// Without a key id S3 would use the AWS managed aws/s3 key, not the stack's own.
	if a.kmsKeyID != "" {
		in.SSEKMSKeyId = aws.String(a.kmsKeyID)
	}
	_, err := a.s3.PutObject(ctx, in)
	return err
}

// same succeeds when the object under key has the checksum want.
func (a *Archive) same(ctx context.Context, key, want string) error {
	got, err := a.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(a.bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return fmt.Errorf("archive %s exists; reading its checksum: %w", key, err)
	}
	if aws.ToString(got.ChecksumSHA256) != want {
		return fmt.Errorf("archive %s already holds other content (SHA-256 %q, this document %q): not overwritten",
			key, aws.ToString(got.ChecksumSHA256), want)
	}
	return nil
}

// Head reads what the archive holds under key: the SHA-256 in hex, the Object Lock retention and
// whether it exists at all. The sweeper and reconcile use it. Retention comes from HeadObject,
// not GetObjectRetention: that needs one more permission, and moto does not answer it (a 500, or
// with path-style addressing the object's bytes).
func (a *Archive) Head(ctx context.Context, key string) (sha256Hex string, retainUntil time.Time, mode string, found bool, err error) {
	out, err := a.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(a.bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	// A HEAD answer has no body, so S3 cannot say which is missing: an absent bucket is
	// NotFound too. Harmless: the Put that follows fails loudly with NoSuchBucket.
	var missing *types.NotFound
	if errors.As(err, &missing) {
		return "", time.Time{}, "", false, nil
	}
	if err != nil {
		return "", time.Time{}, "", false, fmt.Errorf("head %s: %w", key, err)
	}
	// An object written without a SHA-256 checksum (not by Put) has none: "" says so.
	if sum := aws.ToString(out.ChecksumSHA256); sum != "" {
		raw, err := base64.StdEncoding.DecodeString(sum)
		if err != nil {
			return "", time.Time{}, "", true, fmt.Errorf("head %s: checksum %q: %w", key, sum, err)
		}
		sha256Hex = hex.EncodeToString(raw)
	}
	return sha256Hex, aws.ToTime(out.ObjectLockRetainUntilDate), string(out.ObjectLockMode), true, nil
}

// VersionCounts counts the object versions of every key under prefix, delete markers left out.
// Put writes a key once, so more than one version means something else wrote there (reconcile
// reports it). One listing serves a whole reconcile run: a listing per key costs as many calls,
// and moto answers each by scanning the whole bucket.
func (a *Archive) VersionCounts(ctx context.Context, prefix string) (map[string]int, error) {
	counts := map[string]int{}
	pages := s3.NewListObjectVersionsPaginator(a.s3, &s3.ListObjectVersionsInput{Bucket: aws.String(a.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list object versions under %s: %w", prefix, err)
		}
		for _, v := range page.Versions {
			counts[aws.ToString(v.Key)]++
		}
	}
	return counts, nil
}

// checksum is the base64 x-amz-checksum-sha256 of doc, after checking that doc really hashes to
// sha256Hex: archiving bytes other than those the receipt names would break its promise.
func checksum(doc []byte, sha256Hex string) (string, error) {
	sum := sha256.Sum256(doc)
	if hex.EncodeToString(sum[:]) != sha256Hex {
		return "", fmt.Errorf("document does not hash to %q", sha256Hex)
	}
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// ParseRetention reads the Object Lock mode and the retention in days as the template passes them
// to the functions (ARCHIVE_LOCK_MODE, ARCHIVE_RETENTION_DAYS).
func ParseRetention(mode, days string) (types.ObjectLockMode, time.Duration, error) {
	m := types.ObjectLockMode(mode)
	if !slices.Contains(m.Values(), m) {
		return "", 0, fmt.Errorf("lock mode %q is not one of %v", mode, m.Values())
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("retention %q is not a number of days", days)
	}
	return m, time.Duration(n) * 24 * time.Hour, nil
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
