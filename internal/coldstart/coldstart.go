// Package coldstart measures a Lambda function's cold start on this machine: the time from
// starting its binary to its first poll of the Runtime API, which is when Lambda can hand it an
// invocation. A fake Runtime API on 127.0.0.1 stands in for Lambda's.
package coldstart

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// Timeout bounds one FirstPoll, whatever its ctx: a binary that never polls fails the run instead
// of hanging it.
const Timeout = 10 * time.Second

// nextPath is the Runtime API's long poll for the next invocation (aws-lambda-go's
// runtimeAPIClient.next, API version 2018-06-01).
const nextPath = "/2018-06-01/runtime/invocation/next"

// Build builds the package pkg (as for go build: an import path, or a directory relative to the
// working directory) into outDir/bootstrap for linux/goarch with the Makefile's production flags:
// runtime.GOARCH to run it here, arm64 for what Lambda runs.
func Build(pkg, outDir, goarch string) (binPath string, err error) {
	binPath = filepath.Join(outDir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", binPath, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return binPath, nil
}

// ZippedSize is the size of the deployment package of bin: a zip holding it as bootstrap,
// deflated as sam build's packaging does.
func ZippedSize(bin string) (int64, error) {
	f, err := os.Open(bin)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

// FirstPoll starts bin against a fake Runtime API and returns the time from just before the
// process starts to the first GET of the next invocation. The process gets env and
// AWS_LAMBDA_RUNTIME_API and nothing of this process's environment (no AWS_PROFILE, proxy or
// GODEBUG leaking in), as in Lambda. FirstPoll kills the process and stops the fake API before it
// returns; it fails if the process exits before polling or ctx (at most Timeout) ends first.
func FirstPoll(ctx context.Context, bin string, env []string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	polled := make(chan time.Time, 1)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+nextPath, func(w http.ResponseWriter, r *http.Request) {
		select {
		case polled <- time.Now(): // the clock is read first, so request handling is not measured
		default: // only the first poll counts
		}
		// Hold the poll open, as Lambda does while there is no invocation: the function stays
		// parked in next() until it is killed.
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		// Shutdown waits for the held poll's handler and connection to end, so no goroutine
		// outlives FirstPoll.
		close(release)
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-served
	}()

	// The function's log lines, kept to explain a binary that exits instead of polling.
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin) // killed if ctx ends
	cmd.Env = append(slices.Clip(env), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second // don't wait on its output forever if a child keeps it open

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var first time.Time
	select {
	case first = <-polled:
		_ = cmd.Process.Kill() // the poll is all we wanted; an error means it is already gone
		<-exited               // reaps it: no process left behind
	case err := <-exited:
		select {
		case first = <-polled: // polled, then died: the poll still counts
		default:
			return 0, fmt.Errorf("%s exited before polling the Runtime API: %v\n%s", bin, err, out.Bytes())
		}
	case <-ctx.Done():
		<-exited // CommandContext has killed it
		return 0, fmt.Errorf("%s did not poll the Runtime API: %w\n%s", bin, context.Cause(ctx), out.Bytes())
	}
	return first.Sub(start), nil
}
