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

	"github.com/breach-intake/intake/internal/audit"
)

// AuditStore keeps the audit chains in the table, beside the reports: audit.Store.
//
// An entry is pk AUDIT#<chain>, sk E#<seq, 12 digits>, item_type audit_entry, so a chain is one
// partition read in order by a query. The chain and the seq live in the key only: a key cannot
// be updated, so an edit of an entry's item cannot move it, and every other attribute is covered
// by the entry's digest. The registry of chains is pk AUDITCHAINS, sk <chain>, item_type
// audit_chain, written with a chain's first entry.
type AuditStore struct {
	db    *dynamodb.Client
	table string
}

var _ audit.Store = (*AuditStore)(nil)

// NewAuditStore is the audit store in table.
func NewAuditStore(db *dynamodb.Client, table string) *AuditStore {
	return &AuditStore{db: db, table: table}
}

const (
	itemAuditEntry = "audit_entry"
	itemAuditChain = "audit_chain"
	auditChainsPK  = "AUDITCHAINS"
	auditPKPrefix  = "AUDIT#"
	auditSKPrefix  = "E#"
	// maxAuditSeq is the largest seq that the sk's 12 digits hold.
	maxAuditSeq = 999_999_999_999
)

// auditItem is an entry as stored. Empty strings are stored as such (DynamoDB allows them outside
// keys): an attribute removed reads back as "", which changes the digest unless it was "".
type auditItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ItemType  string `dynamodbav:"item_type"`
	At        string `dynamodbav:"at"`
	KeyID     string `dynamodbav:"key_id"`
	Prev      string `dynamodbav:"prev"`
	Principal string `dynamodbav:"principal"`
	ReportID  string `dynamodbav:"report_id"`
	RequestID string `dynamodbav:"request_id"`
	Result    string `dynamodbav:"result"`
	Route     string `dynamodbav:"route"`
	SHA256    string `dynamodbav:"sha256"`
	Version   int    `dynamodbav:"version"`
	Who       string `dynamodbav:"who"`
}

type auditChainItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	ItemType string `dynamodbav:"item_type"`
}

func auditPK(chain string) string { return auditPKPrefix + chain }

func auditSK(seq int64) string { return fmt.Sprintf("%s%012d", auditSKPrefix, seq) }

// entryQuery is the query of a chain's entries; newestFirst reads from its head.
func (s *AuditStore) entryQuery(chain string, newestFirst bool) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: auditPK(chain)},
			":e":  &types.AttributeValueMemberS{Value: auditSKPrefix},
		},
		ScanIndexForward: aws.Bool(!newestFirst),
		ConsistentRead:   aws.Bool(true),
	}
}

// Last implements audit.Store: the chain's first item from its end, strongly consistent.
func (s *AuditStore) Last(ctx context.Context, chain string) (audit.Entry, bool, error) {
	in := s.entryQuery(chain, true)
	in.Limit = aws.Int32(1)
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return audit.Entry{}, false, fmt.Errorf("query head of audit chain %s: %w", chain, err)
	}
	if len(out.Items) == 0 {
		return audit.Entry{}, false, nil
	}
	e, err := entryFromItem(out.Items[0])
	if err != nil {
		return audit.Entry{}, false, err
	}
	return e, true, nil
}

// Put implements audit.Store with a conditional put; a chain's first entry is written in one
// transaction with its registry item, so no chain exists that Chains does not list.
func (s *AuditStore) Put(ctx context.Context, e audit.Entry) error {
	if e.Seq < 1 || e.Seq > maxAuditSeq || e.Chain == "" {
		return fmt.Errorf("audit entry %d of chain %q: out of range", e.Seq, e.Chain)
	}
	item, err := attributevalue.MarshalMap(auditItem{
		PK: auditPK(e.Chain), SK: auditSK(e.Seq), ItemType: itemAuditEntry,
		At: e.At.UTC().Format(time.RFC3339Nano), KeyID: e.KeyID, Prev: e.Prev, Principal: e.Principal,
		ReportID: e.ReportID, RequestID: e.RequestID, Result: e.Result, Route: e.Route,
		SHA256: e.SHA256, Version: e.Version, Who: e.Who,
	})
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	cond := aws.String("attribute_not_exists(pk)")
	// A lost race answers with the winner, so the loser's next attempt need not read the head.
	const returnTaken = types.ReturnValuesOnConditionCheckFailureAllOld
	if e.Seq > 1 {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
			ConditionExpression: cond, ReturnValuesOnConditionCheckFailure: returnTaken})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return conflict(e, failed.Item)
		}
		if err != nil {
			return fmt.Errorf("put audit entry %d of chain %s: %w", e.Seq, e.Chain, err)
		}
		return nil
	}
	registry, err := attributevalue.MarshalMap(auditChainItem{PK: auditChainsPK, SK: e.Chain, ItemType: itemAuditChain})
	if err != nil {
		return fmt.Errorf("encode audit chain: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: item, ConditionExpression: cond, ReturnValuesOnConditionCheckFailure: returnTaken}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: registry}},
	}})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		// ConditionalCheckFailed (only the entry has a condition): it exists.
		// TransactionConflict: another first append is in flight. Either way another one won.
		for _, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				return conflict(e, r.Item)
			case "TransactionConflict":
				return &audit.ConflictError{Chain: e.Chain, Seq: e.Seq}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("put audit entry %d of chain %s: %w", e.Seq, e.Chain, err)
	}
	return nil
}

