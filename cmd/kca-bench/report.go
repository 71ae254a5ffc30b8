package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// report holds the measured figures.
type report struct {
	quick bool

	readRTT, echoRTT                  latency
	connect, echoConnect              latency
	connectNoCache                    latency
	sha256InMemory                    latency
	coldConnect                       latency
	warmLargeConnect                  latency
	prefix, write                     latency
	readsPerSec                       float64
	readsPerSecUnpipelined            float64
	echoPerSec, echoPerSecUnpipelined float64
	rssStart, rssIdle                 int64
	idleConns                         int
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nkeychain-auth benchmark (%s)\n", r.mode())
	fmt.Fprintf(w, "machine: %d CPUs, %s, Linux %s, %s\n\n", runtime.NumCPU(), cpuModel(), kernel(), runtime.Version())

	row := func(figure, measured, baseline, ratio, target string, met bool) {
		verdict := "met"
		if !met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", figure, measured, baseline, ratio, target, verdict)
	}
	fmt.Fprintln(w, "| Figure | Measured | Baseline | Ratio | Target | Result |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")

	p50 := ratio(r.readRTT.p50, r.echoRTT.p50)
	p99 := ratio(r.readRTT.p99, r.echoRTT.p99)
	row("exact read, open connection, p50", us(r.readRTT.p50), "echo "+us(r.echoRTT.p50), times(p50), "≤ 3×", p50 <= 3)
	row("exact read, open connection, p99", us(r.readRTT.p99), "echo "+us(r.echoRTT.p99), times(p99), "≤ 3×", p99 <= 3)

	c50 := ratio(r.connect.p50, r.echoConnect.p50)
	c99 := ratio(r.connect.p99, r.echoConnect.p99)
	row("connect + identity + read + close, 15 MB client, warm, p50", us(r.connect.p50), "echo "+us(r.echoConnect.p50), times(c50), "≤ 3×", c50 <= 3)
	row("connect + identity + read + close, 15 MB client, warm, p99", us(r.connect.p99), "echo "+us(r.echoConnect.p99), times(c99), "≤ 3×", c99 <= 3)

	// The identity check's cost is what the first connection adds over a
	// connection whose hash is cached.
	check := r.coldConnect.p50 - r.warmLargeConnect.p50
	checkSpeed := mbPerSec(largeSize, check)
	shaSpeed := mbPerSec(largeSize, r.sha256InMemory.p50)
	share := checkSpeed / shaSpeed
	row("cold identity check, 100 MB client", fmt.Sprintf("%.1f ms (%.0f MB/s)", ms(check), checkSpeed),
		fmt.Sprintf("SHA-256 in memory %.1f ms (%.0f MB/s)", ms(r.sha256InMemory.p50), shaSpeed),
		fmt.Sprintf("%.0f %%", 100*share), "≥ 90 %", share >= 0.9)

	row(fmt.Sprintf("prefix read of %d keys, p50 (p99)", bulkKeys), fmt.Sprintf("%.1f ms (%.1f ms)", ms(r.prefix.p50), ms(r.prefix.p99)),
		"—", "—", "≤ 20 ms", r.prefix.p50 <= 20*time.Millisecond)
	row(fmt.Sprintf("batch write of %d keys, durable, p50 (p99)", batchSize), fmt.Sprintf("%.1f ms (%.1f ms)", ms(r.write.p50), ms(r.write.p99)),
		"—", "—", "≤ 50 ms", r.write.p50 <= 50*time.Millisecond)
	row(fmt.Sprintf("reads per second, %d connections, %d pipelined each", loadProcs*loadConnsPerProc, loadDepth),
		fmt.Sprintf("%.0f", r.readsPerSec), fmt.Sprintf("echo %.0f", r.echoPerSec), fmt.Sprintf("%.0f %% of echo", 100*r.readsPerSec/r.echoPerSec), "≥ 100,000", r.readsPerSec >= 100_000)
	row(fmt.Sprintf("reads per second, %d connections, one request at a time", loadProcs*loadConnsPerProc),
		fmt.Sprintf("%.0f", r.readsPerSecUnpipelined), fmt.Sprintf("echo %.0f", r.echoPerSecUnpipelined), fmt.Sprintf("%.0f %% of echo", 100*r.readsPerSecUnpipelined/r.echoPerSecUnpipelined), "≥ 100,000", r.readsPerSecUnpipelined >= 100_000)
	row(fmt.Sprintf("daemon resident memory, %d keys, %d idle connections", bulkKeys, r.idleConns),
		fmt.Sprintf("%.1f MB", float64(r.rssIdle)/(1<<20)), fmt.Sprintf("%.1f MB before connecting", float64(r.rssStart)/(1<<20)),
		"—", "≤ 100 MB", r.rssIdle <= 100<<20)

	fmt.Fprintf(w, "\nwithout the hash cache (start --no-hash-cache), 15 MB client: connect + identity + read + close p50 %s, p99 %s (%s the cached p50)\n",
		us(r.connectNoCache.p50), us(r.connectNoCache.p99), times(ratio(r.connectNoCache.p50, r.connect.p50)))
	fmt.Fprintf(w, "cold 100 MB connection p50 %s, warm p50 %s; samples: read %d, connect %d, cold %d, prefix %d, write %d\n",
		ms2(r.coldConnect.p50), us(r.warmLargeConnect.p50), r.readRTT.n, r.connect.n, r.coldConnect.n, r.prefix.n, r.write.n)
}

func (r *report) mode() string {
	if r.quick {
		return "quick mode: small samples, for CI"
	}
	return "full run"
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func times(x float64) string    { return fmt.Sprintf("%.2f×", x) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
func ms2(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }

// mbPerSec returns bytes per second in units of 10^6 bytes.
func mbPerSec(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / d.Seconds() / 1e6
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
