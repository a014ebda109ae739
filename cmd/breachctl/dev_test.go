package main_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/local"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDevAsANewUser does what the README tells a newcomer: run the dev stack, paste the curl,
// then use every breachctl command against the stack it started.
func TestDevAsANewUser(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "breachctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build breachctl: %v\n%s", err, out)
	}
	apiAddr, motoAddr := freeAddr(t), freeAddr(t)
	_, motoPort, _ := net.SplitHostPort(motoAddr)
	state := filepath.Join(dir, "state")

	dev := exec.Command(bin, "dev", "--template", "../../template.yaml", "--addr", apiAddr, "--moto-port", motoPort, "--state", state)
	dev.Env = withoutEndpoint(os.Environ())
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := dev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	dev.Stderr = &stderr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
	})

	banner, lines := readBanner(t, stdout, exited, &stderr)
	key := regexp.MustCompile(`export BREACH_KEY=(bik_\S+)`).FindStringSubmatch(banner)
	if key == nil {
		t.Fatalf("no key in the banner:\n%s", banner)
	}

	t.Run("the banner's curl works when pasted", func(t *testing.T) {
		curl := banner[strings.Index(banner, "curl ") : strings.Index(banner, "\nEOF\n")+len("\nEOF\n")]
		receipt := runShell(t, curl, "BREACH_KEY="+key[1])
		checkStored(t, motoAddr, receipt)
		// The stream consumer archives and alerts it: the alert is printed as one line.
		deadline := time.After(30 * time.Second)
		for {
			select {
			case line := <-lines:
				if strings.HasPrefix(line, "alert ") && strings.Contains(line, fmt.Sprint(receipt["id"])) {
					return
				}
			case <-deadline:
				t.Fatalf("no alert line for %v within 30 s", receipt["id"])
			}
		}
	})
	t.Run("the README's curl works when pasted", func(t *testing.T) {
		readme, err := os.ReadFile("../../README.md")
		if err != nil {
			t.Fatal(err)
		}
		block := regexp.MustCompile("(?s)## Try it.*?```sh\n(.*?)```").FindSubmatch(readme)
		if block == nil {
			t.Fatal("README has no '## Try it' sh block")
		}
		script := strings.NewReplacer("127.0.0.1:3000", apiAddr, ".local/demo-key", filepath.Join(state, "demo-key")).Replace(string(block[1]))
		checkStored(t, motoAddr, runShell(t, script))
	})
	t.Run("the API reference and its spec are served", func(t *testing.T) {
		for path, want := range map[string]string{"/v1/docs": "/v1/reports/{id}/supplements", "/v1/docs/openapi.yaml": "openapi: 3.1"} {
			resp, err := http.Get("http://" + apiAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(html.UnescapeString(string(b)), want) {
				t.Fatalf("GET %s: %d, no %q in %.200s", path, resp.StatusCode, want, b)
			}
		}
	})
	// The README's sections of commands for a running stack, each run as pasted at the
	// repository root, and what their output must show.
	for _, tc := range []struct {
		section string
		want    []string
	}{
		// A receipt for the report and one for its supplement, the report's views, a regulator's
		// read, an anchor and an intact audit trail.
		{"## Read, supplement, audit", []string{`"version":1,"status":"received"`, `"version":2,"status":"received","received_at"`,
			`"stage":"supplementary"`, `{"id":"`, "audit anchor: anchors/", "every chain intact"}},
		{"## Proof of notification: signed receipts", []string{"verified: this content hash", "Verified OK"}},
	} {
		t.Run("the README's "+tc.section+" commands work when pasted", func(t *testing.T) {
			readme, err := os.ReadFile("../../README.md")
			if err != nil {
				t.Fatal(err)
			}
			section := regexp.MustCompile("(?s)" + regexp.QuoteMeta(tc.section) + "\n(.*?)\n## ").FindSubmatch(readme)
			if section == nil {
				t.Fatalf("README has no %q section", tc.section)
			}
			var script strings.Builder
			script.WriteString("set -e\n")
			for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(section[1], -1) {
				script.Write(block[1])
				script.WriteString("echo\n") // answers end without a newline
			}
			cmd := exec.Command("bash", "-c", strings.NewReplacer(
				"127.0.0.1:3000", apiAddr, ".local/", state+"/", "go run ./cmd/breachctl", bin).Replace(script.String()))
			cmd.Dir = "../.." // the README's commands run at the repository root
			cmd.Env = append(withoutEndpoint(os.Environ()), "AWS_ENDPOINT_URL=http://"+motoAddr)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(string(out), want) {
					t.Fatalf("the README's commands printed no %q:\n%s", want, out)
				}
			}
		})
	}

	ctl := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(withoutEndpoint(os.Environ()), "AWS_ENDPOINT_URL=http://"+motoAddr)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("breachctl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Run("outputs", func(t *testing.T) {
		var outs map[string]string
		if err := json.Unmarshal([]byte(ctl(t, "outputs", "--template", "../../template.yaml")), &outs); err != nil {
			t.Fatal(err)
		}
		if outs["ReportsTableName"] != local.StackName+"-ReportsTable" || outs["ApiUrl"] == "" {
			t.Fatalf("outputs %v", outs)
		}
	})
	t.Run("invoke runs the handler in-process", func(t *testing.T) {
		out := ctl(t, "invoke", "SubmitReportFunction", "--event", "../../events/submit-report.json", "--template", "../../template.yaml")
		if !strings.Contains(out, `"statusCode":201`) {
			t.Fatalf("invoke: %s", out)
		}
	})
	t.Run("keys create and revoke", func(t *testing.T) {
		newKey := strings.TrimSpace(ctl(t, "keys", "create", "--org", "exemple-sa", "--name", "Exemple SA", "--siren", "552100554", "--template", "../../template.yaml"))
		if !regexp.MustCompile(`^bik_[0-9a-f]{16}_[0-9a-f]{64}$`).MatchString(newKey) {
			t.Fatalf("keys create printed %q", newKey)
		}
		regulator := strings.TrimSpace(ctl(t, "keys", "create", "--regulator", "CNIL", "--template", "../../template.yaml"))
		if !strings.HasPrefix(regulator, "bik_") {
			t.Fatalf("regulator key %q", regulator)
		}
		ctl(t, "keys", "revoke", newKey[4:20], "--template", "../../template.yaml")
	})

	if err := syscall.Kill(-dev.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("dev exited with %v after Ctrl-C\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dev did not stop on Ctrl-C")
	}
	if c, err := net.DialTimeout("tcp", motoAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("moto_server still answers after Ctrl-C")
	}
}

