package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
)

// invoke runs one function's handler in-process against the stack with an event file, the way
// `sam local invoke -e` does without Docker, and prints the response.
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("invoke", stderr)
	var tf targetFlags
	tf.register(fs)
	event := fs.String("event", "", "the event JSON file (see events/)")
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 || *event == "" {
		return errors.New("invoke: want <FunctionLogicalId> --event <file.json>")
	}
	payload, err := os.ReadFile(*event)
	if err != nil {
		return err
	}
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	h, err := t.function(ids[0], stderr)
	if err != nil {
		return err
	}
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		return fmt.Errorf("%s returned an error: %w", ids[0], err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// function builds a function of the template as Lambda would run it, logging to logs.
func (t *target) function(logicalID string, logs io.Writer) (lambda.Handler, error) {
	return local.TemplateFunctions(t.tmpl, t.names, t.cfg, breach.SystemClock(), logs)(logicalID)
}
