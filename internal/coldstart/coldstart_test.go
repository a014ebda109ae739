package coldstart_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/coldstart"
)

// functions are the binaries measured, by package directory relative to the module root. bare is
// the baseline: the goal is every function within 1.2× of it.
var functions = []struct{ name, dir string }{
	{"bare", "internal/coldstart/testdata/bare"},
	{"submit-report", "functions/submit-report"},
	{"authorize", "functions/authorize"},
}

// lambdaEnv is what Lambda sets for a function (less AWS_LAMBDA_RUNTIME_API, which FirstPoll
// adds), plus the template's variables, so start-up takes the path it takes in Lambda.
func lambdaEnv(function string) []string {
	return []string{
		"AWS_REGION=eu-west-3",
		"AWS_DEFAULT_REGION=eu-west-3",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=dummy-session-token",
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"_HANDLER=bootstrap",
		"TABLE_NAME=reports",
		"LOG_LEVEL=info",
		"RECEIPT_KEY_ID=1234abcd-12ab-34cd-56ef-1234567890ab",
	}
}

// build builds the function in a temporary directory; dir is relative to the module root, which
// go env GOMOD names wherever the test runs from.
func build(tb testing.TB, dir, goarch string) string {
	tb.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin, err := coldstart.Build(filepath.Join(root, dir), tb.TempDir(), goarch)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// TestFirstPoll proves the harness on every binary: each builds, starts and polls the fake
// Runtime API, and nothing is left running. How long that takes is the benchmark's business.
func TestFirstPoll(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			if _, err := coldstart.FirstPoll(t.Context(), build(t, f.dir, runtime.GOARCH), lambdaEnv(f.name)); err != nil {
				t.Fatal(err)
			}
		})
	}
	// FirstPoll waits for its server's goroutines to end, but the runtime may take a moment to
	// retire them: wait for the count to come back rather than reading it once.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before FirstPoll, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFirstPollExit: a binary that exits instead of polling (here: no AWS_REGION) fails at once,
// with its output, rather than running into the timeout.
func TestFirstPollExit(t *testing.T) {
	_, err := coldstart.FirstPoll(t.Context(), build(t, "functions/submit-report", runtime.GOARCH), []string{"TABLE_NAME=reports"})
	if err == nil || !strings.Contains(err.Error(), "exited before polling") || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("FirstPoll = %v, want an early exit that names AWS_REGION", err)
	}
}

// BenchmarkFirstPoll measures each function's time from process start to first Runtime API poll
// against the bare lambda.Start baseline. Each iteration starts the baseline and then the function,
// so both see the same machine noise; it reports both medians and their ratio (the goal: ≤ 1.2).
//
//	go test -run '^$' -bench FirstPoll ./internal/coldstart
func BenchmarkFirstPoll(b *testing.B) {
	bare := build(b, functions[0].dir, runtime.GOARCH)
	for _, f := range functions[1:] {
		b.Run(f.name, func(b *testing.B) {
			bin := build(b, f.dir, runtime.GOARCH)
			var base, fn []time.Duration
			for b.Loop() {
				for _, run := range []struct {
					bin, name string
					into      *[]time.Duration
				}{{bare, "bare", &base}, {bin, f.name, &fn}} {
					d, err := coldstart.FirstPoll(b.Context(), run.bin, lambdaEnv(run.name))
					if err != nil {
						b.Fatal(err)
					}
					*run.into = append(*run.into, d)
				}
			}
			b.ReportMetric(float64(median(base).Microseconds()), "bare-µs")
			b.ReportMetric(float64(median(fn).Microseconds()), "µs/first-poll")
			b.ReportMetric(float64(median(fn))/float64(median(base)), "x-bare")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkZippedBootstrap reports each function's deployment package size for Lambda
// (linux/arm64, zipped) as bytes/zip (the goal for submit-report: ≤ 3.5 MiB = 3670016 bytes).
func BenchmarkZippedBootstrap(b *testing.B) {
	for _, f := range functions[1:] {
		b.Run(f.name, func(b *testing.B) {
			bin := build(b, f.dir, "arm64")
			var size int64
			for b.Loop() {
				var err error
				if size, err = coldstart.ZippedSize(bin); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "bytes/zip")
			b.ReportMetric(float64(size)/(1<<20), "MiB/zip")
		})
	}
}
