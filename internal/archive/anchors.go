package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/breach-intake/intake/internal/audit"
)

var _ audit.Anchors = (*Archive)(nil)

// AnchorPrefix is where anchors of the audit chains are kept, beside the reports.
const AnchorPrefix = "anchors/"

// AnchorKey is the key of the anchor made at t: anchors/<UTC time, RFC 3339 with a fixed
// nine-digit fraction>.json, so that keys sort as the times do (RFC3339Nano trims trailing
// zeros: "…:00.5Z" would sort before "…:00Z").
func AnchorKey(t time.Time) string {
	return AnchorPrefix + t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + ".json"
}

// PutAnchor implements audit.Anchors: the anchor's canonical document, written once under Object
// Lock like a report's. A retry of the same anchor succeeds; another anchor of the same instant
// is refused.
func (a *Archive) PutAnchor(ctx context.Context, an audit.Anchor) error {
	doc, err := an.Document()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(doc)
	return a.Put(ctx, AnchorKey(an.At), doc, hex.EncodeToString(sum[:]))
}

// EachAnchor implements audit.Anchors, oldest first. Every object version under AnchorPrefix is
// read, not only the latest of each key: a version written over an anchor (GOVERNANCE retention
// lets a privileged caller do it) hides nothing, as both are checked.
func (a *Archive) EachAnchor(ctx context.Context, fn func(audit.Anchor) error) error {
	type version struct{ key, id string }
	var versions []version
	pages := s3.NewListObjectVersionsPaginator(a.s3, &s3.ListObjectVersionsInput{Bucket: aws.String(a.bucket), Prefix: aws.String(AnchorPrefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list anchors: %w", err)
		}
		for _, v := range page.Versions {
			versions = append(versions, version{aws.ToString(v.Key), aws.ToString(v.VersionId)})
		}
	}
	// Keys in order (a listing is already, but a page boundary is no place to rely on it); a
	// key's versions as listed, newest first.
	slices.SortStableFunc(versions, func(x, y version) int { return strings.Compare(x.key, y.key) })
	for _, v := range versions {
		an, err := a.anchor(ctx, v.key, v.id)
		if err != nil {
			return err
		}
		if err := fn(an); err != nil {
			return err
		}
	}
	return nil
}

func (a *Archive) anchor(ctx context.Context, key, versionID string) (audit.Anchor, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
	if versionID != "" && versionID != "null" {
		in.VersionId = aws.String(versionID)
	}
	out, err := a.s3.GetObject(ctx, in)
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("get anchor %s (version %s): %w", key, versionID, err)
	}
	defer out.Body.Close()
	// An anchor is a few hundred bytes per organisation; a megabyte per thousand chains.
	doc, err := io.ReadAll(io.LimitReader(out.Body, maxAnchorBytes+1))
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("read anchor %s: %w", key, err)
	}
	if len(doc) > maxAnchorBytes {
		return audit.Anchor{}, fmt.Errorf("anchor %s is larger than %d bytes", key, maxAnchorBytes)
	}
	an, err := audit.ParseAnchor(doc)
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("anchor %s (version %s): %w", key, versionID, err)
	}
	return an, nil
}

// maxAnchorBytes bounds what EachAnchor reads of one object: about a million chains.
const maxAnchorBytes = 128 << 20
