// Command kaclient is the raw line client the end-to-end tests run as a real
// child process, so the daemon identifies it through peer credentials like
// any other caller. It sends each line of standard input as one request and
// prints each response line to standard output as soon as it arrives.
//
// Usage: kaclient -socket PATH [-pipeline] [-read-first]
//
// With -pipeline every request is written before any response is read.
// With -read-first the client reads one line before sending anything (the
// unprompted denial an unregistered binary receives). On a closed
// connection it prints "EOF" and exits with status 3.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	socket := flag.String("socket", "", "daemon socket path")
	pipeline := flag.Bool("pipeline", false, "write all requests before reading responses")
	readFirst := flag.Bool("read-first", false, "read one line before sending requests")
	flag.Parse()

	conn, err := net.Dial("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaclient: dial:", err)
		os.Exit(2)
	}
	defer conn.Close()
	resp := bufio.NewReaderSize(conn, 2<<20)
	out := bufio.NewWriter(os.Stdout)
	in := bufio.NewReaderSize(os.Stdin, 4<<20)

	readResponse := func() {
		line, err := resp.ReadString('\n')
		if err != nil {
			if line != "" {
				fmt.Fprint(out, line+"\n")
			}
			fmt.Fprintln(out, "EOF")
			out.Flush()
			os.Exit(3)
		}
		fmt.Fprint(out, line)
		out.Flush()
	}

	if *readFirst {
		readResponse()
	}

	var sent int
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			if line[len(line)-1] != '\n' {
				line += "\n"
			}
			if _, werr := io.WriteString(conn, line); werr != nil && !*pipeline {
				// The daemon may already have answered and closed.
				readResponse()
				os.Exit(4)
			}
			sent++
			if !*pipeline {
				readResponse()
			}
		}
		if err != nil {
			break
		}
	}
	if *pipeline {
		for range sent {
			readResponse()
		}
	}
}
