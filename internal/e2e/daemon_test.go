//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	okEmpty      = `{"type":"RESPONSE","status":"success"}`
	deniedPend   = `{"type":"RESPONSE","status":"denied","reason":"unregistered_binary_pending_approval"}`
	deniedSvc    = `{"type":"RESPONSE","status":"denied","reason":"service_not_allowed"}`
	deniedAction = `{"type":"RESPONSE","status":"denied","reason":"action_not_in_policy"}`
	malformed    = `{"type":"RESPONSE","status":"error","reason":"malformed_request"}`
)

func req(action, service string, targets ...string) string {
	t, _ := json.Marshal(targets)
	return fmt.Sprintf(`{"type":"REQUEST","action":%q,"service":%q,"targets":%s}`, action, service, t)
}

func TestBatchWriteThenPrefixRead(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("agent", "--read", "AgentSecrets", "--write", "AgentSecrets", "--search")

	got := e.run(client, []string{
		`{"type":"REQUEST","action":"write","service":"AgentSecrets","targets":["proj_123:development:DATABASE_URL","proj_123:development:API_KEY","proj_123:staging:DATABASE_URL"],"values":["postgres://dev","key-dev","postgres://staging"]}`,
		`{"type":"REQUEST","action":"read","service":"AgentSecrets","match":"prefix","targets":["proj_123:development:"]}`,
	})
	want := []string{
		okEmpty,
		`{"type":"RESPONSE","status":"success","results":[{"target":"proj_123:development:API_KEY","value":"key-dev"},{"target":"proj_123:development:DATABASE_URL","value":"postgres://dev"}]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnregisteredQueuedThenApproved(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.copyClient("newcomer")

	// Reading first: the denial arrives unprompted.
	got := e.run(client, nil, "-read-first")
	if len(got) < 1 || got[0] != deniedPend {
		t.Fatalf("read-first client got %q; want the denial line", got)
	}
	// Writing first: the denial still arrives instead of a reset.
	got = e.run(client, []string{req("read", "svc", "k")})
	if len(got) < 1 || got[0] != deniedPend {
		t.Fatalf("write-first client got %q; want the denial line", got)
	}

	out := e.mustCLI("list-pending")
	if !strings.Contains(out, "Found 1 pending binaries waiting for authorization:") {
		t.Errorf("list-pending output lacks the count line:\n%s", out)
	}
	for _, want := range []string{"Path:      " + client, "Command:   " + client + " -socket " + e.socket, "Attempted: "} {
		if !strings.Contains(out, want) {
			t.Errorf("list-pending output lacks %q:\n%s", want, out)
		}
	}

	var entries []struct {
		Hash     string `json:"hash"`
		Attempts int    `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("list-pending", "--json")), &entries); err != nil || len(entries) != 1 {
		t.Fatalf("list-pending --json = %v, %v; want one entry", entries, err)
	}
	// The queue writes a hash at most once a second, so the second
	// attempt may still be held in memory.
	if entries[0].Attempts < 1 {
		t.Errorf("attempts = %d; want at least 1", entries[0].Attempts)
	}

	e.mustCLI("approve", entries[0].Hash)
	if out := e.mustCLI("list-pending"); !strings.Contains(out, "No pending binaries waiting for authorization.") {
		t.Errorf("queue not empty after approve:\n%s", out)
	}
	// Approved with no permissions.
	got = e.run(client, []string{req("read", "svc", "k")})
	if len(got) != 1 || got[0] != deniedSvc {
		t.Fatalf("approved client without grant got %q; want %s", got, deniedSvc)
	}
	e.mustCLI("grant", client, "--read", "svc")
	got = e.run(client, []string{req("read", "svc", "k")})
	if len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("granted client got %q; want %s", got, okEmpty)
	}
}

func TestIdentityByPathAndHash(t *testing.T) {
	e := newEnv(t)
	e.start()
	registered := e.registerClient("registered", "--read", "svc")
	read := []string{req("read", "svc", "k")}

	if got := e.run(registered, read); len(got) != 1 || got[0] != okEmpty {
		t.Fatalf("registered client got %q; want success", got)
	}

	t.Run("copy at another path", func(t *testing.T) {
		cp := e.copyClient("copy")
		if got := e.run(cp, read); len(got) < 1 || got[0] != deniedPend {
			t.Errorf("copy got %q; want the unregistered denial", got)
		}
	})

	t.Run("modified binary at registered path", func(t *testing.T) {
		p := e.registerClient("modified", "--read", "svc")
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("appended bytes change the hash"))
		f.Close()
		if got := e.run(p, read); len(got) < 1 || got[0] != deniedPend {
			t.Errorf("modified binary got %q; want the unregistered denial", got)
		}
	})

	t.Run("registered through a symlink", func(t *testing.T) {
		target := e.copyClient("real-target")
		link := filepath.Join(e.dir, "bin", "link-to-target")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		out := e.mustCLI("register", link)
		if !strings.HasPrefix(out, "Registered "+target+" with hash sha256:") {
			t.Errorf("register through symlink printed %q; want the canonical path %s", out, target)
		}
		e.mustCLI("grant", link, "--read", "svc")
		if got := e.run(link, read); len(got) != 1 || got[0] != okEmpty {
			t.Errorf("client run through the symlink got %q; want success", got)
		}
	})
}

