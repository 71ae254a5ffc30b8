package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// install is one temporary keychain-auth installation: its directories,
// the daemon binary and the copies of this binary that act as clients.
type install struct {
	dir       string
	daemonBin string
	// client is the registered copy of this binary that runs the workers.
	client    string
	configDir string
	socket    string
	echoSock  string
	// profile, when set, is where the main daemon run writes its CPU
	// profile; profiledBin is the copy of this binary that runs it.
	profile     string
	profiledBin string
}

// environ returns a child environment that cannot reach the real home.
func (in *install) environ() []string {
	return []string{
		"HOME=" + filepath.Join(in.dir, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(in.dir, "xdg-run"),
		"XDG_CONFIG_HOME=" + filepath.Join(in.dir, "xdg-config"),
		"XDG_DATA_HOME=" + filepath.Join(in.dir, "xdg-data"),
		"PATH=" + os.Getenv("PATH"),
	}
}

// cli runs one keychain-auth administration command and fails with its
// output when it exits non-zero.
func (in *install) cli(args ...string) error {
	cmd := exec.Command(in.daemonBin, append([]string{"--config-dir", in.configDir, "--socket", in.socket}, args...)...)
	cmd.Env = in.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("keychain-auth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// daemon is a running keychain-auth daemon.
type daemon struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan error
}

// startDaemon runs "keychain-auth start" with the vault backend and waits
// until it logs that it listens. With profiled set and a profile requested,
// the daemon runs under the CPU profiler.
func (in *install) startDaemon(name string, profiled bool, extra ...string) (*daemon, error) {
	logPath := filepath.Join(in.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	args := append([]string{"--config-dir", in.configDir, "--socket", in.socket, "start", "--backend", "vault"}, extra...)
	cmd := exec.Command(in.daemonBin, args...)
	if profiled && in.profile != "" {
		cmd = exec.Command(in.profiledBin, append([]string{"daemon", "-cpuprofile", in.profile, "--"}, args...)...)
	}
	cmd.Env = in.environ()
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	d := &daemon{cmd: cmd, logPath: logPath, exited: make(chan error, 1)}
	go func() { d.exited <- cmd.Wait() }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(logPath)
		if bytes.Contains(data, []byte("listening on")) {
			return d, nil
		}
		select {
		case err := <-d.exited:
			return nil, fmt.Errorf("daemon exited during start-up (%v); log:\n%s", err, data)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.cmd.Process.Kill()
			<-d.exited
			return nil, fmt.Errorf("daemon did not log %q within 30 s; log:\n%s", "listening on", data)
		}
	}
}

// pid returns the daemon's process ID.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM and returns an error when the daemon exits with an
// error status, fails to stop, or logged an error while it ran.
func (d *daemon) stop() error {
	d.cmd.Process.Signal(syscall.SIGTERM)
	var waitErr error
	select {
	case waitErr = <-d.exited:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return errors.New("daemon did not stop within 20 s of SIGTERM")
	}
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		return err
	}
	var errorLines []string
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, "level=ERROR") {
			errorLines = append(errorLines, strings.TrimSpace(line))
		}
	}
	if len(errorLines) > 0 {
		return fmt.Errorf("daemon logged %d errors, the first: %s", len(errorLines), errorLines[0])
	}
	if waitErr != nil {
		return fmt.Errorf("daemon exited with %v; log in %s", waitErr, d.logPath)
	}
	return nil
}

// rss returns the daemon's resident set size in bytes, from /proc.
func (d *daemon) rss() (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(d.pid()) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("VmRSS missing from /proc status")
}

// echoServer is the running baseline server.
type echoServer struct {
	cmd *exec.Cmd
}

func (in *install) startEcho() (*echoServer, error) {
	cmd := exec.Command(in.client, "echo", "-socket", in.echoSock)
	cmd.Env = in.environ()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start echo server: %w", err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("unix", in.echoSock)
		if err == nil {
			c.Close()
			return &echoServer{cmd: cmd}, nil
		}
		if i == 500 {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("echo server does not accept connections: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *echoServer) stop() {
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
}

// runWorkerProc runs one worker from the client binary at bin and returns
// its result.
func (in *install) runWorkerProc(bin string, args ...string) (workerResult, error) {
	cmd := exec.Command(bin, append([]string{"worker"}, args...)...)
	cmd.Env = in.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return workerResult{}, fmt.Errorf("worker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var res workerResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return workerResult{}, fmt.Errorf("worker %s: parse result: %w", strings.Join(args, " "), err)
	}
	return res, nil
}

// gang is a set of worker processes that start together: each prints
// "ready" and then waits for a line on its standard input.
type gang struct {
	cmds    []*exec.Cmd
	stdins  []io.WriteCloser
	stdouts []*bufio.Reader
	stderrs []*bytes.Buffer
}

// startGang starts n workers with the same arguments and waits until every
// one is ready.
func (in *install) startGang(n int, args func(i int) []string) (*gang, error) {
	g := &gang{}
	for i := range n {
		cmd := exec.Command(in.client, append([]string{"worker"}, args(i)...)...)
		cmd.Env = in.environ()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			g.kill()
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			g.kill()
			return nil, err
		}
		stderr := &bytes.Buffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			g.kill()
			return nil, err
		}
		g.cmds = append(g.cmds, cmd)
		g.stdins = append(g.stdins, stdin)
		g.stdouts = append(g.stdouts, bufio.NewReader(stdout))
		g.stderrs = append(g.stderrs, stderr)
	}
	for i, r := range g.stdouts {
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			g.kill()
			return nil, fmt.Errorf("worker %d did not get ready (%v): %s", i, err, strings.TrimSpace(g.stderrs[i].String()))
		}
	}
	return g, nil
}

// release lets every worker go (load) or close (idle), then collects the
// results.
func (g *gang) release() ([]workerResult, error) {
	for _, w := range g.stdins {
		io.WriteString(w, "go\n")
		w.Close()
	}
	var results []workerResult
	var first error
	for i, cmd := range g.cmds {
		var res workerResult
		err := json.NewDecoder(g.stdouts[i]).Decode(&res)
		if waitErr := cmd.Wait(); waitErr != nil {
			err = fmt.Errorf("worker %d: %v: %s", i, waitErr, strings.TrimSpace(g.stderrs[i].String()))
		}
		if err != nil && first == nil {
			first = err
		}
		results = append(results, res)
	}
	return results, first
}

func (g *gang) kill() {
	for _, cmd := range g.cmds {
		cmd.Process.Kill()
		cmd.Wait()
	}
}
