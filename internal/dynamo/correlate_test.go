package dynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
)

func TestCorrelationsContract(t *testing.T) {
	table := freshTables(t)
	breachtest.CorrelationsContract(t, func(t *testing.T) breach.Correlations { return dynamo.New(table(t)) })
}

// TestConcurrentJoins: reports joining one processor's group at once each join exactly once,
// read-and-retry, and the group counts them all; members expire twice the window after naming.
func TestConcurrentJoins(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	const siren = "443061841"
	named := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			m := breach.CorrelatedReport{ReportID: breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAAAJ%02d", i)), Version: 1,
				OrgID: breach.OrgID(fmt.Sprintf("org-%d", i)), Regimes: []breach.Regime{breach.GDPR}, Severity: breach.Low, NamedAt: named}
			for {
				g, err := s.ProcessorGroup(ctx, siren)
				if err != nil {
					t.Error(err)
					return
				}
				err = s.JoinProcessorGroup(ctx, siren, g.Seq, m, nil)
				if breach.ErrorCode(err) == breach.VersionConflict {
					continue
				}
				if err != nil {
					t.Error(err)
				}
				return
			}
		})
	}
	wg.Wait()
	g, err := s.ProcessorGroup(ctx, siren)
	if err != nil || g.Seq != 6 || len(g.Members) != 6 {
		t.Fatalf("group = %+v, %v; want 6 members at 6", g, err)
	}
	item := raw.item(t, "PROCESSOR#"+siren, "MEMBER#01JAAAAAAAAAAAAAAAAAAAAJ00")
	if n, ok := item["expires_at"].(*types.AttributeValueMemberN); !ok || n.Value != strconv.FormatInt(named.Add(2*breach.CorrelationWindow).Unix(), 10) {
		t.Fatalf("expires_at = %#v, want 60 days after naming", item["expires_at"])
	}
	if item := raw.item(t, "PROCESSOR#"+siren, "GROUP"); item["item_type"].(*types.AttributeValueMemberS).Value != "processor_group" {
		t.Fatalf("group item = %#v", item)
	}
}
