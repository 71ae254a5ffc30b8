// Command cloexec checks that a connection opened by the client does not
// survive exec. It is built and run by TestCloseOnExec.
//
//	cloexec client SOCKET   dial with the client, then exec "cloexec child"
//	cloexec leaky SOCKET    dial a socket without close-on-exec, then exec "cloexec child"
//	cloexec race SOCKET     dial and close in a loop while starting children,
//	                        and print the largest count a child reported
//	cloexec child SOCKET    print how many descriptors are connected to SOCKET
//
// The leaky mode is the control: it shows that the child does find an
// inherited socket, so a count of 0 in client mode means something.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/client"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cloexec client|leaky|race|child SOCKET")
		os.Exit(2)
	}
	mode, socket := os.Args[1], os.Args[2]

	var err error
	switch mode {
	case "client":
		err = dialClientAndExec(socket)
	case "leaky":
		err = dialLeakyAndExec(socket)
	case "race":
		err = raceDialsWithForks(socket)
	case "child":
		fmt.Printf("connected descriptors: %d\n", countConnected(socket))
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloexec %s: %v\n", mode, err)
		os.Exit(1)
	}
}

// dialClientAndExec makes one call, so the connection is open and
// authenticated, and replaces this process with the child while it is.
func dialClientAndExec(socket string) error {
	c := client.New(client.Options{Socket: socket})
	if _, err := c.Read(context.Background(), "AgentSecrets", "probe"); err != nil {
		return err
	}
	return execChild(socket)
}

func dialLeakyAndExec(socket string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return err
	}
	return execChild(socket)
}

// raceDialsWithForks dials and closes connections in one goroutine while
// the main goroutine starts children with os/exec. A socket that is not
// close-on-exec from the moment it is created can leak into a child forked
// in between.
func raceDialsWithForks(socket string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dialErr := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			c, err := client.Dial(ctx, client.Options{Socket: socket})
			if err != nil && ctx.Err() == nil {
				dialErr <- err
				return
			}
			if err == nil {
				c.Close()
			}
		}
		dialErr <- nil
	}()

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	maxCount := 0
	for range 200 {
		out, err := exec.Command(exe, "child", socket).Output()
		if err != nil {
			return err
		}
		var n int
		if _, err := fmt.Sscanf(string(out), "connected descriptors: %d", &n); err != nil {
			return fmt.Errorf("parse child output %q: %w", out, err)
		}
		maxCount = max(maxCount, n)
	}
	cancel()
	if err := <-dialErr; err != nil {
		return err
	}
	fmt.Printf("connected descriptors: %d\n", maxCount)
	return nil
}

// execChild uses execve directly, so every descriptor without close-on-exec
// passes to the child.
func execChild(socket string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, []string{exe, "child", socket}, os.Environ())
}

// countConnected tries every descriptor from 0 to 1023 and counts the
// sockets whose peer is bound to socket.
func countConnected(socket string) int {
	n := 0
	for fd := range 1024 {
		if _, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
			continue
		}
		peer, err := unix.Getpeername(fd)
		if err != nil {
			continue
		}
		if addr, ok := peer.(*unix.SockaddrUnix); ok && addr.Name == socket {
			n++
		}
	}
	return n
}
