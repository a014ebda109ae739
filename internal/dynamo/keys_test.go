package dynamo_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

// orgKey draws a key for exemple-sa; edit, when not nil, changes it before it is returned.
func orgKey(t *testing.T, edit func(*auth.Key)) (auth.Key, string) {
	t.Helper()
	k, plaintext, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.Principal, k.OrgID, k.CreatedAt = auth.PrincipalOrganisation, "exemple-sa", t0
	if edit != nil {
		edit(&k)
	}
	return k, plaintext
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)

	t.Run("a stored key reads back as it was put", func(t *testing.T) {
		org, _ := orgKey(t, func(k *auth.Key) { k.ExpiresAt = t0.Add(90 * 24 * time.Hour).Truncate(time.Second) })
		regulator, _ := orgKey(t, func(k *auth.Key) { k.Principal, k.OrgID, k.Regulator = auth.PrincipalRegulator, "", "cnil" })
		for _, want := range []auth.Key{org, regulator} {
			if err := s.PutKey(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.Key(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Key(%s) = %+v, want %+v", want.ID, got, want)
			}
		}
	})

	t.Run("the item holds the hash, never the secret", func(t *testing.T) {
		k, plaintext := orgKey(t, func(k *auth.Key) { k.ExpiresAt = time.Unix(1800000000, 0) })
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		item := raw.item(t, "KEY#"+k.ID, "KEY")
		secret := plaintext[strings.LastIndexByte(plaintext, '_')+1:]
		for name, v := range item {
			if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, secret) {
				t.Errorf("attribute %s holds the secret", name)
			}
		}
		for name, want := range map[string]types.AttributeValue{
			"item_type":  &types.AttributeValueMemberS{Value: "api_key"},
			"key_id":     &types.AttributeValueMemberS{Value: k.ID},
			"principal":  &types.AttributeValueMemberS{Value: "organisation"},
			"org_id":     &types.AttributeValueMemberS{Value: "exemple-sa"},
			"created_at": &types.AttributeValueMemberS{Value: "2026-11-21T10:00:00.123456789Z"},
			"expires_at": &types.AttributeValueMemberN{Value: "1800000000"},
		} {
			if !reflect.DeepEqual(item[name], want) {
				t.Errorf("attribute %s = %#v, want %#v", name, item[name], want)
			}
		}
		for _, absent := range []string{"regulator", "revoked_at"} {
			if _, ok := item[absent]; ok {
				t.Errorf("attribute %s is stored; it should be absent", absent)
			}
		}
	})

	t.Run("an unknown key is not found", func(t *testing.T) {
		if _, err := s.Key(ctx, "0123456789abcdef"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("Key(unknown) error = %v, want auth.ErrNotFound", err)
		}
	})

	t.Run("a key id is never overwritten", func(t *testing.T) {
		k, _ := orgKey(t, nil)
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		other := k
		other.OrgID = "autre-sa"
		if err := s.PutKey(ctx, other); err == nil {
			t.Fatal("PutKey overwrote an existing key")
		}
		if got, _ := s.Key(ctx, k.ID); got.OrgID != "exemple-sa" {
			t.Fatalf("the stored key now belongs to %q", got.OrgID)
		}
	})

	t.Run("an invalid key is refused", func(t *testing.T) {
		k, _ := orgKey(t, func(k *auth.Key) { k.OrgID = "Exemple SA" })
		if err := s.PutKey(ctx, k); err == nil {
			t.Fatal("PutKey stored an organisation key with an invalid org id")
		}
		if item := raw.item(t, "KEY#"+k.ID, "KEY"); item != nil {
			t.Fatal("the invalid key was written")
		}
	})

	t.Run("revoking twice keeps the first time", func(t *testing.T) {
		k, _ := orgKey(t, nil)
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		first := t0.Add(time.Hour)
		for _, at := range []time.Time{first, first.Add(time.Hour)} {
			if err := s.RevokeKey(ctx, k.ID, at); err != nil {
				t.Fatalf("RevokeKey at %s: %v", at, err)
			}
		}
		got, err := s.Key(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.Equal(first) {
			t.Fatalf("RevokedAt = %s, want the first revocation %s", got.RevokedAt, first)
		}
	})

	t.Run("expiring sets the expiry, rounded down to the second", func(t *testing.T) {
		k, _ := orgKey(t, nil)
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(24 * time.Hour) // t0 has a fraction of a second
		until, err := s.ExpireKey(ctx, k.ID, at)
		if want := at.Truncate(time.Second); err != nil || !until.Equal(want) {
			t.Fatalf("ExpireKey = %s, %v; want %s", until, err, want)
		}
		got, err := s.Key(ctx, k.ID)
		if err != nil || !got.ExpiresAt.Equal(until) {
			t.Fatalf("Key after ExpireKey: ExpiresAt %s, %v; want %s", got.ExpiresAt, err, until)
		}
		if n, ok := raw.item(t, "KEY#"+k.ID, "KEY")["expires_at"].(*types.AttributeValueMemberN); !ok || n.Value != fmt.Sprint(until.Unix()) {
			t.Fatalf("expires_at = %#v, want the number %d (the table's TTL attribute)", n, until.Unix())
		}
		got.ExpiresAt = k.ExpiresAt
		if !reflect.DeepEqual(got, k) {
			t.Errorf("ExpireKey changed more than the expiry: %+v, was %+v", got, k)
		}
	})

	t.Run("an earlier expiry is kept, a later one shortened", func(t *testing.T) {
		early := t0.Add(time.Hour).Truncate(time.Second)
		k, _ := orgKey(t, func(k *auth.Key) { k.ExpiresAt = early })
		if err := s.PutKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{early.Add(24 * time.Hour), early} {
			if until, err := s.ExpireKey(ctx, k.ID, at); err != nil || !until.Equal(early) {
				t.Fatalf("ExpireKey at %s = %s, %v; want the earlier %s kept", at, until, err, early)
			}
		}
		sooner := early.Add(-30 * time.Minute)
		if until, err := s.ExpireKey(ctx, k.ID, sooner); err != nil || !until.Equal(sooner) {
			t.Fatalf("ExpireKey sooner = %s, %v; want %s", until, err, sooner)
		}
		if got, _ := s.Key(ctx, k.ID); !got.ExpiresAt.Equal(sooner) {
			t.Fatalf("ExpiresAt = %s, want %s", got.ExpiresAt, sooner)
		}
	})

	t.Run("expiring an unknown key is not found and creates nothing", func(t *testing.T) {
		const id = "0a1b2c3d4e5f6a7b"
		if _, err := s.ExpireKey(ctx, id, t0); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("ExpireKey(unknown) error = %v, want auth.ErrNotFound", err)
		}
		if item := raw.item(t, "KEY#"+id, "KEY"); item != nil {
			t.Fatalf("expiring an unknown key wrote %v", item)
		}
	})

	t.Run("revoking an unknown key is not found and creates nothing", func(t *testing.T) {
		const id = "fedcba9876543210"
		if err := s.RevokeKey(ctx, id, t0); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("RevokeKey(unknown) error = %v, want auth.ErrNotFound", err)
		}
		if item := raw.item(t, "KEY#"+id, "KEY"); item != nil {
			t.Fatalf("revoking an unknown key wrote %v", item)
		}
	})
}