func withoutEndpoint(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "AWS_ENDPOINT_URL=") {
			out = append(out, e)
		}
	}
	return out
}

// readBanner reads dev's stdout up to the banner's last line, failing if dev exits first; the
// lines after it (alerts) keep coming on the channel.
func readBanner(t *testing.T, stdout io.Reader, exited chan error, stderr *strings.Builder) (string, <-chan string) {
	t.Helper()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads alerts any more: drop rather than block dev
			}
		}
		close(lines)
	}()
	var b strings.Builder
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("dev closed stdout:\n%s\n%s", b.String(), stderr.String())
			}
			b.WriteString(line + "\n")
			if strings.HasPrefix(line, "Ctrl-C stops") {
				return b.String(), lines
			}
		case err := <-exited:
			t.Fatalf("dev exited (%v):\n%s\n%s", err, b.String(), stderr.String())
		case <-deadline:
			t.Fatalf("no banner after 60 s:\n%s\n%s", b.String(), stderr.String())
		}
	}
}

func runShell(t *testing.T, script string, env ...string) map[string]any {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, script, out)
	}
	var receipt map[string]any
	if err := json.Unmarshal(out, &receipt); err != nil || receipt["status"] != "received" {
		t.Fatalf("want a receipt, got %s", out)
	}
	return receipt
}

// checkStored reads the version item from the local table: its document hashes to the receipt's.
func checkStored(t *testing.T, motoAddr string, receipt map[string]any) {
	t.Helper()
	cfg := local.Config("http://" + motoAddr)
	out, err := dynamodb.NewFromConfig(cfg).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(local.StackName + "-ReportsTable"),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprint("REPORT#", receipt["id"])},
			"sk": &types.AttributeValueMemberS{Value: "V#000001"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := out.Item["document"].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("no stored document for %v", receipt["id"])
	}
	if sum := sha256.Sum256(doc.Value); hex.EncodeToString(sum[:]) != receipt["sha256"] {
		t.Fatalf("stored document does not hash to the receipt's sha256")
	}
}
