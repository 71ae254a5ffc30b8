package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// responseTimeout keeps a broken daemon from hanging the probe forever; the
// tests treat a timeout as a failure, never as an expected outcome.
const responseTimeout = 60 * time.Second

func run(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	socket := fs.String("socket", "", "daemon socket path")
	switch mode {
	case "load":
		conns := fs.Int("conns", 1, "connections to open")
		requests := fs.Int("requests", 1, "requests per connection")
		keys := fs.Int("keys", 1, "number of stored keys k00000, k00001, ...")
		offset := fs.Int("offset", 0, "first key index of this process")
		service := fs.String("service", "load", "service to read")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return load(*socket, *conns, *requests, *keys, *offset, *service)
	case "inherit":
		exe := fs.String("exec", "", "program to run with the connection")
		keep := fs.Bool("keep-fd", false, "clear FD_CLOEXEC on the connection first")
		inPlace := fs.Bool("in-place", false, "exec in place (same PID) instead of fork and exec")
		line := fs.String("line", "", "request line")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return inherit(*socket, *exe, *keep, *inPlace, *line)
	case "use-fd":
		fd := fs.Int("fd", -1, "descriptor number")
		line := fs.String("line", "", "request line")
		delay := fs.Duration("delay", 0, "wait this long before sending")
		if err := fs.Parse(args); err != nil {
			return err
		}
		time.Sleep(*delay)
		return useFD(*fd, *line)
	case "borrow":
		exe := fs.String("exec", "", "registered program to exec in place")
		line := fs.String("line", "", "request line the child sends")
		delay := fs.Duration("delay", time.Second, "how long the child waits before sending")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return borrow(*socket, *exe, *line, *delay)
	case "late":
		line := fs.String("line", "", "request line")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return late(*socket, *line)
	case "argv":
		fake := fs.String("fake", "", "replacement command line")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return rewriteArgv(*socket, *fake)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// load runs the load mode described in the package documentation.
func load(socket string, conns, requests, keys, offset int, service string) error {
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("unix", socket)
		if err != nil {
			return fmt.Errorf("dial connection %d: %w", i, err)
		}
		defer c.Close()
		cs[i] = c
	}
	fmt.Println("connected")
	stdin := bufio.NewReader(os.Stdin)
	if _, err := stdin.ReadString('\n'); err != nil {
		return fmt.Errorf("wait for go: %w", err)
	}

	var failures, done atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for ci, c := range cs {
		wg.Go(func() {
			r := bufio.NewReader(c)
			for i := range requests {
				n := (offset + ci*requests + i) % keys
				line := fmt.Sprintf(`{"type":"REQUEST","action":"read","service":%q,"targets":["k%05d"]}`+"\n", service, n)
				want := fmt.Sprintf(`{"type":"RESPONSE","status":"success","results":[{"target":"k%05d","value":"v%05d"}]}`+"\n", n, n)
				c.SetDeadline(time.Now().Add(responseTimeout))
				got, err := func() (string, error) {
					if _, err := c.Write([]byte(line)); err != nil {
						return "", err
					}
					return r.ReadString('\n')
				}()
				if err != nil || got != want {
					failures.Add(1)
					firstErr.Do(func() {
						fmt.Fprintf(os.Stderr, "kaprobe: connection %d request %d: got %q, %v; want %q\n", ci, i, got, err, want)
					})
					if err != nil {
						return
					}
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("done requests=%d failures=%d\n", done.Load(), failures.Load())

	// Hold the connections until the test has counted the daemon's
	// descriptors, then close them all at once.
	stdin.ReadString('\n')
	return nil
}

// inherit runs the inherit mode described in the package documentation.
func inherit(socket, exe string, keep, inPlace bool, line string) error {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := roundTrip(c, line)
	if err != nil {
		return fmt.Errorf("parent request: %w", err)
	}
	fmt.Printf("parent: %s\n", resp)

	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	var ctlErr error
	raw.Control(func(f uintptr) {
		fd = int(f)
		flags, err := unix.FcntlInt(f, unix.F_GETFD, 0)
		if err != nil {
			ctlErr = err
			return
		}
		fmt.Printf("parent: cloexec=%t\n", flags&unix.FD_CLOEXEC != 0)
		if keep {
			_, ctlErr = unix.FcntlInt(f, unix.F_SETFD, flags&^unix.FD_CLOEXEC)
		}
	})
	if ctlErr != nil {
		return ctlErr
	}

	argv := []string{exe, "use-fd", "-fd", strconv.Itoa(fd), "-line", line}
	if inPlace {
		os.Stdout.Sync()
		return syscall.Exec(exe, argv, os.Environ())
	}
	pid, err := syscall.ForkExec(exe, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		return fmt.Errorf("fork and exec %q: %w", exe, err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if ws.ExitStatus() != 0 {
		return fmt.Errorf("child exited with status %d", ws.ExitStatus())
	}
	return nil
}

// borrow connects without sending anything, forks a child that keeps the
// descriptor and sends line after delay, then execs the registered program
// exe in place, so the connecting PID runs a registered binary while an
// unregistered process writes the requests.
func borrow(socket, exe, line string, delay time.Duration) error {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	var ctlErr error
	raw.Control(func(f uintptr) {
		fd = int(f)
		_, ctlErr = unix.FcntlInt(f, unix.F_SETFD, 0)
	})
	if ctlErr != nil {
		return ctlErr
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	argv := []string{self, "use-fd", "-fd", strconv.Itoa(fd), "-line", line, "-delay", delay.String()}
	if _, err := syscall.ForkExec(self, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}}); err != nil {
		return fmt.Errorf("fork and exec the writer: %w", err)
	}
	os.Stdout.Sync()
	return syscall.Exec(exe, []string{exe, "3"}, os.Environ())
}

// useFD runs the use-fd mode: it reports "no-fd" unless fd is an inherited
// Unix stream socket, since the runtime may have reused the number.
func useFD(fd int, line string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		fmt.Println("child: no-fd")
		return nil
	}
	f := os.NewFile(uintptr(fd), "inherited")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Println("child: no-fd")
		return nil
	}
	defer c.Close()
	resp, err := roundTrip(c, line)
	if err != nil {
		fmt.Printf("child: error %v\n", err)
		return nil
	}
	fmt.Printf("child: %s\n", resp)
	return nil
}

// late waits for a line on standard input, then connects, sends line and
// prints the response: the process exists before the test changes the
// file it runs, and connects after.
func late(socket, line string) error {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("wait for go: %w", err)
	}
	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := roundTrip(c, line)
	if err != nil {
		return err
	}
	fmt.Println(resp)
	return nil
}

// rewriteArgv overwrites the memory the kernel shows in /proc/self/cmdline,
// as setproctitle does, then connects and prints the first response.
func rewriteArgv(socket, fake string) error {
	// The runtime builds os.Args without copying the strings, so they
	// point into the argument area set up by execve; so do the flag values.
	socket, fake = strings.Clone(socket), strings.Clone(fake)
	start := unsafe.StringData(os.Args[0])
	end := unsafe.StringData(os.Args[len(os.Args)-1])
	size := int(uintptr(unsafe.Pointer(end))-uintptr(unsafe.Pointer(start))) + len(os.Args[len(os.Args)-1])
	if len(fake) >= size {
		return errors.New("fake command line is longer than the original")
	}
	area := unsafe.Slice(start, size+1)
	n := copy(area, fake)
	clear(area[n:])

	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(responseTimeout))
	resp, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read first line: %w", err)
	}
	fmt.Print(resp)
	return nil
}

func roundTrip(c net.Conn, line string) (string, error) {
	c.SetDeadline(time.Now().Add(responseTimeout))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	resp, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		if resp == "" {
			return "EOF", nil
		}
		return "", err
	}
	return resp[:len(resp)-1], nil
}