func TestOrganisations(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	exemple := breach.Organisation{ID: "exemple-sa", LegalName: "Exemple SA", SIREN: "552100554", Country: "FR"}

	t.Run("a new organisation is created and reads back", func(t *testing.T) {
		created, err := s.PutOrganisation(ctx, exemple, t0)
		if err != nil || !created {
			t.Fatalf("PutOrganisation = %v, %v; want created", created, err)
		}
		got, err := s.Organisation(ctx, exemple.ID)
		if err != nil || got != exemple {
			t.Fatalf("Organisation = %+v, %v; want %+v", got, err, exemple)
		}
		item := raw.item(t, "ORG#exemple-sa", "ORG")
		if it, ok := item["item_type"].(*types.AttributeValueMemberS); !ok || it.Value != "organisation" {
			t.Errorf("item_type = %#v, want organisation", item["item_type"])
		}
		if ca, ok := item["created_at"].(*types.AttributeValueMemberS); !ok || ca.Value != "2026-11-21T10:00:00.123456789Z" {
			t.Errorf("created_at = %#v", item["created_at"])
		}
	})

	t.Run("provisioning again with the same values changes nothing", func(t *testing.T) {
		created, err := s.PutOrganisation(ctx, exemple, t0.Add(time.Hour))
		if err != nil || created {
			t.Fatalf("PutOrganisation again = %v, %v; want not created, no error", created, err)
		}
		if ca := raw.item(t, "ORG#exemple-sa", "ORG")["created_at"].(*types.AttributeValueMemberS); ca.Value != "2026-11-21T10:00:00.123456789Z" {
			t.Errorf("created_at moved to %s", ca.Value)
		}
	})

	t.Run("provisioning again with other values is refused, naming them", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(*breach.Organisation)
			want string
		}{
			{"other SIREN", func(o *breach.Organisation) { o.SIREN = "732829320" }, "another SIREN"},
			{"SIREN dropped", func(o *breach.Organisation) { o.SIREN = "" }, "another SIREN"},
			{"other name and country", func(o *breach.Organisation) { o.LegalName, o.Country = "Exemple GmbH", "DE" }, "another legal name, country"},
		} {
			o := exemple
			tc.edit(&o)
			created, err := s.PutOrganisation(ctx, o, t0)
			if err == nil || created || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: PutOrganisation = %v, %v; want an error saying %q", tc.name, created, err, tc.want)
			}
		}
		if got, _ := s.Organisation(ctx, exemple.ID); got != exemple {
			t.Fatalf("the stored organisation changed to %+v", got)
		}
	})

	t.Run("an organisation without SIREN stores none", func(t *testing.T) {
		o := breach.Organisation{ID: "asso-sans-siren", LegalName: "Association", Country: "BE"}
		if _, err := s.PutOrganisation(ctx, o, t0); err != nil {
			t.Fatal(err)
		}
		if _, ok := raw.item(t, "ORG#asso-sans-siren", "ORG")["siren"]; ok {
			t.Error("an empty siren attribute is stored")
		}
		if got, err := s.Organisation(ctx, o.ID); err != nil || got != o {
			t.Fatalf("Organisation = %+v, %v; want %+v", got, err, o)
		}
	})

	t.Run("an unknown organisation is not found", func(t *testing.T) {
		if _, err := s.Organisation(ctx, "inconnue"); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("Organisation(unknown) error = %v, want not_found", err)
		}
	})

	t.Run("an invalid organisation is refused before any write", func(t *testing.T) {
		for _, o := range []breach.Organisation{
			{ID: "Exemple_SA", LegalName: "Exemple SA", Country: "FR"},
			{ID: "x", LegalName: "Exemple SA", Country: "FR"},
			{ID: "vide", LegalName: "  ", Country: "FR"},
			{ID: "mauvais-siren", LegalName: "Exemple SA", SIREN: "55210055", Country: "FR"},
			{ID: "mauvais-pays", LegalName: "Exemple SA", Country: "fr"},
		} {
			if _, err := s.PutOrganisation(ctx, o, t0); err == nil {
				t.Errorf("PutOrganisation(%+v) accepted it", o)
			}
			if item := raw.item(t, "ORG#"+string(o.ID), "ORG"); item != nil {
				t.Errorf("%s was written", o.ID)
			}
		}
	})
}

