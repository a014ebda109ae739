package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/local"
)

// sweepFunction is the scheduled function that processes every version whose fan-out is pending.
const sweepFunction = "SweepFunction"

// redrive reads the on-failure queue (the DeadLetterQueueUrl output): each message names records of
// the stream, which are read again and given to the stream's function in-process, batched as the
// poller does; records the stream no longer holds are recovered by running the sweep. A message
// is deleted only once its records are processed; anything failing leaves its message in the
// queue and makes the command fail.
func redrive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("redrive", stderr)
	var tf targetFlags
	tf.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	queueURL := t.outputs["DeadLetterQueueUrl"]
	if queueURL == "" {
		return errors.New("redrive: the stack has no DeadLetterQueueUrl output")
	}
	sources, err := t.tmpl.StreamSources()
	if err != nil {
		return err
	}
	var src *local.StreamSource
	for i, s := range sources {
		if s.OnFailureDestination != "" && t.names[s.OnFailureDestination] == queueURL {
			src = &sources[i]
		}
	}
	if src == nil {
		return fmt.Errorf("redrive: no stream event of the template sends its failures to %s", queueURL)
	}
	// Redriven records are old by definition, and a record failing again must stay in this
	// queue (counted as a failure), not be queued a second time.
	src.MaximumRecordAgeInSeconds = -1
	src.OnFailureDestination = ""
	log := zerolog.New(stderr).With().Timestamp().Logger()
	p, err := t.poller(ctx, *src, stderr, log)
	if err != nil {
		return err
	}
	sweep := func(ctx context.Context) error {
		fn, err := t.function(sweepFunction, stderr)
		if err != nil {
			return err
		}
		_, err = fn.Invoke(ctx, scheduledEvent(sweepFunction, t.cfg.Region, time.Now()))
		return err
	}
	sum, err := local.Redrive(ctx, t.cfg, queueURL, p, sweep, stdout)
	fmt.Fprintf(stdout, "redrive: %d messages, %d records processed, %d failures\n", sum.Messages, sum.Processed, sum.Failures)
	if err != nil {
		return err
	}
	if sum.Failures > 0 {
		return fmt.Errorf("redrive: %d messages failed and stay in the queue", sum.Failures)
	}
	return nil
}
