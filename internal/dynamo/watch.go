package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Watchlist = (*Store)(nil)

// openIndex is the deadline watch's sparse index: report heads carrying deadline_watch (always
// openPartition) and open_due, the earliest due time among their open stages, sortable. A head
// carries them only while it has an open stage, so the watch's Query costs what the open reports
// do, not the table. One partition serves: heads are written at the rate reports are filed,
// far below a partition's write limit.
const (
	openIndex     = "open-deadlines"
	openPartition = "open"
)

// watchPartition and openDue are a head's index attributes for the due time due (both empty, so
// left out, when due is zero).
func watchPartition(due time.Time) string {
	if due.IsZero() {
		return ""
	}
	return openPartition
}

func openDue(due time.Time) string {
	if due.IsZero() {
		return ""
	}
	return sortable(due)
}

// itemOverdue is the item_type of an overdue marker: pk REPORT#<id>, sk OVERDUE#<stage>, so that
// one Query of the report's partition reads them all.
const (
	itemOverdue     = "overdue"
	overduePrefix   = "OVERDUE#"
	overduePending  = string(breach.OverduePending)
	overdueSentName = string(breach.OverdueSent)
)

// overdueItem is one report stage's overdue alert: claimed (state pending, claimed_at) by the run
// that publishes it, then sent.
type overdueItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ItemType  string `dynamodbav:"item_type"`
	OrgID     string `dynamodbav:"org_id"`
	ReportID  string `dynamodbav:"report_id"`
	Stage     string `dynamodbav:"stage"`
	State     string `dynamodbav:"state"`
	ClaimedAt string `dynamodbav:"claimed_at"`
	SentAt    string `dynamodbav:"sent_at,omitempty"`
	Version   int    `dynamodbav:"version,omitempty"` // the report's latest version when it was sent
}

// Due implements breach.Watchlist with a Query of the sparse index, earliest first, page after
// page until limit. The index is eventually consistent: the watch reads each head again.
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]breach.DueRef, error) {
	if limit < 1 {
		return nil, fmt.Errorf("reports due: limit %d", limit)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(openIndex),
		KeyConditionExpression:   aws.String("#w = :open AND #due < :before"),
		ExpressionAttributeNames: map[string]string{"#w": "deadline_watch", "#due": "open_due"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":open":   &types.AttributeValueMemberS{Value: openPartition},
			":before": &types.AttributeValueMemberS{Value: sortable(before)},
		},
	}
	var refs []breach.DueRef
	for {
		in.Limit = aws.Int32(int32(limit - len(refs)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", openIndex, err)
		}
		for _, item := range out.Items {
			var keys struct {
				PK      string `dynamodbav:"pk"`
				SK      string `dynamodbav:"sk"`
				OpenDue string `dynamodbav:"open_due"`
			}
			if err := attributevalue.UnmarshalMap(item, &keys); err != nil {
				return nil, fmt.Errorf("decode %s key: %w", openIndex, err)
			}
			due, err := time.Parse(time.RFC3339Nano, keys.OpenDue)
			org, okOrg := strings.CutPrefix(keys.PK, headPKPrefix)
			id, okID := strings.CutPrefix(keys.SK, headSKPrefix)
			if err != nil || !okOrg || !okID {
				return nil, fmt.Errorf("%s holds %s/%s (open_due %q), not a report head", openIndex, keys.PK, keys.SK, keys.OpenDue)
			}
			refs = append(refs, breach.DueRef{Org: breach.OrgID(org), ID: breach.ReportID(id), OpenDue: due})
		}
		if len(refs) >= limit || out.LastEvaluatedKey == nil {
			return refs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// OverdueMarks implements breach.Watchlist: one consistent Query of the report's partition.
func (s *Store) OverdueMarks(ctx context.Context, id breach.ReportID) (map[breach.Stage]breach.OverdueMark, error) {
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: "REPORT#" + string(id)},
			":prefix": &types.AttributeValueMemberS{Value: overduePrefix},
		},
		ConsistentRead: aws.Bool(true),
	})
	marks := map[breach.Stage]breach.OverdueMark{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query overdue markers of %s: %w", id, err)
		}
		for _, item := range page.Items {
			var it overdueItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decode overdue marker of %s: %w", id, err)
			}
			claimed, err := time.Parse(time.RFC3339Nano, it.ClaimedAt)
			if err != nil || it.Stage == "" || (it.State != overduePending && it.State != overdueSentName) {
				return nil, fmt.Errorf("overdue marker %s %s is malformed", it.PK, it.SK)
			}
			marks[breach.Stage(it.Stage)] = breach.OverdueMark{State: breach.OverdueState(it.State), ClaimedAt: claimed}
		}
	}
	return marks, nil
}

