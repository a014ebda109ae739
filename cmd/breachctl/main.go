// Command breachctl is the operator and developer CLI of the intake: the local stack (dev), API
// keys, stack outputs, in-process function invocation and the redrive of stream failures. Every
// command talks to the local stack that `make dev` runs unless --stack names a deployed
// CloudFormation stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: breachctl <command> [flags]

commands:
  dev [--addr 127.0.0.1:3000] [--moto-port 4566] [--state .local] [--template template.yaml]
                                          run the whole stack locally (what 'make dev' runs)
  keys create --org <id> --name <legal name> [--siren <siren>] [--country FR]
                                          provision the organisation if new, print a new key
  keys create --regulator <name>          print a new regulator key
  keys revoke <keyid>                     revoke a key (the gateway may still accept it for up to
                                          60 s: its authorizer cache)
  keys rotate <keyid> [--grace 24h]       print a new key for the same principal; the old one
                                          expires after the grace period
  outputs                                 print the stack's Outputs as one JSON object
  invoke <FunctionLogicalId> --event <file.json>
                                          run one function's handler in-process, print its response
  redrive                                 process again the records the on-failure queue names
                                          (the sweep when the stream no longer has them); fails
                                          if any message stays in the queue
  load [--url http://127.0.0.1:3000] [--key KEY | --key-file .local/demo-key] [-n 100] [-c 8]
       [--max-bytes 262144] [--seed 1] [--timeout 5m] [--receipts file.jsonl] [--allow-remote]
                                          send n generated reports with c clients, retrying with the
                                          same Idempotency-Key; print throughput and latency
                                          percentiles; fails if any report is not accepted. Only to
                                          this machine unless --allow-remote
  reconcile [--since 24h|<RFC 3339>] [--until now|<RFC 3339>]
                                          check every version received in the window: archived
                                          with its digest and a retention in force, once, and
                                          alerted; print each discrepancy; fails if there is any
  export --since <2026-11-01|RFC 3339|720h> [--until now|…] --format csv|jsonl [--out file]
         [--with-contacts]                every report version received in the window (each
                                          version, not only the latest: report_id and version
                                          identify it), sorted by received_at, report, version;
                                          jsonl: the stored documents byte for byte (contact
                                          details included: needs --with-contacts); csv: fixed
                                          columns, escaped against formula injection, reporter
                                          contacts only with --with-contacts. Default stdout
  submit <report.json> [--url http://127.0.0.1:3000] [--key KEY | $BREACH_API_KEY | --key-file .local/demo-key]
         [--out receipt.json] [--idempotency-key KEY]
                                          file a report with the Go client, print its receipt and
                                          save it (default receipt-<id>-v<n>.json) for verification
  audit verify                            check every audit chain and anchor; print each chain's
                                          first broken link; fails if any
  audit anchor                            anchor every chain's head now in the archive (local stack)
  receipt verify <receipt.json> [--public-key keys.pem | --url http://127.0.0.1:3000]
                                          check a receipt's signature, offline with --public-key (no
                                          network, no AWS), else with the keys the API publishes;
                                          say what it proves. Exit 0 verified, 1 usage or I/O,
                                          2 not verified

Every command but dev and load takes --stack <name> to work on a deployed stack with the ambient
AWS credentials; without it, the local stack (endpoint http://127.0.0.1:4566 or AWS_ENDPOINT_URL).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "breachctl:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode is a failed command's exit status: 2, unless the command chose its own (receipt
// verify: 1 for usage and I/O, 2 for a receipt that does not verify).
func exitCode(err error) int {
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return 2
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dev":
		return dev(ctx, rest, stdout, stderr)
	case "keys":
		return keys(ctx, rest, stdout, stderr)
	case "outputs":
		return outputs(ctx, rest, stdout, stderr)
	case "invoke":
		return invoke(ctx, rest, stdout, stderr)
	case "redrive":
		return redrive(ctx, rest, stdout, stderr)
	case "load":
		return load(ctx, rest, stdout, stderr)
	case "reconcile":
		return reconcileCommand(ctx, rest, stdout, stderr)
	case "export":
		return exportCommand(ctx, rest, stdout, stderr)
	case "submit":
		return submit(ctx, rest, stdout, stderr)
	case "audit":
		return auditCommand(ctx, rest, stdout, stderr)
	case "receipt":
		return receiptCommand(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// newFlags is a flag set that reports errors instead of exiting, with the usage on stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags placed before or after positional arguments (flag stops at the first one).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
