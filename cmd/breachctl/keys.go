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

// keys creates and revokes API keys. The plaintext key is the only thing on stdout, so scripts
// can capture it; it is shown once and cannot be recovered.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: want create or revoke")
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
	default:
		return fmt.Errorf("keys: unknown subcommand %q (want create or revoke)", args[0])
	}
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
	return storeKey(ctx, store, auth.Key{Principal: auth.PrincipalOrganisation, OrgID: string(org.ID), CreatedAt: now})
}

func createRegulatorKey(ctx context.Context, store *dynamo.Store, name string, now time.Time) (string, error) {
	return storeKey(ctx, store, auth.Key{Principal: auth.PrincipalRegulator, Regulator: name, CreatedAt: now})
}

// storeKey draws a key for the principal described by who and stores its hash.
func storeKey(ctx context.Context, store *dynamo.Store, who auth.Key) (string, error) {
	k, plaintext, err := auth.NewKey(rand.Reader)
	if err != nil {
		return "", err
	}
	k.Principal, k.OrgID, k.Regulator, k.CreatedAt = who.Principal, who.OrgID, who.Regulator, who.CreatedAt.UTC()
	if err := k.Validate(); err != nil {
		return "", err
	}
	if err := store.PutKey(ctx, k); err != nil {
		return "", err
	}
	return plaintext, nil
}