// TestAuthorizerOverDynamoDB runs the authorizer on the real adapter: what the authorize function
// does in Lambda, minus the runtime.
func TestAuthorizerOverDynamoDB(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	now := t0
	a := auth.NewAuthorizer(s, func() time.Time { return now }, zerolog.Nop())
	handle := func(t *testing.T, header string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		t.Helper()
		resp, err := a.Handle(ctx, events.APIGatewayV2CustomAuthorizerV2Request{IdentitySource: []string{header}})
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return resp
	}

	k, plaintext := orgKey(t, func(k *auth.Key) { k.ExpiresAt = t0.Add(24 * time.Hour) })
	if err := s.PutKey(ctx, k); err != nil {
		t.Fatal(err)
	}

	t.Run("a fresh key is allowed as its organisation", func(t *testing.T) {
		want := map[string]any{"principal": "organisation", "org_id": "exemple-sa", "key_id": k.ID}
		if resp := handle(t, "Bearer "+plaintext); !resp.IsAuthorized || !reflect.DeepEqual(resp.Context, want) {
			t.Fatalf("Handle = %+v, want allowed with %v", resp, want)
		}
	})

	t.Run("a wrong secret is denied", func(t *testing.T) {
		_, other := orgKey(t, nil)
		guess := plaintext[:len("bik_")+16+1] + other[len("bik_")+16+1:]
		if resp := handle(t, "Bearer "+guess); resp.IsAuthorized {
			t.Fatal("a wrong secret was allowed")
		}
	})

	t.Run("an expired key is denied", func(t *testing.T) {
		now = k.ExpiresAt
		t.Cleanup(func() { now = t0 })
		if resp := handle(t, "Bearer "+plaintext); resp.IsAuthorized {
			t.Fatal("an expired key was allowed")
		}
	})

	t.Run("a rotated key works through its grace period, not after", func(t *testing.T) {
		old, plain := orgKey(t, nil)
		if err := s.PutKey(ctx, old); err != nil {
			t.Fatal(err)
		}
		end, err := s.ExpireKey(ctx, old.ID, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { now = t0 })
		for _, tc := range []struct {
			at    time.Time
			allow bool
		}{{end.Add(-time.Second), true}, {end, false}} {
			now = tc.at
			if resp := handle(t, "Bearer "+plain); resp.IsAuthorized != tc.allow {
				t.Errorf("at %s (grace ends %s): allowed = %v", tc.at, end, resp.IsAuthorized)
			}
		}
	})

	t.Run("a revoked key is denied", func(t *testing.T) {
		if err := s.RevokeKey(ctx, k.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if resp := handle(t, "Bearer "+plaintext); resp.IsAuthorized {
			t.Fatal("a revoked key was allowed")
		}
	})

	t.Run("a failing table is an error, never an allow", func(t *testing.T) {
		broken := auth.NewAuthorizer(dynamo.New(raw.db, "no-such-table"), func() time.Time { return now }, zerolog.Nop())
		resp, err := broken.Handle(ctx, events.APIGatewayV2CustomAuthorizerV2Request{IdentitySource: []string{"Bearer " + plaintext}})
		if err == nil || resp.IsAuthorized {
			t.Fatalf("Handle = %+v, %v; want an error and no allow", resp, err)
		}
	})
}
