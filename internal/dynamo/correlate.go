package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Correlations = (*Store)(nil)

// A processor's group is one partition, PROCESSOR#<siren>, which only the fan-out's role may read
// (dynamodb:LeadingKeys): organisations' functions cannot, so no organisation can learn from it
// who else named its processor. Its items:
//   - GROUP: the sequence number every join moves on by one, under a condition on it, which
//     serialises the joins of one processor;
//   - MEMBER#<report id>: a report that named it, expiring (TTL) twice the correlation window after
//     it did, when no new report can be correlated with it any more;
//   - CORRELATION#<report id>: the event of that report's joining, pending until its alert is sent.
//
// Sort keys order CORRELATION# < GROUP < MEMBER#, so that reading the group (sk ≥ GROUP) skips the
// events.
const (
	processorPKPrefix = "PROCESSOR#"
	groupSK           = "GROUP"
	memberPrefix      = "MEMBER#"
	correlationPrefix = "CORRELATION#"

	itemProcessorGroup  = "processor_group"
	itemProcessorMember = "processor_member"
	itemCorrelation     = "correlation"

	correlationPending = "pending"
	correlationSent    = "sent"
)

// memberItem is one report of a processor's group.
type memberItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	ItemType string `dynamodbav:"item_type"`
	SIREN    string `dynamodbav:"siren"`
	memberAttrs
	ExpiresAt int64 `dynamodbav:"expires_at"` // epoch seconds; the table's TTL attribute
}

// memberAttrs is a CorrelatedReport as stored, in a member item and in a correlation's list.
type memberAttrs struct {
	ReportID         string   `dynamodbav:"report_id"`
	Version          int      `dynamodbav:"version"`
	OrgID            string   `dynamodbav:"org_id"`
	OrganisationName string   `dynamodbav:"organisation_name"`
	Country          string   `dynamodbav:"country"`
	Sector           string   `dynamodbav:"sector"`
	Regimes          []string `dynamodbav:"regimes"`
	Severity         string   `dynamodbav:"severity"`
	NamedAt          string   `dynamodbav:"named_at"`
}

// correlationItem is the event of a report's joining.
type correlationItem struct {
	PK       string        `dynamodbav:"pk"`
	SK       string        `dynamodbav:"sk"`
	ItemType string        `dynamodbav:"item_type"`
	SIREN    string        `dynamodbav:"siren"`
	ReportID string        `dynamodbav:"report_id"`
	OrgID    string        `dynamodbav:"org_id"`
	State    string        `dynamodbav:"state"`
	SentAt   string        `dynamodbav:"sent_at,omitempty"`
	Members  []memberAttrs `dynamodbav:"members"`
}

func processorKey(siren, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: processorPKPrefix + siren},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

func encodeMember(m breach.CorrelatedReport) memberAttrs {
	regimes := make([]string, 0, len(m.Regimes))
	for _, r := range m.Regimes {
		regimes = append(regimes, string(r))
	}
	return memberAttrs{ReportID: string(m.ReportID), Version: m.Version, OrgID: string(m.OrgID),
		OrganisationName: m.OrganisationName, Country: m.Country, Sector: m.Sector, Regimes: regimes,
		Severity: string(m.Severity), NamedAt: sortable(m.NamedAt)}
}

func (a memberAttrs) decode() (breach.CorrelatedReport, error) {
	named, err := time.Parse(time.RFC3339Nano, a.NamedAt)
	if err != nil || a.ReportID == "" || a.OrgID == "" || a.Version < 1 {
		return breach.CorrelatedReport{}, fmt.Errorf("processor group member %s is malformed", a.ReportID)
	}
	m := breach.CorrelatedReport{ReportID: breach.ReportID(a.ReportID), Version: a.Version, OrgID: breach.OrgID(a.OrgID),
		OrganisationName: a.OrganisationName, Country: a.Country, Sector: a.Sector, Severity: breach.Severity(a.Severity),
		NamedAt: named, Regimes: make([]breach.Regime, 0, len(a.Regimes))}
	for _, r := range a.Regimes {
		m.Regimes = append(m.Regimes, breach.Regime(r))
	}
	return m, nil
}

