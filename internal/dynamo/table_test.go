package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// newTable is a Store over a fresh table on the test's own moto_server.
func newTable(t testing.TB) *dynamo.Store {
	t.Helper()
	s, _ := newRawTable(t)
	return s
}

// rawTable reaches the table past the Store, to check what is really stored.
type rawTable struct {
	db   *dynamodb.Client
	name string
}

// newRawTable is newTable plus raw access to the same table.
func newRawTable(t testing.TB) (*dynamo.Store, rawTable) {
	t.Helper()
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	const name = "reports" // each call has its own moto_server, so one name serves all
	createTable(t, db, name)
	return dynamo.New(db, name), rawTable{db: db, name: name}
}

// createTable creates a table with the template's key schema.
func createTable(t testing.TB, db *dynamodb.Client, name string) {
	t.Helper()
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("fanout_pending"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("received_at"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("pending-fanout"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("fanout_pending"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("received_at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// item is the stored item at pk/sk, nil when there is none.
func (r rawTable) item(t testing.TB, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := r.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(r.name),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get %s/%s: %v", pk, sk, err)
	}
	return out.Item
}
