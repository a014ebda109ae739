package local

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/anchor"
	"github.com/breach-intake/intake/internal/app/fanout"
	"github.com/breach-intake/intake/internal/app/reads"
	"github.com/breach-intake/intake/internal/app/submit"
	"github.com/breach-intake/intake/internal/app/watch"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// FunctionEnv is the environment the template gives a function: Globals.Function's
// Environment.Variables, overridden by the function's own, each value resolved with names
// (LogicalId → what its Ref returns, as CreateResources answers). Lambda adds its own variables
// (AWS_REGION, credentials…); those come from the local AWS config, not from here.
func FunctionEnv(t *Template, logicalID string, names map[string]string) (map[string]string, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("%s is not an AWS::Serverless::Function of the template", logicalID)
	}
	env := map[string]string{}
	for _, vars := range []map[string]any{
		environmentVariables(mapping(t.Globals["Function"])),
		environmentVariables(r.Properties),
	} {
		// Sorted, so that a template with two faults always reports the same one first.
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			v, err := t.Resolve(vars[name], names, nil)
			if err != nil {
				return nil, fmt.Errorf("%s environment variable %s: %w", logicalID, name, err)
			}
			env[name] = v
		}
	}
	return env, nil
}

// environmentVariables reads Environment.Variables of a function's properties (or of Globals.Function).
func environmentVariables(props map[string]any) map[string]any {
	return mapping(mapping(props["Environment"])["Variables"])
}

// TemplateFunctions builds the template's functions as Lambda runs them: each with the
// environment the template gives it and the logger its LOG_LEVEL asks for, writing to logs, and
// its metrics' EMF lines written there too, with the logical id as Service.
func TemplateFunctions(t *Template, names map[string]string, cfg aws.Config, clock breach.Clock, logs io.Writer) Functions {
	return func(logicalID string) (lambda.Handler, error) {
		vars, err := FunctionEnv(t, logicalID, names)
		if err != nil {
			return nil, err
		}
		env := func(name string) string { return vars[name] }
		log, err := app.Logger(logs, env)
		if err != nil {
			return nil, err
		}
		m, err := metrics.New(logs, logicalID, clock)
		if err != nil {
			return nil, err
		}
		return handler(logicalID, app.Runtime{AWS: cfg, Env: env, Log: log, Clock: clock, Metrics: m})
	}
}

// handler builds the function of the template's logical id as the lambda.Handler that
// lambda.Start would run.
func handler(logicalID string, rt app.Runtime) (lambda.Handler, error) {
	switch logicalID {
	case "SubmitReportFunction":
		return submit.SubmitReport(rt)
	case "ReadReportsFunction":
		return reads.ReadReports(rt)
	case "AuthorizeFunction":
		return reflected(app.Authorize(rt))
	case "ProcessReportFunction":
		return reflected(fanout.ProcessReport(rt))
	case "SweepFunction":
		return reflected(fanout.Sweep(rt))
	case "AuditAnchorFunction":
		return reflected(anchor.AuditAnchor(rt))
	case "DeadlineWatchFunction":
		return reflected(watch.DeadlineWatch(rt))
	}
	return nil, fmt.Errorf("no function %q in this build (internal/local/env.go)", logicalID)
}

// reflected wraps a typed handler the way lambda.Start does.
func reflected[H any](h H, err error) (lambda.Handler, error) {
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(h), nil
}
