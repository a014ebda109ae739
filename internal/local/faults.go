package local

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Faults makes a chosen fraction of the local functions' AWS calls fail, so that their retry
// paths run for real: `BREACH_FAULTS=… make dev` or `breachctl dev --faults …`.
//
// A spec is a comma-separated list of rules:
//
//	<service>.<Operation>=<fraction>[:<mode>]   one operation: s3.PutObject=0.1
//	<service>=<fraction>[:<mode>]               every operation of a service: dynamodb=0.1:before
//
// Services are s3, sns, dynamodb and sqs; an Operation is named as the SDK client's method is
// (PutObject, Publish, PutItem, TransactWriteItems…). A rule for an operation wins over its
// service's rule. Modes:
//
//	after    (default) the call is made and takes effect, then its response is lost: the caller
//	         gets a connection error. The nastiest case: the caller cannot tell it from "not done".
//	before   the call is not made; the caller gets a connection error.
//	timeout  the call is made and takes effect, then the caller waits until its context's
//	         deadline or FaultTimeout, whichever comes first, and gets a timeout.
//
// Faults are drawn per attempt, inside the SDK's retry loop, and look to the SDK like the
// transport failures they stand for: its retryer retries them as it would in AWS (3 attempts by
// default, backoff from 50 ms, within its retry quota). So an `after` fault makes the call take
// effect twice (a conditional write then fails its condition; SNS publishes the message twice;
// a TransactWriteItems retry is idempotent in AWS through the ClientRequestToken the SDK fills in,
// but moto ignores the token and cancels it), and a caller sees an error only when every attempt
// of a call fails (fraction³ with the default retryer) or its context ends first; fraction 1 makes
// every call fail. Counts tells how many faults were injected, per operation.
//
// Decisions come from one math/rand generator seeded by ParseFaults's seed, behind a mutex: the
// same calls in the same order get the same faults. A Faults is safe for concurrent use.
type Faults struct {
	rules []faultRule

	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]int // by "service.Operation"
}

// FaultTimeout is how long a `timeout` fault keeps a caller without a context deadline waiting:
// about what a client without its own deadline would wait for a lost response before giving up.
const FaultTimeout = 2 * time.Second

// The modes of a rule.
const (
	modeAfter   = "after"
	modeBefore  = "before"
	modeTimeout = "timeout"
)

// faultRule is one rule of a spec; operation "" is every operation of the service.
type faultRule struct {
	service, operation string
	fraction           float64
	mode               string
}

func (r faultRule) String() string {
	key := r.service
	if r.operation != "" {
		key += "." + r.operation
	}
	return key + "=" + strconv.FormatFloat(r.fraction, 'g', -1, 64) + ":" + r.mode
}

// faultClients are the clients whose calls can fail, by the name a rule gives their service: a
// rule's operation must be one of the client's operation methods, so that a misspelt operation is
// an error rather than a rule that never fires.
var faultClients = map[string]reflect.Type{
	"s3":       reflect.TypeFor[*s3.Client](),
	"sns":      reflect.TypeFor[*sns.Client](),
	"dynamodb": reflect.TypeFor[*dynamodb.Client](),
	"sqs":      reflect.TypeFor[*sqs.Client](),
}

// ParseFaults reads a spec (see Faults); "" is no faults. Any malformed rule is an error that names
// it: a typo must not silently run the stack without the faults asked for.
func ParseFaults(spec string, seed int64) (*Faults, error) {
	f := &Faults{rng: rand.New(rand.NewPCG(uint64(seed), 0)), counts: map[string]int{}}
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for text := range strings.SplitSeq(spec, ",") {
		text = strings.TrimSpace(text)
		r, err := parseFaultRule(text)
		if err != nil {
			return nil, fmt.Errorf("fault rule %q: %w", text, err)
		}
		key := r.service + "." + r.operation
		if seen[key] {
			return nil, fmt.Errorf("fault rule %q: %s has another rule", text, strings.TrimSuffix(key, "."))
		}
		seen[key] = true
		f.rules = append(f.rules, r)
	}
	return f, nil
}

func parseFaultRule(text string) (faultRule, error) {
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		return faultRule{}, fmt.Errorf("want <service>[.<Operation>]=<fraction>[:<mode>]")
	}
	var r faultRule
	r.service, r.operation, _ = strings.Cut(key, ".")
	client, ok := faultClients[r.service]
	if !ok {
		return r, fmt.Errorf("unknown service %q (want one of %s)", r.service, strings.Join(slices.Sorted(maps.Keys(faultClients)), ", "))
	}
	if _, dotted := strings.CutPrefix(key, r.service+"."); dotted && !isOperation(client, r.operation) {
		return r, fmt.Errorf("%s has no operation %q", r.service, r.operation)
	}
	fraction, mode, hasMode := strings.Cut(value, ":")
	p, err := strconv.ParseFloat(fraction, 64)
	if err != nil || !(p >= 0 && p <= 1) { // NaN fails both
		return r, fmt.Errorf("fraction %q is not a number from 0 to 1", fraction)
	}
	r.fraction, r.mode = p, modeAfter
	if hasMode {
		switch mode {
		case modeAfter, modeBefore, modeTimeout:
			r.mode = mode
		default:
			return r, fmt.Errorf("unknown mode %q (want after, before or timeout)", mode)
		}
	}
	return r, nil
}