// conflict is the answer to a put of e refused because taken holds its place. An item that
// cannot be read as an entry is not handed on: the next attempt reads the head.
func conflict(e audit.Entry, taken map[string]types.AttributeValue) error {
	c := &audit.ConflictError{Chain: e.Chain, Seq: e.Seq}
	if taken != nil {
		if t, err := entryFromItem(taken); err == nil {
			c.Taken = &t
		}
	}
	return c
}

// Chains implements audit.Store from the registry (sk order is the chains' byte order).
func (s *AuditStore) Chains(ctx context.Context) ([]string, error) {
	var chains []string
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: auditChainsPK}},
		ProjectionExpression:      aws.String("sk"),
		ConsistentRead:            aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query audit chains: %w", err)
		}
		for _, item := range page.Items {
			sk, ok := item["sk"].(*types.AttributeValueMemberS)
			if !ok {
				return nil, errors.New("audit chain registry item without a string sk")
			}
			chains = append(chains, sk.Value)
		}
	}
	return chains, nil
}

// Entries implements audit.Store, a page of the chain's partition at a time.
func (s *AuditStore) Entries(ctx context.Context, chain string, fn func(audit.Entry) error) error {
	pages := dynamodb.NewQueryPaginator(s.db, s.entryQuery(chain, false))
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query audit chain %s: %w", chain, err)
		}
		for _, item := range page.Items {
			e, err := entryFromItem(item)
			if err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// entryFromItem reads a stored entry, its chain and seq from its key. An item whose key is
// readable but whose attributes are not is an *audit.CorruptError naming it.
func entryFromItem(item map[string]types.AttributeValue) (audit.Entry, error) {
	var keys struct {
		PK string `dynamodbav:"pk"`
		SK string `dynamodbav:"sk"`
	}
	if err := attributevalue.UnmarshalMap(item, &keys); err != nil {
		return audit.Entry{}, fmt.Errorf("decode audit entry key: %w", err)
	}
	chain, okPK := strings.CutPrefix(keys.PK, auditPKPrefix)
	digits, okSK := strings.CutPrefix(keys.SK, auditSKPrefix)
	seq, err := strconv.ParseInt(digits, 10, 64)
	if !okPK || !okSK || err != nil {
		return audit.Entry{}, fmt.Errorf("audit entry key %s %s is malformed", keys.PK, keys.SK)
	}
	corrupt := func(err error) error { return &audit.CorruptError{Chain: chain, Seq: seq, Err: err} }
	var it auditItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return audit.Entry{}, corrupt(err)
	}
	if it.ItemType != itemAuditEntry {
		return audit.Entry{}, corrupt(fmt.Errorf("item_type is %q, not %q", it.ItemType, itemAuditEntry))
	}
	at, err := time.Parse(time.RFC3339Nano, it.At)
	if err != nil {
		return audit.Entry{}, corrupt(fmt.Errorf("at: %w", err))
	}
	return audit.Entry{At: at.UTC(), Chain: chain, KeyID: it.KeyID, Prev: it.Prev, Principal: it.Principal,
		ReportID: it.ReportID, RequestID: it.RequestID, Result: it.Result, Route: it.Route, Seq: seq,
		SHA256: it.SHA256, Version: it.Version, Who: it.Who}, nil
}