func overdueKey(id breach.ReportID, stage breach.Stage) map[string]types.AttributeValue {
	return reportKey(id, overduePrefix+string(stage))
}

// ClaimOverdue implements breach.Watchlist with a conditional put: the marker is written (pending,
// claimed now) only when there is none, or when it is a claim older than breach.OverdueClaimTTL.
func (s *Store) ClaimOverdue(ctx context.Context, org breach.OrgID, id breach.ReportID, stage breach.Stage, now time.Time) (bool, error) {
	item, err := attributevalue.MarshalMap(overdueItem{
		PK: "REPORT#" + string(id), SK: overduePrefix + string(stage), ItemType: itemOverdue,
		OrgID: string(org), ReportID: string(id), Stage: string(stage), State: overduePending, ClaimedAt: sortable(now),
	})
	if err != nil {
		return false, fmt.Errorf("encode overdue marker: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#state = :pending AND #claimed < :stale)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#claimed": "claimed_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": &types.AttributeValueMemberS{Value: overduePending},
			":stale":   &types.AttributeValueMemberS{Value: sortable(now.Add(-breach.OverdueClaimTTL))},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim overdue %s %s: %w", id, stage, err)
	}
	return true, nil
}

// MarkOverdueSent implements breach.Watchlist.
func (s *Store) MarkOverdueSent(ctx context.Context, id breach.ReportID, stage breach.Stage, version int, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: overdueKey(id, stage),
		UpdateExpression:         aws.String("SET #state = :sent, #sent = if_not_exists(#sent, :at), #v = :v"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#sent": "sent_at", "#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sent": &types.AttributeValueMemberS{Value: overdueSentName},
			":at":   &types.AttributeValueMemberS{Value: sortable(at)},
			":v":    &types.AttributeValueMemberN{Value: strconv.Itoa(version)},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return breach.Errorf(breach.NotFound, "no overdue marker for %s %s", id, stage)
	}
	if err != nil {
		return fmt.Errorf("mark overdue %s %s sent: %w", id, stage, err)
	}
	return nil
}

// SetOpenDue implements breach.Watchlist with an update of the head's two index attributes, on
// condition that its latest version is still `latest`. These, the key and latest are the only
// attributes it names: DeadlineWatchRole may update nothing else of a head (dynamodb:Attributes).
func (s *Store) SetOpenDue(ctx context.Context, org breach.OrgID, id breach.ReportID, latest int, due time.Time) error {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: headKey(org, id),
		ConditionExpression:      aws.String("#latest = :latest"),
		ExpressionAttributeNames: map[string]string{"#latest": "latest", "#w": "deadline_watch", "#due": "open_due"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":latest": &types.AttributeValueMemberN{Value: strconv.Itoa(latest)},
		},
	}
	if due.IsZero() {
		in.UpdateExpression = aws.String("REMOVE #w, #due")
	} else {
		in.UpdateExpression = aws.String("SET #w = :open, #due = :due")
		in.ExpressionAttributeValues[":open"] = &types.AttributeValueMemberS{Value: openPartition}
		in.ExpressionAttributeValues[":due"] = &types.AttributeValueMemberS{Value: sortable(due)}
	}
	_, err := s.db.UpdateItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // a newer version (or none under this organisation): it placed the report itself
	}
	if err != nil {
		return fmt.Errorf("move %s in %s: %w", id, openIndex, err)
	}
	return nil
}