// ProcessorGroup implements breach.Correlations: a consistent Query of the processor's partition
// from GROUP on (the sequence number and the members, not the events).
func (s *Store) ProcessorGroup(ctx context.Context, siren string) (breach.ProcessorGroup, error) {
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk >= :group"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":    &types.AttributeValueMemberS{Value: processorPKPrefix + siren},
			":group": &types.AttributeValueMemberS{Value: groupSK},
		},
		ConsistentRead: aws.Bool(true),
	})
	var g breach.ProcessorGroup
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return breach.ProcessorGroup{}, fmt.Errorf("query the group of processor %s: %w", siren, err)
		}
		for _, item := range page.Items {
			sk, _ := item["sk"].(*types.AttributeValueMemberS)
			switch {
			case sk != nil && sk.Value == groupSK:
				seq, ok := item["seq"].(*types.AttributeValueMemberN)
				if !ok {
					return breach.ProcessorGroup{}, fmt.Errorf("the group of processor %s has no sequence number", siren)
				}
				n, err := strconv.Atoi(seq.Value)
				if err != nil {
					return breach.ProcessorGroup{}, fmt.Errorf("the group of processor %s has no sequence number", siren)
				}
				g.Seq = n
			case sk != nil && strings.HasPrefix(sk.Value, memberPrefix):
				var it memberItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return breach.ProcessorGroup{}, fmt.Errorf("decode a member of processor %s: %w", siren, err)
				}
				m, err := it.memberAttrs.decode()
				if err != nil {
					return breach.ProcessorGroup{}, err
				}
				g.Members = append(g.Members, m)
			}
		}
	}
	return g, nil
}

// JoinProcessorGroup implements breach.Correlations with one TransactWriteItems: the group's
// sequence number moved on from seq, the member and the event (if any), each conditional.
func (s *Store) JoinProcessorGroup(ctx context.Context, siren string, seq int, m breach.CorrelatedReport, c *breach.Correlation) error {
	pk := processorPKPrefix + siren
	member, err := attributevalue.MarshalMap(memberItem{PK: pk, SK: memberPrefix + string(m.ReportID), ItemType: itemProcessorMember,
		SIREN: siren, memberAttrs: encodeMember(m), ExpiresAt: m.NamedAt.Add(2 * breach.CorrelationWindow).Unix()})
	if err != nil {
		return fmt.Errorf("encode member: %w", err)
	}
	group := &types.Update{
		TableName: aws.String(s.table), Key: processorKey(siren, groupSK),
		UpdateExpression:         aws.String("SET #seq = :next, item_type = :type, siren = :siren"),
		ExpressionAttributeNames: map[string]string{"#seq": "seq"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":next":  &types.AttributeValueMemberN{Value: strconv.Itoa(seq + 1)},
			":type":  &types.AttributeValueMemberS{Value: itemProcessorGroup},
			":siren": &types.AttributeValueMemberS{Value: siren},
		},
	}
	if seq == 0 {
		group.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		group.ConditionExpression = aws.String("#seq = :seq")
		group.ExpressionAttributeValues[":seq"] = &types.AttributeValueMemberN{Value: strconv.Itoa(seq)}
	}
	items := []types.TransactWriteItem{
		{Update: group},
		{Put: &types.Put{TableName: aws.String(s.table), Item: member, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}
	if c != nil {
		list := make([]memberAttrs, 0, len(c.Members))
		for _, x := range c.Members {
			list = append(list, encodeMember(x))
		}
		event, err := attributevalue.MarshalMap(correlationItem{PK: pk, SK: correlationPrefix + string(m.ReportID), ItemType: itemCorrelation,
			SIREN: siren, ReportID: string(m.ReportID), OrgID: string(m.OrgID), State: correlationPending, Members: list})
		if err != nil {
			return fmt.Errorf("encode correlation: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: event,
			ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		// A condition failed (the group moved on, or the report is a member already) or another
		// join was in flight: either way the caller reads the group again.
		return breach.Errorf(breach.VersionConflict, "the group of processor %s moved on from %d", siren, seq)
	}
	if err != nil {
		return fmt.Errorf("join processor %s: %w", siren, err)
	}
	return nil
}

// Correlation implements breach.Correlations.
func (s *Store) Correlation(ctx context.Context, siren string, id breach.ReportID) (*breach.Correlation, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: processorKey(siren, correlationPrefix+string(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get correlation of %s in %s: %w", id, siren, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var it correlationItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode correlation of %s in %s: %w", id, siren, err)
	}
	c := &breach.Correlation{SIREN: siren, Sent: it.State == correlationSent}
	for _, a := range it.Members {
		m, err := a.decode()
		if err != nil {
			return nil, err
		}
		c.Members = append(c.Members, m)
	}
	i := slices.IndexFunc(c.Members, func(m breach.CorrelatedReport) bool { return m.ReportID == id })
	if i < 0 {
		return nil, fmt.Errorf("correlation of %s in %s does not list it", id, siren)
	}
	c.Report = c.Members[i]
	return c, nil
}

// MarkCorrelationSent implements breach.Correlations.
func (s *Store) MarkCorrelationSent(ctx context.Context, siren string, id breach.ReportID, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: processorKey(siren, correlationPrefix+string(id)),
		UpdateExpression:         aws.String("SET #state = :sent, #at = if_not_exists(#at, :at)"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#at": "sent_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sent": &types.AttributeValueMemberS{Value: correlationSent},
			":at":   &types.AttributeValueMemberS{Value: sortable(at)},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return breach.Errorf(breach.NotFound, "no correlation of %s in %s", id, siren)
	}
	if err != nil {
		return fmt.Errorf("mark correlation of %s in %s sent: %w", id, siren, err)
	}
	return nil
}
