package main

import (
	"context"
	"encoding/json"
	"io"
)

// outputs prints the stack's Outputs as one JSON object.
func outputs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("outputs", stderr)
	var tf targetFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(t.outputs)
}
