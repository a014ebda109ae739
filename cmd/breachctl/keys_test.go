package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestKeysRotate runs `breachctl keys` against the local stack's table on a private moto_server.
func TestKeysRotate(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t)) // also AWS_ENDPOINT_URL, which breachctl reads
	tmpl, err := local.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), names["ReportsTable"])

	keysCmd := func(t *testing.T, args ...string) (stdout, stderr string, err error) {
		t.Helper()
		var out, errOut strings.Builder
		err = run(ctx, append(append([]string{"keys"}, args...), "--template", "../../template.yaml"), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	// newKey runs a command that must print one new key, and returns it as stored.
	newKey := func(t *testing.T, args ...string) (auth.Key, string) {
		t.Helper()
		stdout, stderr, err := keysCmd(t, args...)
		if err != nil {
			t.Fatalf("keys %v: %v\n%s", args, err, stderr)
		}
		c, err := auth.ParseKey(strings.TrimSpace(stdout))
		if err != nil {
			t.Fatalf("keys %v printed %q, not one key", args, stdout)
		}
		k, err := store.Key(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return k, stderr
	}
	stored := func(t *testing.T, id string) auth.Key {
		t.Helper()
		k, err := store.Key(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	samePrincipal := func(t *testing.T, a, b auth.Key) {
		t.Helper()
		if a.ID == b.ID || a.Principal != b.Principal || a.OrgID != b.OrgID || a.Regulator != b.Regulator {
			t.Fatalf("rotated %+v into %+v: want a new id for the same principal", a, b)
		}
	}

	org, _ := newKey(t, "create", "--org", "exemple-sa", "--name", "Exemple SA", "--siren", "552100554")
	var rotated auth.Key

	t.Run("a new key for the same organisation; the old one expires after the grace period", func(t *testing.T) {
		before := time.Now()
		var stderr string
		rotated, stderr = newKey(t, "rotate", org.ID, "--grace", "2h")
		after := time.Now()
		samePrincipal(t, org, rotated)
		if !rotated.ExpiresAt.IsZero() {
			t.Errorf("the new key expires at %s", rotated.ExpiresAt)
		}
		end := stored(t, org.ID).ExpiresAt
		if end.Before(before.Add(2*time.Hour).Truncate(time.Second)) || end.After(after.Add(2*time.Hour)) {
			t.Errorf("the old key expires at %s, want 2 h from now", end)
		}
		if !strings.Contains(stderr, org.ID+" expires at "+end.Format(time.RFC3339)) || !strings.Contains(stderr, "60 s") {
			t.Errorf("stderr %q does not say when the old key stops, nor the gateway's cache", stderr)
		}
	})

	t.Run("rotating again never extends the old key's life", func(t *testing.T) {
		end := stored(t, org.ID).ExpiresAt
		again, stderr := newKey(t, "rotate", org.ID, "--grace", "48h")
		samePrincipal(t, org, again)
		if got := stored(t, org.ID).ExpiresAt; !got.Equal(end) {
			t.Errorf("the old key's expiry moved from %s to %s", end, got)
		}
		if !strings.Contains(stderr, "earlier expiry, kept") {
			t.Errorf("stderr %q does not say the earlier expiry is kept", stderr)
		}
	})

	t.Run("a regulator key rotates into a regulator key", func(t *testing.T) {
		reg, _ := newKey(t, "create", "--regulator", "CNIL")
		next, _ := newKey(t, "rotate", reg.ID)
		samePrincipal(t, reg, next)
		if next.Principal != auth.PrincipalRegulator || next.Regulator != "CNIL" {
			t.Fatalf("rotated regulator key: %+v", next)
		}
		// The default grace period is a day.
		if end := stored(t, reg.ID).ExpiresAt; end.Before(time.Now().Add(23*time.Hour)) || end.After(time.Now().Add(24*time.Hour)) {
			t.Errorf("the old regulator key expires at %s, want in 24 h", end)
		}
	})

	t.Run("grace 0 stops the old key now; an expired key is not rotated", func(t *testing.T) {
		next, _ := newKey(t, "rotate", rotated.ID, "--grace", "0")
		samePrincipal(t, rotated, next)
		if end := stored(t, rotated.ID).ExpiresAt; end.After(time.Now()) {
			t.Fatalf("the old key expires at %s, in the future", end)
		}
		if _, _, err := keysCmd(t, "rotate", rotated.ID); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("rotating an expired key: %v", err)
		}
	})

	t.Run("refusals print no key", func(t *testing.T) {
		revoked, _ := newKey(t, "create", "--org", "exemple-sa", "--name", "Exemple SA", "--siren", "552100554")
		if _, _, err := keysCmd(t, "revoke", revoked.ID); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"revoked", []string{"rotate", revoked.ID}, "revoked"},
			{"unknown", []string{"rotate", "0123456789abcdef"}, "not found"},
			{"negative grace", []string{"rotate", org.ID, "--grace", "-1h"}, "negative"},
			{"no id", []string{"rotate"}, "exactly one key id"},
			{"two ids", []string{"rotate", org.ID, revoked.ID}, "exactly one key id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				stdout, _, err := keysCmd(t, tc.args...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want one saying %q", err, tc.want)
				}
				if stdout != "" {
					t.Errorf("printed %q", stdout)
				}
			})
		}
		if _, err := store.Key(ctx, "0123456789abcdef"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("rotating an unknown key created it: %v", err)
		}
	})
}
