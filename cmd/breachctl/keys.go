package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
)

// keys creates, rotates and revokes API keys. The plaintext key is the only thing on stdout, so
// scripts can capture it; it is shown once and cannot be recovered.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: want create, rotate or revoke")
	}
	fs := newFlags("keys "+args[0], stderr)
	var tf targetFlags
	tf.register(fs)
	switch args[0] {
	case "create":
		var org breach.Organisation
		var orgID, regulator string
		fs.StringVar(&orgID, "org", "", "organisation id (lowercase letters, digits, dashes)")
		fs.StringVar(&org.LegalName, "name", "", "the organisation's legal name")
		fs.StringVar(&org.SIREN, "siren", "", "the organisation's SIREN (9 digits), if it has one")
		fs.StringVar(&org.Country, "country", "FR", "ISO 3166-1 alpha-2 country")
		fs.StringVar(&regulator, "regulator", "", "create a regulator key with this name instead")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		org.ID = breach.OrgID(orgID)
		store, err := openStore(ctx, tf)
		if err != nil {
			return err
		}
		var plaintext string
		switch {
		case regulator != "" && orgID == "":
			plaintext, err = createRegulatorKey(ctx, store, regulator, time.Now())
		case orgID != "" && regulator == "":
			plaintext, err = createOrganisationKey(ctx, store, org, time.Now(), stderr)
		default:
			return errors.New("keys create: give --org (with --name) or --regulator, not both")
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, plaintext)
		return err
	case "revoke":
		ids, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return errors.New("keys revoke: want exactly one key id")
		}
		store, err := openStore(ctx, tf)
		if err != nil {
			return err
		}
		if err := store.RevokeKey(ctx, ids[0], time.Now()); err != nil {
			return fmt.Errorf("revoke %s: %w", ids[0], err)
		}
		fmt.Fprintf(stderr, "key %s revoked; the gateway may accept it until its authorizer cache expires (60 s)\n", ids[0])
		return nil
	case "rotate":
		grace := fs.Duration("grace", 24*time.Hour, "how long the old key keeps working (0: it stops now)")
		ids, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return errors.New("keys rotate: want exactly one key id")
		}
		if *grace < 0 {
			return fmt.Errorf("keys rotate: --grace %s is negative", *grace)
		}
		store, err := openStore(ctx, tf)
		if err != nil {
			return err
		}
		return rotateKey(ctx, store, ids[0], time.Now(), *grace, stdout, stderr)
	default:
		return fmt.Errorf("keys: unknown subcommand %q (want create, rotate or revoke)", args[0])
	}
}

// rotateKey prints a new key for the principal of key id and makes the old one expire after
// grace, so that its holder can switch without an outage. A revoked or expired key is not
// rotated: its principal gets a new key with keys create, deliberately.
func rotateKey(ctx context.Context, store *dynamo.Store, id string, now time.Time, grace time.Duration, stdout, stderr io.Writer) error {
	old, err := store.Key(ctx, id)
	if err != nil {
		return fmt.Errorf("rotate %s: %w", id, err)
	}
	switch {
	case !old.RevokedAt.IsZero():
		return fmt.Errorf("rotate %s: the key is revoked; issue a new one with keys create", id)
	case !old.ExpiresAt.IsZero() && !now.Before(old.ExpiresAt):
		return fmt.Errorf("rotate %s: the key has expired; issue a new one with keys create", id)
	}
	k, plaintext, err := storeKey(ctx, store, auth.Key{Principal: old.Principal, OrgID: old.OrgID, Regulator: old.Regulator, CreatedAt: now})
	if err != nil {
		return err
	}
	// The new key is out before the old one is touched: whatever happens next, its holder has a
	// working key.
	if _, err := fmt.Fprintln(stdout, plaintext); err != nil {
		return err
	}
	until, err := store.ExpireKey(ctx, id, now.Add(grace))
	if err != nil {
		return fmt.Errorf("the new key is printed, but the old key %s still works, without the grace period ending: %w (run keys revoke %s when its holder has switched)", id, err, id)
	}
	kept := ""
	if until.Before(now.Add(grace).Truncate(time.Second)) {
		kept = " (its earlier expiry, kept)"
	}
	fmt.Fprintf(stderr, "new key %s for the same %s; the old key %s expires at %s%s; the gateway may accept it up to 60 s longer (its authorizer cache)\n",
		k.ID, old.Principal, id, until.Format(time.RFC3339), kept)
	return nil
}

func openStore(ctx context.Context, tf targetFlags) (*dynamo.Store, error) {
	t, err := tf.open(ctx)
	if err != nil {
		return nil, err
	}
	table, err := t.table()
	if err != nil {
		return nil, err
	}
	return dynamo.New(dynamodb.NewFromConfig(t.cfg), table), nil
}

// createOrganisationKey provisions org if it is new (refusing different details for an existing
// one) and stores a new key for it.
func createOrganisationKey(ctx context.Context, store *dynamo.Store, org breach.Organisation, now time.Time, stderr io.Writer) (string, error) {
	if org.LegalName == "" {
		return "", errors.New("keys create: --name is required with --org")
	}
	created, err := store.PutOrganisation(ctx, org, now)
	if err != nil {
		return "", err
	}
	if created {
		fmt.Fprintf(stderr, "organisation %s provisioned\n", org.ID)
	}
	_, plaintext, err := storeKey(ctx, store, auth.Key{Principal: auth.PrincipalOrganisation, OrgID: string(org.ID), CreatedAt: now})
	return plaintext, err
}

func createRegulatorKey(ctx context.Context, store *dynamo.Store, name string, now time.Time) (string, error) {
	_, plaintext, err := storeKey(ctx, store, auth.Key{Principal: auth.PrincipalRegulator, Regulator: name, CreatedAt: now})
	return plaintext, err
}

// storeKey draws a key for the principal described by who and stores its hash; it returns the
// key and its plaintext.
func storeKey(ctx context.Context, store *dynamo.Store, who auth.Key) (auth.Key, string, error) {
	k, plaintext, err := auth.NewKey(rand.Reader)
	if err != nil {
		return auth.Key{}, "", err
	}
	k.Principal, k.OrgID, k.Regulator, k.CreatedAt = who.Principal, who.OrgID, who.Regulator, who.CreatedAt.UTC()
	if err := k.Validate(); err != nil {
		return auth.Key{}, "", err
	}
	if err := store.PutKey(ctx, k); err != nil {
		return auth.Key{}, "", err
	}
	return k, plaintext, nil
}
