// Package dynamo is the DynamoDB adapter: every item lives in one table keyed by pk and sk, with
// an item_type attribute that the stream filter and operators select on.
package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
)

// Store reads and writes the single table.
type Store struct {
	db    *dynamodb.Client
	table string
}

// New is a Store over table.
func New(db *dynamodb.Client, table string) *Store { return &Store{db: db, table: table} }

// Item types (the item_type attribute).
const (
	itemReportVersion = "report_version"
	itemIdempotency   = "idempotency"
)

// versionItem is one report version: pk REPORT#<id>, sk V#<000001>. Document holds the canonical
// bytes that process-report archives as they are.
type versionItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ItemType   string `dynamodbav:"item_type"`
	OrgID      string `dynamodbav:"org_id"`
	ReportID   string `dynamodbav:"report_id"`
	Version    int    `dynamodbav:"version"`
	Stage      string `dynamodbav:"stage"`
	ReceivedAt string `dynamodbav:"received_at"`
	Severity   string `dynamodbav:"severity"`
	Late       bool   `dynamodbav:"late"`
	SHA256     string `dynamodbav:"sha256"`
	Document   []byte `dynamodbav:"document"`
}

// idempotencyItem: pk IDEM#<hash of org, route, report, key>. The key is hashed because a client
// key may hold any printable character, '#' included.
type idempotencyItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	ItemType      string `dynamodbav:"item_type"`
	OrgID         string `dynamodbav:"org_id"`
	Route         string `dynamodbav:"route"`
	ReportID      string `dynamodbav:"report_id,omitempty"`
	Key           string `dynamodbav:"idempotency_key"`
	RequestSHA256 string `dynamodbav:"request_sha256"`
	Receipt       []byte `dynamodbav:"receipt"`
	ExpiresAt     int64  `dynamodbav:"expires_at"` // epoch seconds; also the table's TTL attribute
}

func versionSK(n int) string { return fmt.Sprintf("V#%06d", n) }

func idempotencyPK(k breach.IdempotencyKey) string {
	h := sha256.New()
	for _, part := range []string{string(k.Org), k.Route, string(k.ReportID), k.Key} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: no part holds a NUL byte
	}
	return "IDEM#" + hex.EncodeToString(h.Sum(nil))
}

func idempotencyKey(k breach.IdempotencyKey) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: idempotencyPK(k)},
		"sk": &types.AttributeValueMemberS{Value: "IDEM"},
	}
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Idempotency implements breach.Store. The read is strongly consistent: a retry may follow its
// first request within milliseconds.
func (s *Store) Idempotency(ctx context.Context, key breach.IdempotencyKey, now time.Time) (*breach.IdempotencyRecord, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: idempotencyKey(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get idempotency record: %w", err)
	}
	return liveRecord(out.Item, key, now)
}

// liveRecord decodes a stored idempotency item, or nil when there is none or it has expired (TTL
// deletes expired items only eventually).
func liveRecord(item map[string]types.AttributeValue, key breach.IdempotencyKey, now time.Time) (*breach.IdempotencyRecord, error) {
	if item == nil {
		return nil, nil
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	if it.ExpiresAt <= now.Unix() {
		return nil, nil
	}
	return &breach.IdempotencyRecord{Key: key, RequestSHA256: it.RequestSHA256, Receipt: it.Receipt,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, nil
}

// SaveVersion implements breach.Store with one TransactWriteItems: the version and the
// idempotency record, each conditional, so neither exists without the other.
func (s *Store) SaveVersion(ctx context.Context, v breach.Version, rec breach.IdempotencyRecord, now time.Time) (*breach.IdempotencyRecord, error) {
	version, err := attributevalue.MarshalMap(versionItem{
		PK: "REPORT#" + string(v.ReportID), SK: versionSK(v.Number), ItemType: itemReportVersion,
		OrgID: string(v.OrgID), ReportID: string(v.ReportID), Version: v.Number, Stage: string(v.Stage),
		ReceivedAt: v.ReceivedAt.UTC().Format(time.RFC3339Nano), Severity: string(v.Severity), Late: v.Late,
		SHA256: v.SHA256, Document: v.Document,
	})
	if err != nil {
		return nil, fmt.Errorf("encode version: %w", err)
	}
	idem, err := attributevalue.MarshalMap(idempotencyItem{
		PK: idempotencyPK(rec.Key), SK: "IDEM", ItemType: itemIdempotency,
		OrgID: string(rec.Key.Org), Route: rec.Key.Route, ReportID: string(rec.Key.ReportID), Key: rec.Key.Key,
		RequestSHA256: rec.RequestSHA256, Receipt: rec.Receipt, ExpiresAt: rec.ExpiresAt.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode idempotency record: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: version,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: idem,
			// Expiry is checked here, not left to TTL, which deletes only within days.
			ConditionExpression:                 aws.String("attribute_not_exists(pk) OR expires_at <= :now"),
			ExpressionAttributeValues:           map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: epoch(now)}},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}})
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		if err != nil {
			return nil, fmt.Errorf("save version: %w", err)
		}
		return nil, nil
	}
	reasons := canceled.CancellationReasons
	if len(reasons) == 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
		// A live record for the key: replay (or refuse) it, whatever happened to the version.
		prior, err := liveRecord(reasons[1].Item, rec.Key, now)
		if err == nil && prior == nil { // the table did not return the item: read it
			prior, err = s.Idempotency(ctx, rec.Key, now)
		}
		if err == nil && prior == nil {
			err = errors.New("idempotency condition failed, yet no live record exists")
		}
		return prior, err
	}
	if len(reasons) == 2 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
		return nil, breach.Errorf(breach.VersionConflict, "version %d of report %s already exists", v.Number, v.ReportID)
	}
	return nil, fmt.Errorf("save version: %w", err)
}
