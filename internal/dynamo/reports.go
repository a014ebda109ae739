package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
)

// itemReportHead is the item_type of a report's head.
const itemReportHead = "report_head"

// Key prefixes of the heads: an organisation's reports are one partition, REPORTS#<org>, one
// item REPORT#<id> each. The organisation is the partition key, so a report is found only by
// its own organisation (and IAM's dynamodb:LeadingKeys can scope a role to it); ULID ids make
// the sort key the order of filing.
const (
	headPKPrefix = "REPORTS#"
	headSKPrefix = "REPORT#"
)

// headItem is a report's current state, rewritten with each version under a condition on
// latest, so that of two supplements made from the same head only one is stored. Times are
// written sortable; covered maps each deadline stage to when it was first covered.
type headItem struct {
	PK         string            `dynamodbav:"pk"`
	SK         string            `dynamodbav:"sk"`
	ItemType   string            `dynamodbav:"item_type"`
	OrgID      string            `dynamodbav:"org_id"`
	ReportID   string            `dynamodbav:"report_id"`
	Latest     int               `dynamodbav:"latest"`
	Regimes    []string          `dynamodbav:"regimes"` // a list, not a set: the order is kept
	AwareAt    string            `dynamodbav:"aware_at"`
	Covered    map[string]string `dynamodbav:"covered"`
	ReceivedAt string            `dynamodbav:"received_at"` // of version 1
	UpdatedAt  string            `dynamodbav:"updated_at"`  // of the latest version
	Stage      string            `dynamodbav:"stage"`
	Severity   string            `dynamodbav:"severity"`
	Late       bool              `dynamodbav:"late"`
	// The deadline watch's index (openIndex), only while the report has an open stage: the
	// constant partition openPartition and the earliest due time among its open stages.
	DeadlineWatch string `dynamodbav:"deadline_watch,omitempty"`
	OpenDue       string `dynamodbav:"open_due,omitempty"`
}

func headKey(org breach.OrgID, id breach.ReportID) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: headPKPrefix + string(org)},
		"sk": &types.AttributeValueMemberS{Value: headSKPrefix + string(id)},
	}
}

// encodeHead is the item of h. Regimes and covered are written empty rather than left out (or
// NULL), so every head has the same attributes. A head with an open stage is filed in the deadline
// watch's index under the earliest due time among its uncovered stages, alerted or not: the head
// does not know which the watch alerted, and the watch moves an alerted one on when it next reads
// the report (once per version that leaves a stage alerted but uncovered).
func encodeHead(h breach.ReportHead) (map[string]types.AttributeValue, error) {
	regimes := make([]string, 0, len(h.Regimes))
	for _, r := range h.Regimes {
		regimes = append(regimes, string(r))
	}
	covered := make(map[string]string, len(h.Covered))
	for stage, at := range h.Covered {
		covered[string(stage)] = sortable(at)
	}
	due := h.OpenDue(nil)
	item, err := attributevalue.MarshalMap(headItem{
		PK: headPKPrefix + string(h.Org), SK: headSKPrefix + string(h.ID), ItemType: itemReportHead,
		OrgID: string(h.Org), ReportID: string(h.ID), Latest: h.Latest, Regimes: regimes,
		AwareAt: sortable(h.AwareAt), Covered: covered, ReceivedAt: sortable(h.ReceivedAt),
		UpdatedAt: sortable(h.UpdatedAt), Stage: string(h.Stage), Severity: string(h.Severity), Late: h.Late,
		DeadlineWatch: watchPartition(due), OpenDue: openDue(due),
	})
	if err != nil {
		return nil, fmt.Errorf("encode head of %s: %w", h.ID, err)
	}
	return item, nil
}

// headFromItem decodes a stored head.
func headFromItem(item map[string]types.AttributeValue) (breach.ReportHead, error) {
	var it headItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return breach.ReportHead{}, fmt.Errorf("decode report head: %w", err)
	}
	malformed := func(what string) error {
		return fmt.Errorf("report head %s %s is malformed: %s", it.PK, it.SK, what)
	}
	if it.ItemType != itemReportHead || it.ReportID == "" || it.OrgID == "" || it.Latest < 1 {
		return breach.ReportHead{}, malformed("item type, ids or latest")
	}
	h := breach.ReportHead{Org: breach.OrgID(it.OrgID), ID: breach.ReportID(it.ReportID), Latest: it.Latest,
		Stage: breach.Stage(it.Stage), Severity: breach.Severity(it.Severity), Late: it.Late,
		Regimes: make([]breach.Regime, 0, len(it.Regimes)), Covered: make(breach.Coverage, len(it.Covered))}
	for _, r := range it.Regimes {
		h.Regimes = append(h.Regimes, breach.Regime(r))
	}
	for _, at := range []struct {
		name string
		dst  *time.Time
		src  string
	}{{"aware_at", &h.AwareAt, it.AwareAt}, {"received_at", &h.ReceivedAt, it.ReceivedAt}, {"updated_at", &h.UpdatedAt, it.UpdatedAt}} {
		t, err := time.Parse(time.RFC3339Nano, at.src)
		if err != nil {
			return breach.ReportHead{}, malformed(at.name)
		}
		*at.dst = t
	}
	for stage, at := range it.Covered {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return breach.ReportHead{}, malformed("covered " + stage)
		}
		h.Covered[breach.Stage(stage)] = t
	}
	return h, nil
}

