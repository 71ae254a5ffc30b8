package vault_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keychain-auth/keychain-auth/internal/store"
	"github.com/keychain-auth/keychain-auth/internal/store/vault"
)

// Environment variables that turn the test binary into the crash test's
// writer process.
const (
	crashDirEnv   = "VAULT_CRASH_TEST_DIR"
	crashStartEnv = "VAULT_CRASH_TEST_START"
)

const (
	crashKeysPerBatch = 10
	// crashBatchesPerRound bounds a writer that is never killed.
	crashBatchesPerRound = 1000
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(runCrashWriter(dir, os.Getenv(crashStartEnv)))
	}
	os.Exit(m.Run())
}

// runCrashWriter puts batches numbered from start, each of crashKeysPerBatch
// keys, and prints each batch number on stdout after its Put returns.
func runCrashWriter(dir, start string) int {
	first, err := strconv.Atoi(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crash writer: invalid start %q\n", start)
		return 2
	}
	v, err := vault.Open(filepath.Join(dir, "vault.db"), vault.KeyFile(filepath.Join(dir, "vault.key")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash writer:", err)
		return 1
	}
	defer v.Close()

	for batch := first; batch < first+crashBatchesPerRound; batch++ {
		items := make([]store.Item, crashKeysPerBatch)
		for i := range items {
			items[i] = store.Item{
				Target:     fmt.Sprintf("batch%07d:key%02d", batch, i),
				Value:      []byte(fmt.Sprintf("value of batch %d key %d", batch, i)),
				Attributes: map[string]string{"batch": strconv.Itoa(batch)},
			}
		}
		if err := v.Put(context.Background(), "crash", items); err != nil {
			fmt.Fprintln(os.Stderr, "crash writer:", err)
			return 1
		}
		// os.Stdout is unbuffered, so the number is out once Println returns.
		fmt.Println(batch)
	}
	return 0
}

// TestCrashKeepsAcknowledgedBatches kills a writer process with SIGKILL at
// random points, then checks that every batch it acknowledged is stored
// whole and that no batch is stored in part. A killed process leaves the
// kernel's page cache intact. So this checks atomicity and that Put returns
// only after its commit, but not that the data reached the disk.
func TestCrashKeepsAcknowledgedBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20 writer processes")
	}
	const rounds = 20
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	acknowledged := map[int]bool{}

	for round := range rounds {
		start := round * crashBatchesPerRound
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(start))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}

		// Wait for a random number of acknowledgements, zero included so that
		// some kills land while the vault is being created or opened, then
		// let a random part of the next Put run before the kill.
		lines := bufio.NewScanner(stdout)
		waitFor := rng.IntN(6)
		for seen := 0; seen < waitFor && lines.Scan(); seen++ {
			acknowledge(t, acknowledged, lines.Text())
		}
		time.Sleep(time.Duration(rng.IntN(150_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatalf("round %d: kill writer: %v", round, err)
		}
		// Lines written before the kill are acknowledgements too.
		for lines.Scan() {
			acknowledge(t, acknowledged, lines.Text())
		}
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Fatalf("round %d: writer failed: %s", round, stderr.String())
		}

		checkBatches(t, dir, acknowledged)
	}
	t.Logf("%d batches acknowledged over %d rounds", len(acknowledged), rounds)
}

func acknowledge(t *testing.T, acknowledged map[int]bool, line string) {
	t.Helper()
	batch, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("writer printed %q; want a batch number", line)
	}
	acknowledged[batch] = true
}

// checkBatches opens the vault, which verifies the whole file, and checks
// that every stored batch is whole and every acknowledged batch is stored.
func checkBatches(t *testing.T, dir string, acknowledged map[int]bool) {
	t.Helper()
	path := filepath.Join(dir, "vault.db")
	if _, err := os.Stat(path); os.IsNotExist(err) && len(acknowledged) == 0 {
		// Killed before the vault was first created.
		return
	}
	v, err := vault.Open(path, vault.KeyFile(filepath.Join(dir, "vault.key")))
	if err != nil {
		t.Fatalf("Open after kill = %v; want nil", err)
	}
	defer v.Close()

	items, err := v.List(context.Background(), "crash", store.Query{WithValues: true})
	if err != nil {
		t.Fatalf("List after kill = %v", err)
	}
	keys := map[int]int{}
	for _, it := range items {
		batch, err := strconv.Atoi(it.Attributes["batch"])
		if err != nil {
			t.Fatalf("item %q has batch attribute %q", it.Target, it.Attributes["batch"])
		}
		var key int
		if _, err := fmt.Sscanf(it.Target, fmt.Sprintf("batch%07d:key%%02d", batch), &key); err != nil {
			t.Fatalf("item %q does not belong to batch %d", it.Target, batch)
		}
		if want := fmt.Sprintf("value of batch %d key %d", batch, key); string(it.Value) != want {
			t.Errorf("item %q has a value of %d bytes that differs from the one written", it.Target, len(it.Value))
		}
		keys[batch]++
	}

	for batch, n := range keys {
		if n != crashKeysPerBatch {
			t.Errorf("batch %d has %d keys; want %d (a partial batch)", batch, n, crashKeysPerBatch)
		}
	}
	for batch := range acknowledged {
		if keys[batch] == 0 {
			t.Errorf("acknowledged batch %d is missing", batch)
		}
	}
}
