package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server is a local AWS endpoint process: moto_server (DynamoDB, S3, SNS, SQS, KMS) or
// DynamoDB Local.
type Server struct {
	name     string
	cmd      *exec.Cmd
	endpoint string
	exited   chan struct{} // closed when the process has ended
	output   *tailBuffer   // its last output, for the error when it fails to start
}

// StartMoto runs moto_server on 127.0.0.1 at port (0 picks a free one) and waits until it answers.
// A missing moto_server is an error, never a reason to skip: the integration tests depend on it.
func StartMoto(ctx context.Context, port int) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH (it ships with the Python package moto[server]): %w", err)
	}
	return startServer(ctx, "moto_server", port, "/moto-api/", func(port string) *exec.Cmd {
		return exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	})
}

// startServer runs the command that command builds for a port and waits until GET readyPath
// answers 200 (any answer, for an empty readyPath).
func startServer(ctx context.Context, name string, port int, readyPath string, command func(port string) *exec.Cmd) (*Server, error) {
	var err error
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	} else if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		// Another server (another make dev?) would answer our readiness check: refuse instead.
		return nil, fmt.Errorf("%s: port %d is in use (another make dev? to use that endpoint, set AWS_ENDPOINT_URL=http://127.0.0.1:%d): %w", name, port, port, err)
	} else {
		l.Close()
	}
	cmd := command(strconv.Itoa(port))
	// Its own process group, so stopping it also stops any worker it forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	m := &Server{name: name, cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{}), output: out}
	go func() { _ = cmd.Wait(); close(m.exited) }()
	if err := m.waitReady(ctx, readyPath, 30*time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Endpoint is the URL to put in AWS_ENDPOINT_URL.
func (m *Server) Endpoint() string { return m.endpoint }

// Stop ends the server's process group and waits for it.
func (m *Server) Stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.exited
	}
}

// waitReady polls the server until it answers, failing at once if the process ends.
func (m *Server) waitReady(ctx context.Context, readyPath string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+readyPath, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || readyPath == "" {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("%s exited before it was ready:\n%s", m.name, m.output)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %s:\n%s", m.name, m.endpoint, timeout, m.output)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tailBuffer keeps the last 4 KiB written to it: moto's start-up output, without growing for as
// long as the server runs.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 4096; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
