package archive_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
)

// TestAnchorsContract runs the contract every audit.Anchors must pass against S3 on moto, a
// fresh bucket for each case.
func TestAnchorsContract(t *testing.T) {
	c := client(t)
	buckets := 0
	audittest.AnchorsContract(t, func(t *testing.T) audit.Anchors {
		buckets++
		name := fmt.Sprintf("anchors-%d", buckets)
		createBucket(t, c, name)
		return archive.New(c, name, kmsKey, types.ObjectLockModeGovernance, 24*time.Hour, clock)
	})
}

func TestAnchorKeysSortAsTimes(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	keys := []string{archive.AnchorKey(at), archive.AnchorKey(at.Add(500 * time.Millisecond)), archive.AnchorKey(at.Add(time.Second))}
	if keys[0] != "anchors/2026-11-21T11:00:00.000000000Z.json" {
		t.Fatalf("AnchorKey = %s", keys[0])
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("%s sorts after %s", keys[i-1], keys[i])
		}
	}
}

// TestAnchorIsLockedCanonicalAndWrittenOnce: an anchor is stored as its canonical document under
// Object Lock, a retry is harmless, and another anchor of the same instant is refused.
func TestAnchorIsLockedCanonicalAndWrittenOnce(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	createBucket(t, c, "archive")
	a := archive.New(c, "archive", kmsKey, types.ObjectLockModeGovernance, 24*time.Hour, clock)
	an := audit.Anchor{At: now, Heads: []audit.Head{{Chain: "acme", Seq: 3, SHA256: strings.Repeat("ab", 32)}}}
	for range 2 {
		if err := a.PutAnchor(ctx, an); err != nil {
			t.Fatal(err)
		}
	}
	key := archive.AnchorKey(now)
	_, until, mode, found, err := a.Head(ctx, key)
	if err != nil || !found || mode != "GOVERNANCE" || !until.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("Head(%s) = %s until %s, found %v, %v", key, mode, until, found, err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("archive"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	want, _ := an.Document()
	if err != nil || string(body) != string(want) {
		t.Fatalf("stored %s, want %s (%v)", body, want, err)
	}
	other := an
	other.Heads = []audit.Head{{Chain: "acme", Seq: 2, SHA256: strings.Repeat("cd", 32)}}
	if err := a.PutAnchor(ctx, other); err == nil || !strings.Contains(err.Error(), "other content") {
		t.Fatalf("another anchor of the same instant = %v, want refused", err)
	}
}

// TestEachAnchorReadsEveryVersion: an object written over an anchor (GOVERNANCE lets a
// privileged caller do it) does not hide the anchor: both are read.
func TestEachAnchorReadsEveryVersion(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	createBucket(t, c, "versions")
	a := archive.New(c, "versions", kmsKey, types.ObjectLockModeGovernance, time.Hour, clock)
	an := audit.Anchor{At: now, Heads: []audit.Head{{Chain: "acme", Seq: 5, SHA256: strings.Repeat("ab", 32)}}}
	if err := a.PutAnchor(ctx, an); err != nil {
		t.Fatal(err)
	}
	forged, _ := audit.Anchor{At: now, Heads: []audit.Head{{Chain: "acme", Seq: 3, SHA256: strings.Repeat("cd", 32)}}}.Document()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("versions"), Key: aws.String(archive.AnchorKey(now)),
		Body: strings.NewReader(string(forged)), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	seqs := map[int64]bool{}
	if err := a.EachAnchor(ctx, func(an audit.Anchor) error { seqs[an.Heads[0].Seq] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if !seqs[5] || !seqs[3] || len(seqs) != 2 {
		t.Fatalf("anchors read: heads at %v, want both versions (5 and 3)", seqs)
	}
}

func TestParseRetention(t *testing.T) {
	mode, d, err := archive.ParseRetention("COMPLIANCE", "3650")
	if err != nil || mode != types.ObjectLockModeCompliance || d != 3650*24*time.Hour {
		t.Fatalf("ParseRetention = %s, %s, %v", mode, d, err)
	}
	for _, bad := range [][2]string{{"governance", "1"}, {"GOVERNANCE", "0"}, {"GOVERNANCE", "1d"}, {"", ""}} {
		if _, _, err := archive.ParseRetention(bad[0], bad[1]); err == nil {
			t.Errorf("ParseRetention(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