func TestEveryReasonCode(t *testing.T) {
	e := newEnv(t)
	e.start()
	limited := e.registerClient("limited", "--read", "svc")
	got := e.run(limited, []string{
		req("read", "other", "k"),
		`{"type":"REQUEST","action":"search","service":"svc"}`,
		`{"type":"REQUEST","action":"read","service":"svc","match":"prefix","targets":["a"]}`,
		`{"type":"REQUEST","action":"delete","service":"svc","targets":["a"]}`,
		`{"type":"REQUEST"}`,
	})
	want := []string{deniedSvc, deniedAction, deniedAction, deniedSvc, malformed}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := e.run(e.copyClient("stranger"), nil, "-read-first"); len(got) < 1 || got[0] != deniedPend {
		t.Errorf("unregistered client got %q; want %s", got, deniedPend)
	}
	// internal_error is produced in TestAuditFailureRefuses.
}

func TestMalformedRequestsKeepConnection(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("fuzzed", "--read", "svc", "--write", "svc", "--search")
	bad := []string{
		`not json`,
		`{`,
		`[]`,
		`"REQUEST"`,
		`{}`,
		`null`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"]} trailing`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"]}{}`,
		`{"type":"request","action":"read","service":"svc","targets":["k"]}`,
		`{"Type":"REQUEST","action":"read","service":"svc","targets":["k"]}`,
		`{"type":"REQUEST","Action":"read","service":"svc","targets":["k"]}`,
		`{"type":"REQUEST","action":"READ","service":"svc","targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"extra":1}`,
		`{"type":"REQUEST","type":"REQUEST","action":"read","service":"svc","targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"","targets":["k"]}`,
		`{"type":"REQUEST","action":"read","targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"svc"}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":[]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":[""]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":"k"}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":[1]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":[null]}`,
		`{"type":"REQUEST","action":"read","service":1,"targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"match":"fuzzy"}`,
		`{"type":"REQUEST","action":"write","service":"svc","match":"prefix","targets":["k"],"values":["v"]}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["k","j"],"values":["v"]}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["k"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"values":["v"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"attributes":{"a":1}}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"attributes":["a"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"attributes":{"a":"1","a":"2"}}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k\x01"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["\ud800"]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["\q"]}`,
		"{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"\xff\"]}",
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"],}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k",]}`,
		`{"type":"REQUEST","action":"read","service":"svc","targets":["k"]`,
		`{"type":null,"action":"read","service":"svc","targets":["k"]}`,
	}
	lines := append(append([]string{}, bad...), req("read", "svc", "k"))
	got := e.run(client, lines, "-pipeline")
	if len(got) != len(lines) {
		t.Fatalf("got %d responses for %d lines:\n%s", len(got), len(lines), strings.Join(got, "\n"))
	}
	for i, line := range bad {
		if got[i] != malformed {
			t.Errorf("request %q: got %s; want %s", line, got[i], malformed)
		}
	}
	if got[len(bad)] != okEmpty {
		t.Errorf("valid request after %d malformed ones got %s; want %s", len(bad), got[len(bad)], okEmpty)
	}
}

func TestOversizeLineClosesConnection(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("big", "--read", "svc")
	huge := `{"type":"REQUEST","action":"read","service":"svc","targets":["` + strings.Repeat("a", 1<<20) + `"]}`
	got := e.run(client, []string{huge, req("read", "svc", "k")})
	if len(got) < 2 || got[0] != malformed || got[1] != "EOF" {
		t.Errorf("oversize line got %q; want %s then a closed connection", got, malformed)
	}
}

func TestGrantRevokeApplyToOpenConnection(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("live")
	s := e.open(client)
	read := req("read", "svc", "k")

	if got := s.do(read); got != deniedSvc {
		t.Fatalf("before grant: %s; want %s", got, deniedSvc)
	}
	e.mustCLI("grant", client, "--read", "svc")
	if got := s.do(read); got != okEmpty {
		t.Fatalf("after grant on the same connection: %s; want %s", got, okEmpty)
	}
	e.mustCLI("revoke", client, "--read", "svc")
	if got := s.do(read); got != deniedSvc {
		t.Fatalf("after revoke on the same connection: %s; want %s", got, deniedSvc)
	}
}

func TestConcurrentCLIEditsKept(t *testing.T) {
	e := newEnv(t)
	client := e.registerClient("edited")
	services := []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.mustCLI("grant", client, "--read", svc)
		}()
	}
	wg.Wait()
	out := e.mustCLI("check", client)
	for _, svc := range services {
		if !strings.Contains(out, svc) {
			t.Errorf("grant of %s was lost:\n%s", svc, out)
		}
	}
}

func TestCanaryNeverLeaks(t *testing.T) {
	e := newEnv(t)
	e.start()
	const canary = "CANARY-7f3a9c-secret-value"
	client := e.registerClient("writer", "--read", "svc", "--write", "svc", "--search")
	got := e.run(client, []string{
		`{"type":"REQUEST","action":"write","service":"svc","targets":["db"],"values":["` + canary + `"]}`,
		req("read", "svc", "db"),
		`{"type":"REQUEST","action":"write","service":"other","targets":["db"],"values":["` + canary + `"]}`,
		`{"type":"REQUEST","action":"write","service":"svc","targets":["db","x"],"values":["` + canary + `"]}`,
		`{"type":"REQUEST","action":"search","service":"svc"}`,
	})
	if len(got) != 5 || !strings.Contains(got[1], canary) {
		t.Fatalf("the canary did not round-trip: %q", got)
	}
	e.run(e.copyClient("unknown"), []string{`{"type":"REQUEST","action":"write","service":"svc","targets":["db"],"values":["` + canary + `"]}`})
	e.stop()

	files := map[string]string{"daemon stderr": e.stderr.String()}
	filepath.WalkDir(e.configDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			files[p] = string(data)
		}
		return nil
	})
	for _, name := range []string{"config.json", "pending.json", filepath.Join("data", "audit.log")} {
		if _, ok := files[filepath.Join(e.configDir, name)]; !ok {
			t.Errorf("%s was not written; the check would be vacuous", name)
		}
	}
	for name, content := range files {
		if strings.Contains(content, canary) {
			t.Errorf("the canary value appears in %s", name)
		}
	}
}

func TestGrantAndRevokeUIDs(t *testing.T) {
	e := newEnv(t)
	client := e.registerClient("shared-tool")
	e.mustCLI("grant", client, "--uid", "1234", "--uid", "5678")
	if out := e.mustCLI("list"); !strings.Contains(out, "UIDs:    1234 5678") {
		t.Errorf("list after grant --uid lacks the UIDs:\n%s", out)
	}
	e.mustCLI("revoke", client, "--uid", "1234")
	if out := e.mustCLI("list"); !strings.Contains(out, "UIDs:    5678\n") {
		t.Errorf("list after revoke --uid 1234:\n%s", out)
	}
	if _, errOut, code := e.cli("grant", client, "--uid", "-1"); code != 2 {
		t.Errorf("grant --uid -1 exited %d (%s); want usage error 2", code, errOut)
	}
}

func TestRebuildThenUpgrade(t *testing.T) {
	e := newEnv(t)
	e.start()
	client := e.registerClient("rebuilt", "--read", "svc")
	rebuild(t, client, "rebuilt")

	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) < 1 || got[0] != deniedPend {
		t.Fatalf("rebuilt binary got %q; want the unregistered denial", got)
	}
	out := e.mustCLI("list-pending")
	if !strings.Contains(out, "if this is a rebuild, run: keychain-auth upgrade "+client) {
		t.Errorf("list-pending does not point to upgrade for a rebuilt binary:\n%s", out)
	}

	e.mustCLI("upgrade", client)
	if out := e.mustCLI("list-pending"); !strings.Contains(out, "No pending binaries waiting for authorization.") {
		t.Errorf("upgrade left the new hash in the queue:\n%s", out)
	}
	if got := e.run(client, []string{req("read", "svc", "k")}); len(got) != 1 || got[0] != okEmpty {
		t.Errorf("upgraded binary got %q; want success with its old rights", got)
	}
}

func TestUpgradeMergesEntriesAtPath(t *testing.T) {
	e := newEnv(t)
	client := e.registerClient("twice", "--read", "a")
	rebuild(t, client, "second")
	// Approving the new build by hash adds a second entry at the same path.
	_, hash, err := hashOf(client)
	if err != nil {
		t.Fatal(err)
	}
	e.mustCLI("approve", hash, client)
	e.mustCLI("grant", client, "--write", "b")
	e.mustCLI("upgrade", client)

	var entries []struct {
		Path  string   `json:"path"`
		Read  []string `json:"allowed_read_services"`
		Write []string `json:"allowed_write_services"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("list", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("after upgrade %d entries at %s; want them merged into 1: %+v", len(entries), client, entries)
	}
	if strings.Join(entries[0].Read, ",") != "a" || strings.Join(entries[0].Write, ",") != "b" {
		t.Errorf("merged entry has read %v, write %v; want read [a], write [b]", entries[0].Read, entries[0].Write)
	}
}