// isOperation reports whether the client type has an operation method of that name: one taking a
// context first (which leaves out Options and the like).
func isOperation(client reflect.Type, name string) bool {
	m, ok := client.MethodByName(name)
	return ok && m.Type.NumIn() >= 3 && m.Type.In(1) == reflect.TypeFor[context.Context]()
}

// String is the active rules, canonical (mode spelt out), in the spec's order; "" when none.
func (f *Faults) String() string {
	if f == nil {
		return ""
	}
	s := make([]string, len(f.rules))
	for i, r := range f.rules {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// Apply returns a copy of cfg whose clients inject the faults; cfg itself is left as it is, for
// the clients that must not fail (the stack's setup, its stream reads, the CLI). Apply a Faults
// to a config once: the middleware has one id per stack.
func (f *Faults) Apply(cfg aws.Config) aws.Config {
	out := cfg.Copy()
	if f == nil || len(f.rules) == 0 {
		return out
	}
	// Clipped, so that appending never writes into cfg's own backing array.
	out.APIOptions = append(slices.Clip(cfg.APIOptions), f.addMiddleware)
	return out
}

// Counts is the number of faults injected so far, by "service.Operation" (attempts, not calls).
func (f *Faults) Counts() map[string]int {
	if f == nil {
		return map[string]int{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

// addMiddleware puts the fault at the end of the Finalize step: after the retry middleware, so
// that each attempt draws its own fault and the retryer sees it, and after signing, right before
// the request is sent.
func (f *Faults) addMiddleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("BreachFaults", f.handle), middleware.After)
}

func (f *Faults) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	service, operation := strings.ToLower(middleware.GetServiceID(ctx)), middleware.GetOperationName(ctx)
	mode, ok := f.draw(service, operation)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	fault := &FaultError{Operation: service + "." + operation, Mode: mode}
	if mode == modeBefore {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithyhttp.RequestSendError{Err: fault}
	}
	// The call is made and takes effect; whatever it answered, the caller never sees it.
	_, metadata, _ := next.HandleFinalize(ctx, in)
	if mode == modeTimeout {
		wait := time.NewTimer(FaultTimeout)
		defer wait.Stop()
		select {
		case <-wait.C:
		case <-ctx.Done():
			// What the SDK's HTTP client answers when the context ends during a call: not retried.
			return middleware.FinalizeOutput{}, metadata, &smithy.CanceledError{Err: fmt.Errorf("%w: %w", fault, ctx.Err())}
		}
	}
	// smithyhttp.RequestSendError is how the SDK wraps a transport failure: a retryable
	// connection error to its retryer.
	return middleware.FinalizeOutput{}, metadata, &smithyhttp.RequestSendError{Err: fault}
}

// draw decides whether this attempt of service.operation fails, and how. Only calls that a rule
// covers draw from the generator, so that other calls do not shift the sequence.
func (f *Faults) draw(service, operation string) (mode string, fail bool) {
	var rule *faultRule
	for i, r := range f.rules {
		if r.service != service || (r.operation != "" && r.operation != operation) {
			continue
		}
		if rule == nil || r.operation != "" { // an operation's rule wins over its service's
			rule = &f.rules[i]
		}
	}
	if rule == nil || rule.fraction == 0 {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= rule.fraction {
		return "", false
	}
	f.counts[service+"."+operation]++
	return rule.mode, true
}

// FaultError is an injected fault, as a caller finds it (errors.As) inside the SDK's error.
type FaultError struct {
	Operation string // "dynamodb.PutItem"
	Mode      string // "after", "before" or "timeout"
}

func (e *FaultError) Error() string {
	switch e.Mode {
	case modeBefore:
		return "injected fault: " + e.Operation + " was not sent"
	case modeTimeout:
		return "injected fault: " + e.Operation + " took effect, then timed out awaiting its response"
	}
	return "injected fault: " + e.Operation + " took effect, then its response was lost"
}

// Timeout makes a `timeout` fault a net.Error-style timeout, as a client timeout is.
func (e *FaultError) Timeout() bool { return e.Mode == modeTimeout }