// Head implements breach.Store with a consistent read: a supplement is checked against the head
// its If-Match names, which may have been written a moment ago.
func (s *Store) Head(ctx context.Context, org breach.OrgID, id breach.ReportID) (breach.ReportHead, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: headKey(org, id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return breach.ReportHead{}, fmt.Errorf("get head of %s: %w", id, err)
	}
	if out.Item == nil {
		return breach.ReportHead{}, breach.Errorf(breach.NotFound, "no report %s of %s", id, org)
	}
	h, err := headFromItem(out.Item)
	if err != nil {
		return breach.ReportHead{}, err
	}
	if h.Org != org || h.ID != id { // the item contradicts its key: never hand it out
		return breach.ReportHead{}, fmt.Errorf("head at %s/%s is of %s/%s", org, id, h.Org, h.ID)
	}
	return h, nil
}

// Reports implements breach.Store with a Query of the organisation's partition, newest first.
// It asks for one head more than limit to learn whether more follow. A Query page may end before
// its Limit (at 1 MB read), so it goes on from the page's last key until it has them or the
// partition ends.
func (s *Store) Reports(ctx context.Context, org breach.OrgID, after breach.ReportID, limit int) ([]breach.ReportHead, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("list reports: limit %d", limit)
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: headPKPrefix + string(org)},
			":prefix": &types.AttributeValueMemberS{Value: headSKPrefix},
		},
		ScanIndexForward: aws.Bool(false),
	}
	if after != "" {
		// The position after which to go on; the item need not exist for the Query to start there.
		in.ExclusiveStartKey = headKey(org, after)
	}
	var heads []breach.ReportHead
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(heads)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("query reports of %s: %w", org, err)
		}
		for _, item := range out.Items {
			h, err := headFromItem(item)
			if err != nil {
				return nil, false, err
			}
			heads = append(heads, h)
		}
		if len(heads) > limit {
			return heads[:limit], true, nil
		}
		if out.LastEvaluatedKey == nil {
			return heads, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// versionInfoProjection reads everything of a version item but its document, which may be
// hundreds of KB: listing versions never reads (nor pays for) one. Every name goes through
// versionInfoNames, so that no reserved word can break the expression.
const versionInfoProjection = "#n, #st, #r, #sev, #l, #h"

func versionInfoNames() map[string]string {
	return map[string]string{"#n": "version", "#st": "stage", "#r": "received_at", "#sev": "severity", "#l": "late", "#h": "sha256"}
}

// Versions implements breach.Store: a Query of the report's partition on its version items,
// oldest first, page after page.
func (s *Store) Versions(ctx context.Context, id breach.ReportID) ([]breach.VersionInfo, error) {
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: "REPORT#" + string(id)},
			":prefix": &types.AttributeValueMemberS{Value: "V#"},
		},
		ProjectionExpression:     aws.String(versionInfoProjection),
		ExpressionAttributeNames: versionInfoNames(),
		ConsistentRead:           aws.Bool(true), // a listing shows the version just written
	})
	var infos []breach.VersionInfo
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query versions of %s: %w", id, err)
		}
		for _, item := range page.Items {
			var it struct {
				Version    int    `dynamodbav:"version"`
				Stage      string `dynamodbav:"stage"`
				ReceivedAt string `dynamodbav:"received_at"`
				Severity   string `dynamodbav:"severity"`
				Late       bool   `dynamodbav:"late"`
				SHA256     string `dynamodbav:"sha256"`
			}
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decode version of %s: %w", id, err)
			}
			received, err := time.Parse(time.RFC3339Nano, it.ReceivedAt)
			if err != nil || it.Version < 1 {
				return nil, fmt.Errorf("version item of %s is malformed", id)
			}
			infos = append(infos, breach.VersionInfo{Number: it.Version, Stage: breach.Stage(it.Stage), ReceivedAt: received,
				Severity: breach.Severity(it.Severity), Late: it.Late, SHA256: it.SHA256})
		}
	}
	if len(infos) == 0 {
		return nil, breach.Errorf(breach.NotFound, "no report %s", id)
	}
	return infos, nil // sk V#<000001> sorts by number: the Query's order is the versions'
}

// Owner implements breach.Store with the organisation of version 1, the one every report has.
func (s *Store) Owner(ctx context.Context, id breach.ReportID) (breach.OrgID, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: reportKey(id, versionSK(1)), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("org_id"),
	})
	if err != nil {
		return "", fmt.Errorf("get owner of %s: %w", id, err)
	}
	if out.Item == nil {
		return "", breach.Errorf(breach.NotFound, "no report %s", id)
	}
	org, ok := out.Item["org_id"].(*types.AttributeValueMemberS)
	if !ok || org.Value == "" {
		return "", fmt.Errorf("version 1 of %s has no org_id", id)
	}
	return breach.OrgID(org.Value), nil
}
