package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Moto is a moto_server process: one local endpoint for DynamoDB, S3, SNS, SQS and KMS.
type Moto struct {
	cmd      *exec.Cmd
	endpoint string
}

// StartMoto runs moto_server on 127.0.0.1 at port (0 picks a free one) and waits until it answers.
// A missing moto_server is an error, never a reason to skip: the integration tests depend on it.
func StartMoto(ctx context.Context, port int) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH (it ships with the Python package moto[server]): %w", err)
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// Its own process group, so stopping it also stops any worker it forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := waitReady(ctx, m.endpoint, 30*time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Endpoint is the URL to put in AWS_ENDPOINT_URL.
func (m *Moto) Endpoint() string { return m.endpoint }

// Stop ends the moto_server process group and waits for it.
func (m *Moto) Stop() {
	if m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// waitReady polls moto's management API until it answers or the timeout passes.
func waitReady(ctx context.Context, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("local AWS endpoint %s not ready after %s", endpoint, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
