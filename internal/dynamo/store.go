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
	"strings"
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
	itemFanout        = "fanout"
)

// pendingIndex is the sparse index of fan-out markers still carrying fanout_pending: the
// versions not yet archived and alerted, so the sweeper's cost follows them, not the table.
const pendingIndex = "pending-fanout"

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

// fanoutItem tracks one version's fan-out: pk REPORT#<id>, sk FANOUT#<000001>. It is written with
// the version, pending; process-report marks it alerted, which takes it out of pendingIndex.
// The version item itself is never changed.
type fanoutItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	ItemType      string `dynamodbav:"item_type"`
	OrgID         string `dynamodbav:"org_id"`
	ReportID      string `dynamodbav:"report_id"`
	Version       int    `dynamodbav:"version"`
	ReceivedAt    string `dynamodbav:"received_at"`
	FanoutPending string `dynamodbav:"fanout_pending,omitempty"`
	AlertedAt     string `dynamodbav:"alerted_at,omitempty"`
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

func fanoutSK(n int) string { return fmt.Sprintf("FANOUT#%06d", n) }

func reportKey(id breach.ReportID, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "REPORT#" + string(id)},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

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

// sortable writes a time in UTC with a fixed nine-digit fraction, so that the strings sort as the
// times do (RFC3339Nano trims trailing zeros: "…:00.5Z" would sort before "…:00Z"). Key and
// filter comparisons on received_at rely on it.
func sortable(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") }

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// expiryEpoch is an expiry in whole seconds, rounded up: a record lives at least its full time.
func expiryEpoch(t time.Time) int64 {
	if t.Equal(t.Truncate(time.Second)) {
		return t.Unix()
	}
	return t.Unix() + 1
}

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

// SaveVersion implements breach.Store with one TransactWriteItems: the version, the idempotency
// record, the fan-out marker and the report's head, each conditional, so none exists without
// the others. The head's condition is what orders a report's versions: version 1 creates it,
// version n moves it on from n-1, so of two supplements made from the same head one is stored
// and the other conflicts, whatever their version items say.
func (s *Store) SaveVersion(ctx context.Context, v breach.Version, head breach.ReportHead, rec breach.IdempotencyRecord, now time.Time) (*breach.IdempotencyRecord, error) {
	if head.Latest != v.Number || head.ID != v.ReportID || head.Org != v.OrgID {
		return nil, fmt.Errorf("head %s v%d of %s does not match version %s v%d of %s",
			head.ID, head.Latest, head.Org, v.ReportID, v.Number, v.OrgID)
	}
	version, err := attributevalue.MarshalMap(versionItem{
		PK: "REPORT#" + string(v.ReportID), SK: versionSK(v.Number), ItemType: itemReportVersion,
		OrgID: string(v.OrgID), ReportID: string(v.ReportID), Version: v.Number, Stage: string(v.Stage),
		ReceivedAt: sortable(v.ReceivedAt), Severity: string(v.Severity), Late: v.Late,
		SHA256: v.SHA256, Document: v.Document,
	})
	if err != nil {
		return nil, fmt.Errorf("encode version: %w", err)
	}
	idem, err := attributevalue.MarshalMap(idempotencyItem{
		PK: idempotencyPK(rec.Key), SK: "IDEM", ItemType: itemIdempotency,
		OrgID: string(rec.Key.Org), Route: rec.Key.Route, ReportID: string(rec.Key.ReportID), Key: rec.Key.Key,
		RequestSHA256: rec.RequestSHA256, Receipt: rec.Receipt, ExpiresAt: expiryEpoch(rec.ExpiresAt),
	})
	if err != nil {
		return nil, fmt.Errorf("encode idempotency record: %w", err)
	}
	fanout, err := attributevalue.MarshalMap(fanoutItem{
		PK: "REPORT#" + string(v.ReportID), SK: fanoutSK(v.Number), ItemType: itemFanout,
		OrgID: string(v.OrgID), ReportID: string(v.ReportID), Version: v.Number,
		ReceivedAt: sortable(v.ReceivedAt), FanoutPending: "1",
	})
	if err != nil {
		return nil, fmt.Errorf("encode fan-out marker: %w", err)
	}
	headAttrs, err := encodeHead(head)
	if err != nil {
		return nil, err
	}
	headPut := &types.Put{TableName: aws.String(s.table), Item: headAttrs}
	if v.Number == 1 {
		headPut.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		headPut.ConditionExpression = aws.String("latest = :prev")
		headPut.ExpressionAttributeValues = map[string]types.AttributeValue{
			":prev": &types.AttributeValueMemberN{Value: strconv.Itoa(v.Number - 1)},
		}
	}
	// The order of the items is the order of the cancellation reasons: each item is placed at
	// the index that later reads its reason.
	const versionAt, idempotencyAt, fanoutAt, headAt = 0, 1, 2, 3
	items := make([]types.TransactWriteItem, 4)
	items[versionAt] = types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.table), Item: version,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
	items[idempotencyAt] = types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.table), Item: idem,
		// Expiry is checked here, not left to TTL, which deletes only within days.
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR expires_at <= :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: epoch(now)}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
	items[fanoutAt] = types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.table), Item: fanout,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
	items[headAt] = types.TransactWriteItem{Put: headPut}
	for attempt := range conflictRetries {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if !isTransactionConflict(err) || attempt == conflictRetries-1 {
			break
		}
		// Another transaction on the same items (a concurrent retry of this request) is in
		// flight: once it is done, this one replays it.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		if err != nil {
			return nil, fmt.Errorf("save version: %w", err)
		}
		return nil, nil
	}
	reasons := canceled.CancellationReasons
	failed := func(at int) bool {
		return len(reasons) == len(items) && aws.ToString(reasons[at].Code) == "ConditionalCheckFailed"
	}
	if failed(idempotencyAt) {
		// A live record for the key: replay (or refuse) it, whatever happened to the version.
		prior, err := liveRecord(reasons[idempotencyAt].Item, rec.Key, now)
		if err == nil && prior == nil { // the table did not return the item: read it
			prior, err = s.Idempotency(ctx, rec.Key, now)
		}
		if err == nil && prior == nil {
			err = errors.New("idempotency condition failed, yet no live record exists")
		}
		return prior, err
	}
	if failed(versionAt) {
		return nil, breach.Errorf(breach.VersionConflict, "version %d of report %s already exists", v.Number, v.ReportID)
	}
	if failed(headAt) {
		// Another version was stored since the caller read the head (or, for version 1, the
		// report exists; for version n > 1, it does not under this organisation).
		return nil, breach.Errorf(breach.VersionConflict, "report %s of %s is not at version %d", v.ReportID, v.OrgID, v.Number-1)
	}
	return nil, fmt.Errorf("save version: %w", err)
}

