package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/anchor"
	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
)

// auditAnchorFunction is the scheduled function that writes an anchor of every chain's head.
const auditAnchorFunction = "AuditAnchorFunction"

// auditCommand checks the audit trail (verify) or anchors it now (anchor).
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("audit: want verify or anchor")
	}
	fs := newFlags("audit "+args[0], stderr)
	var tf targetFlags
	tf.register(fs)
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("audit %s: unexpected argument %q", args[0], rest[0])
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, tf, stdout)
	case "anchor":
		return auditAnchor(ctx, tf, stdout, stderr)
	default:
		return fmt.Errorf("audit: unknown subcommand %q (want verify or anchor)", args[0])
	}
}

// auditVerify walks every chain and every anchor. Each broken chain's first broken link is
// printed on stdout, one line each, then a summary; any broken link fails the command.
func auditVerify(ctx context.Context, tf targetFlags, stdout io.Writer) error {
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	table, err := t.table()
	if err != nil {
		return err
	}
	anchors, err := t.archiveReader()
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	store := dynamo.NewAuditStore(dynamodb.NewFromConfig(t.cfg), table)
	r, err := audit.Verify(ctx, store, anchors)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	for _, b := range r.Broken {
		fmt.Fprintln(stdout, b)
	}
	verdict := "every chain intact"
	if !r.OK() {
		verdict = fmt.Sprintf("%d broken", len(r.Broken))
	}
	fmt.Fprintf(stdout, "audit verify: %d chains, %d entries, %d anchors (%d heads): %s\n",
		r.Chains, r.Entries, r.Anchors, r.Heads, verdict)
	if !r.OK() {
		return fmt.Errorf("audit verify: %d of %d chains broken", len(r.Broken), r.Chains)
	}
	return nil
}

// auditAnchor anchors every chain's head now, as the local stack's AuditAnchorFunction does on
// its schedule, with the environment the template gives it. A deployed stack's function is left
// to its schedule (or `aws lambda invoke`): run from here, it would take its lock mode and
// retention from the template's defaults, not from the stack's parameters.
func auditAnchor(ctx context.Context, tf targetFlags, stdout, stderr io.Writer) error {
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	if tf.stack != "" {
		return fmt.Errorf("audit anchor: on a deployed stack, invoke its function: aws lambda invoke --function-name %s out.json",
			t.names[auditAnchorFunction])
	}
	vars, err := local.FunctionEnv(t.tmpl, auditAnchorFunction, t.names)
	if err != nil {
		return err
	}
	env := func(name string) string { return vars[name] }
	log, err := app.Logger(stderr, env)
	if err != nil {
		return err
	}
	write, err := anchor.NewWriter(app.Runtime{AWS: t.cfg, Env: env, Log: log, Clock: breach.SystemClock()})
	if err != nil {
		return fmt.Errorf("audit anchor: %w", err)
	}
	a, err := write(ctx)
	if err != nil {
		return fmt.Errorf("audit anchor: %w", err)
	}
	var entries int64
	for _, h := range a.Heads {
		entries += h.Seq
	}
	_, err = fmt.Fprintf(stdout, "audit anchor: %s: %d chains, %d entries\n", archive.AnchorKey(a.At), len(a.Heads), entries)
	return err
}
