package dynamo

import (
	"context"
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

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
)

// keyItem is an API key as stored: pk KEY#<key_id>, sk KEY.
type keyItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	ItemType     string `dynamodbav:"item_type"`
	KeyID        string `dynamodbav:"key_id"`
	SecretSHA256 string `dynamodbav:"secret_sha256"`
	Principal    string `dynamodbav:"principal"`
	OrgID        string `dynamodbav:"org_id,omitempty"`
	Regulator    string `dynamodbav:"regulator,omitempty"`
	CreatedAt    string `dynamodbav:"created_at"`
	RevokedAt    string `dynamodbav:"revoked_at,omitempty"`
	ExpiresAt    int64  `dynamodbav:"expires_at,omitempty"` // epoch seconds, the table's TTL attribute
}

// orgItem is an organisation as stored: pk ORG#<org_id>, sk ORG.
type orgItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ItemType  string `dynamodbav:"item_type"`
	OrgID     string `dynamodbav:"org_id"`
	LegalName string `dynamodbav:"legal_name"`
	SIREN     string `dynamodbav:"siren,omitempty"`
	Country   string `dynamodbav:"country"`
	CreatedAt string `dynamodbav:"created_at"`
}

func keyItemKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "KEY#" + id},
		"sk": &types.AttributeValueMemberS{Value: "KEY"},
	}
}

func orgItemKey(id breach.OrgID) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ORG#" + string(id)},
		"sk": &types.AttributeValueMemberS{Value: "ORG"},
	}
}

// Key implements auth.Keys. An eventually consistent read is enough: a key is used well after
// it is created, and a revocation a second late is no worse than one made a second later.
func (s *Store) Key(ctx context.Context, id string) (auth.Key, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyItemKey(id)})
	if err != nil {
		return auth.Key{}, fmt.Errorf("get API key %s: %w", id, err)
	}
	if out.Item == nil {
		return auth.Key{}, fmt.Errorf("API key %s: %w", id, auth.ErrNotFound)
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return auth.Key{}, fmt.Errorf("decode API key %s: %w", id, err)
	}
	return it.key()
}

func (it keyItem) key() (auth.Key, error) {
	k := auth.Key{ID: it.KeyID, Principal: auth.Principal(it.Principal), OrgID: it.OrgID, Regulator: it.Regulator}
	var errs []error
	if n, err := hex.Decode(k.SecretSHA256[:], []byte(it.SecretSHA256)); err != nil || n != len(k.SecretSHA256) {
		errs = append(errs, fmt.Errorf("secret_sha256 is not a hex SHA-256"))
	}
	var err error
	if k.CreatedAt, err = time.Parse(time.RFC3339Nano, it.CreatedAt); err != nil {
		errs = append(errs, fmt.Errorf("created_at: %w", err))
	}
	if it.RevokedAt != "" {
		if k.RevokedAt, err = time.Parse(time.RFC3339Nano, it.RevokedAt); err != nil {
			errs = append(errs, fmt.Errorf("revoked_at: %w", err))
		}
	}
	if it.ExpiresAt != 0 {
		k.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
	}
	if err := errors.Join(errs...); err != nil {
		return auth.Key{}, fmt.Errorf("decode API key %s: %w", it.KeyID, err)
	}
	return k, nil
}

// PutKey stores a new key. Ids are random, so an existing one is an error, never an overwrite.
func (s *Store) PutKey(ctx context.Context, k auth.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		return fmt.Errorf("API key %s has no creation time", k.ID)
	}
	it := keyItem{
		PK: "KEY#" + k.ID, SK: "KEY", ItemType: "api_key",
		KeyID: k.ID, SecretSHA256: hex.EncodeToString(k.SecretSHA256[:]),
		Principal: string(k.Principal), OrgID: k.OrgID, Regulator: k.Regulator,
		CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if !k.RevokedAt.IsZero() {
		it.RevokedAt = k.RevokedAt.UTC().Format(time.RFC3339Nano)
	}
	if !k.ExpiresAt.IsZero() {
		it.ExpiresAt = k.ExpiresAt.Unix()
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode API key %s: %w", k.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("put API key %s: %w", k.ID, err)
	}
	return nil
}

// RevokeKey marks a key revoked at at. Revoking twice keeps the first time: that is when the key
// stopped working.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyItemKey(id),
		UpdateExpression:          aws.String("SET revoked_at = if_not_exists(revoked_at, :at)"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}},
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return fmt.Errorf("revoke API key %s: %w", id, auth.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return nil
}

