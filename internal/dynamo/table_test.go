package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
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

// createTable creates the template's ReportsTable (keys, indexes, stream, TTL) as name.
func createTable(t testing.TB, db *dynamodb.Client, name string) {
	t.Helper()
	tpl, err := local.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := local.CreateTable(context.Background(), db, tpl, "ReportsTable", name); err != nil {
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
