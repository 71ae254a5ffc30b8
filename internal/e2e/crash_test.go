//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const batchSize = 10

func batchLine(n int) string {
	targets := make([]string, batchSize)
	values := make([]string, batchSize)
	for i := range targets {
		targets[i] = fmt.Sprintf("b%06d:%02d", n, i)
		values[i] = fmt.Sprintf("batch-%d", n)
	}
	t, _ := json.Marshal(targets)
	v, _ := json.Marshal(values)
	return fmt.Sprintf(`{"type":"REQUEST","action":"write","service":"crash","targets":%s,"values":%s}`, t, v)
}

// TestKillDuringBatchWrites kills the daemon with SIGKILL while a client
// streams batch writes, restarts it, and checks that every acknowledged
// batch is whole and no batch is partial. It runs 100 rounds, or 5 under
// -short unless KCA_E2E_FULL=1.
func TestKillDuringBatchWrites(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("crasher", "--read", "crash", "--write", "crash", "--search")

	rounds := 100
	if !fullRun() {
		rounds = 5
	}
	next := 0
	acked := map[int]bool{}
	for round := range rounds {
		var lines []string
		for i := range 500 {
			lines = append(lines, batchLine(next+i))
		}
		cmd := exec.Command(client, "-socket", e.socket)
		cmd.Env = e.environ()
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 5 + rand.IntN(60)
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			if sc.Text() == okEmpty {
				acked[next+n] = true
				n++
			}
			if n == killAfter {
				e.daemon.Process.Kill()
				<-e.exited
				e.daemon = nil
				break
			}
		}
		for sc.Scan() {
		}
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: only %d batches acknowledged before the stream ended; want %d\nstderr:\n%s", round, n, killAfter, e.stderr.String())
		}
		next += len(lines)
		e.start()
	}

	got := e.run(client, []string{`{"type":"REQUEST","action":"read","service":"crash","match":"prefix","targets":["b"]}`})
	if len(got) != 1 {
		t.Fatalf("prefix read returned %q", got)
	}
	var resp struct {
		Status  string `json:"status"`
		Results []struct {
			Target string `json:"target"`
			Value  string `json:"value"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(got[0]), &resp); err != nil || resp.Status != "success" {
		t.Fatalf("prefix read response %.200s: %v", got[0], err)
	}
	perBatch := map[int]int{}
	for _, r := range resp.Results {
		var b, i int
		if _, err := fmt.Sscanf(r.Target, "b%06d:%02d", &b, &i); err != nil {
			t.Fatalf("unexpected target %q", r.Target)
		}
		if r.Value != fmt.Sprintf("batch-%d", b) {
			t.Errorf("target %q holds another batch's value", r.Target)
		}
		perBatch[b]++
	}
	for b := range acked {
		if perBatch[b] != batchSize {
			t.Errorf("acknowledged batch %d has %d of %d keys", b, perBatch[b], batchSize)
		}
	}
	for b, n := range perBatch {
		if n != batchSize {
			t.Errorf("batch %d is partial: %d of %d keys", b, n, batchSize)
		}
	}
	t.Logf("%d rounds, %d acknowledged batches, %d batches stored", rounds, len(acked), len(perBatch))
}

func TestAuditFailureRefuses(t *testing.T) {
	e := newEnv(t)
	dataDir := filepath.Join(e.configDir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Writes to /dev/full fail with ENOSPC, even for root.
	if err := os.Symlink("/dev/full", filepath.Join(dataDir, "audit.log")); err != nil {
		t.Fatal(err)
	}
	e.start()
	client := e.registerClient("audited", "--read", "svc")
	got := e.run(client, []string{req("read", "svc", "k")})
	want := `{"type":"RESPONSE","status":"error","reason":"internal_error"}`
	if len(got) < 1 || got[0] != want {
		t.Errorf("with the audit log unwritable got %q; want %s", got, want)
	}
	if !strings.Contains(e.stderr.String(), "audit log write failed") {
		t.Errorf("daemon stderr does not mention the audit failure:\n%s", e.stderr.String())
	}
}