// ExpireKey makes a key stop working at at (`keys rotate`'s grace period) and returns the expiry
// now in force: an earlier one is kept, since a key must never live longer than it was given.
// expires_at is also the table's TTL attribute: DynamoDB deletes the item some time after.
func (s *Store) ExpireKey(ctx context.Context, id string, at time.Time) (time.Time, error) {
	epoch := at.Unix() // whole seconds, rounded down: the key never outlives at
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 keyItemKey(id),
		UpdateExpression:    aws.String("SET expires_at = :at"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :at)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at": &types.AttributeValueMemberN{Value: strconv.FormatInt(epoch, 10)},
		},
		// On a refusal the item comes back: missing, or expiring earlier already.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	ccf, refused := errors.AsType[*types.ConditionalCheckFailedException](err)
	if err != nil && !refused {
		return time.Time{}, fmt.Errorf("expire API key %s: %w", id, err)
	}
	if !refused {
		return time.Unix(epoch, 0).UTC(), nil
	}
	if ccf.Item == nil {
		return time.Time{}, fmt.Errorf("expire API key %s: %w", id, auth.ErrNotFound)
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(ccf.Item, &it); err != nil {
		return time.Time{}, fmt.Errorf("decode API key %s: %w", id, err)
	}
	return time.Unix(it.ExpiresAt, 0).UTC(), nil
}

// PutOrganisation provisions o, created at at, unless it exists. Provisioning again with the same
// legal name, SIREN and country is a no-op (created is false); other values are an error naming
// them, since an organisation's identity is what reports are checked against.
func (s *Store) PutOrganisation(ctx context.Context, o breach.Organisation, at time.Time) (created bool, err error) {
	if err := validOrganisation(o); err != nil {
		return false, err
	}
	item, err := attributevalue.MarshalMap(orgItem{
		PK: "ORG#" + string(o.ID), SK: "ORG", ItemType: "organisation",
		OrgID: string(o.ID), LegalName: o.LegalName, SIREN: o.SIREN, Country: o.Country,
		CreatedAt: at.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return false, fmt.Errorf("encode organisation %s: %w", o.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
		// The existing item comes back with the refusal: no second read, no race with it.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	ccf, exists := errors.AsType[*types.ConditionalCheckFailedException](err)
	if err != nil && !exists {
		return false, fmt.Errorf("put organisation %s: %w", o.ID, err)
	}
	if !exists {
		return true, nil
	}
	var stored orgItem
	if err := attributevalue.UnmarshalMap(ccf.Item, &stored); err != nil {
		return false, fmt.Errorf("decode organisation %s: %w", o.ID, err)
	}
	var differ []string
	if stored.LegalName != o.LegalName {
		differ = append(differ, "legal name")
	}
	if stored.SIREN != o.SIREN {
		differ = append(differ, "SIREN")
	}
	if stored.Country != o.Country {
		differ = append(differ, "country")
	}
	if len(differ) > 0 {
		return false, fmt.Errorf("organisation %s already exists with another %s", o.ID, strings.Join(differ, ", "))
	}
	return false, nil
}

// Organisation implements breach.Store: a provisioned organisation, or an *breach.Error NotFound.
func (s *Store) Organisation(ctx context.Context, id breach.OrgID) (breach.Organisation, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: orgItemKey(id)})
	if err != nil {
		return breach.Organisation{}, fmt.Errorf("get organisation %s: %w", id, err)
	}
	if out.Item == nil {
		return breach.Organisation{}, breach.Errorf(breach.NotFound, "no organisation %s", id)
	}
	var it orgItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return breach.Organisation{}, fmt.Errorf("decode organisation %s: %w", id, err)
	}
	return breach.Organisation{ID: breach.OrgID(it.OrgID), LegalName: it.LegalName, SIREN: it.SIREN, Country: it.Country}, nil
}

// validOrganisation refuses what could never be provisioned. The SIREN's Luhn digit is the
// domain's to check.
func validOrganisation(o breach.Organisation) error {
	var bad []string
	if !auth.ValidOrgID(string(o.ID)) {
		bad = append(bad, fmt.Sprintf("org id %q (want ^[a-z0-9][a-z0-9-]{1,62}$)", o.ID))
	}
	if strings.TrimSpace(o.LegalName) == "" {
		bad = append(bad, "empty legal name")
	}
	// The same rules as a report's: an organisation provisioned here can always report.
	if o.SIREN != "" && !breach.ValidSIREN(o.SIREN) {
		bad = append(bad, "SIREN is not 9 digits with a valid Luhn check digit")
	}
	if !breach.IsCountry(o.Country) {
		bad = append(bad, "country is not an ISO 3166-1 alpha-2 code")
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid organisation: %s", strings.Join(bad, "; "))
	}
	return nil
}