// Alerted implements breach.Ledger.
func (s *Store) Alerted(ctx context.Context, id breach.ReportID, n int) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: reportKey(id, fanoutSK(n)), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk, alerted_at"),
	})
	if err != nil {
		return false, fmt.Errorf("get fan-out marker of %s v%d: %w", id, n, err)
	}
	if out.Item == nil {
		// Every version is written with its marker: without one, publishing would repeat on every
		// retry, as MarkAlerted could never record it.
		return false, fmt.Errorf("no fan-out marker for %s v%d", id, n)
	}
	_, alerted := out.Item["alerted_at"]
	return alerted, nil
}

// MarkAlerted implements breach.Ledger: it records the alert and leaves the pending index.
func (s *Store) MarkAlerted(ctx context.Context, id breach.ReportID, n int, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: reportKey(id, fanoutSK(n)),
		UpdateExpression:          aws.String("SET alerted_at = if_not_exists(alerted_at, :at) REMOVE fanout_pending"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return breach.Errorf(breach.NotFound, "no fan-out marker for %s v%d", id, n)
	}
	if err != nil {
		return fmt.Errorf("mark %s v%d alerted: %w", id, n, err)
	}
	return nil
}

// Pending implements breach.Ledger with a query of the sparse pending index.
func (s *Store) Pending(ctx context.Context, before time.Time, limit int) ([]breach.VersionRef, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(pendingIndex),
		KeyConditionExpression: aws.String("fanout_pending = :p AND received_at < :before"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p":      &types.AttributeValueMemberS{Value: "1"},
			":before": &types.AttributeValueMemberS{Value: sortable(before)},
		},
		Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("query pending fan-out: %w", err)
	}
	refs := make([]breach.VersionRef, 0, len(out.Items))
	for _, item := range out.Items {
		var keys struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
		}
		if err := attributevalue.UnmarshalMap(item, &keys); err != nil {
			return nil, fmt.Errorf("decode pending key: %w", err)
		}
		var n int
		if _, err := fmt.Sscanf(keys.SK, "FANOUT#%d", &n); err != nil {
			return nil, fmt.Errorf("pending key %s: %w", keys.SK, err)
		}
		refs = append(refs, breach.VersionRef{ReportID: breach.ReportID(strings.TrimPrefix(keys.PK, "REPORT#")), Number: n})
	}
	return refs, nil
}

// Version implements breach.Ledger.
func (s *Store) Version(ctx context.Context, id breach.ReportID, n int) (breach.Version, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: reportKey(id, versionSK(n)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return breach.Version{}, fmt.Errorf("get version %d of %s: %w", n, id, err)
	}
	if out.Item == nil {
		return breach.Version{}, breach.Errorf(breach.NotFound, "no version %d of %s", n, id)
	}
	return VersionFromItem(out.Item)
}

// VersionFromItem decodes a stored version item (also what the table's stream carries).
func VersionFromItem(item map[string]types.AttributeValue) (breach.Version, error) {
	var it versionItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return breach.Version{}, fmt.Errorf("decode version item: %w", err)
	}
	received, err := time.Parse(time.RFC3339Nano, it.ReceivedAt)
	if err != nil || it.ItemType != itemReportVersion || it.ReportID == "" || len(it.Document) == 0 {
		return breach.Version{}, fmt.Errorf("version item %s %s is malformed", it.PK, it.SK)
	}
	return breach.Version{OrgID: breach.OrgID(it.OrgID), ReportID: breach.ReportID(it.ReportID), Number: it.Version,
		Stage: breach.Stage(it.Stage), ReceivedAt: received, Severity: breach.Severity(it.Severity), Late: it.Late,
		Document: it.Document, SHA256: it.SHA256}, nil
}

// conflictRetries bounds the attempts of a transaction that meets another on the same items.
const conflictRetries = 3

func isTransactionConflict(err error) bool {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return false
	}
	for _, r := range canceled.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}
