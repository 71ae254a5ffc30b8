//go:build unix

package secretservice

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// proxyAction is what the proxy does with a message from the client.
type proxyAction int

const (
	forward proxyAction = iota
	// cut closes the client's connection without forwarding the message.
	cut
	// hold stops reading from the client, leaving its call unanswered.
	hold
)

// busProxy relays D-Bus connections from a socket of its own to the test bus
// and lets a test decide, per method call, to cut or hold the connection.
// It reproduces faults that a real bus produces rarely and at random times.
type busProxy struct {
	address  string
	upstream string

	mu sync.Mutex
	// decide picks the action for each method call member; guarded by mu.
	decide func(member string) proxyAction
}

func startProxy(tb testing.TB, k *keyring) *busProxy {
	tb.Helper()
	path := filepath.Join(k.Dir, "proxy")
	ln, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	p := &busProxy{address: "unix:path=" + path, upstream: k.BusPath}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
		os.Remove(path)
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("unix", p.upstream)
			if err != nil {
				client.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, client, server)
			connsMu.Unlock()
			wg.Go(func() {
				io.Copy(client, server)
				client.Close()
			})
			wg.Go(func() {
				p.pump(client, server)
			})
		}
	})
	return p
}

// setDecide installs the per-call decision; nil forwards everything.
func (p *busProxy) setDecide(f func(member string) proxyAction) {
	p.mu.Lock()
	p.decide = f
	p.mu.Unlock()
}

// cutOnNth cuts the connection at the n-th call of member, once.
func (p *busProxy) cutOnNth(member string, n int) {
	seen := 0
	p.setDecide(func(m string) proxyAction {
		if m != member {
			return forward
		}
		seen++
		if seen == n {
			return cut
		}
		return forward
	})
}

// pump copies the authentication lines as they are, then one whole message
// at a time so each can be inspected.
func (p *busProxy) pump(client, server net.Conn) {
	defer server.Close()
	r := bufio.NewReader(client)
	nul, err := r.ReadByte()
	if err != nil {
		return
	}
	if _, err := server.Write([]byte{nul}); err != nil {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(server, line); err != nil {
			return
		}
		if line == "BEGIN\r\n" {
			break
		}
	}

	for {
		msg, err := readMessage(r)
		if err != nil {
			return
		}
		action := forward
		p.mu.Lock()
		if p.decide != nil && msg[1] == 1 { // message type 1 is METHOD_CALL
			action = p.decide(messageMember(msg))
		}
		p.mu.Unlock()
		switch action {
		case cut:
			client.Close()
			return
		case hold:
			return
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

func byteOrder(msg []byte) binary.ByteOrder {
	if msg[0] == 'B' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func align(n, to int) int { return (n + to - 1) / to * to }

// readMessage reads one D-Bus message: a 16-byte fixed header, the header
// field array padded to 8 bytes, then the body.
func readMessage(r io.Reader) ([]byte, error) {
	head := make([]byte, 16)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	order := byteOrder(head)
	bodyLen := int(order.Uint32(head[4:]))
	fieldsLen := int(order.Uint32(head[12:]))
	msg := make([]byte, align(16+fieldsLen, 8)+bodyLen)
	copy(msg, head)
	if _, err := io.ReadFull(r, msg[16:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// messageMember returns the MEMBER header field (code 3) of a message.
func messageMember(msg []byte) string {
	order := byteOrder(msg)
	end := 16 + int(order.Uint32(msg[12:]))
	pos := 16
	for pos < end {
		pos = align(pos, 8)
		code := msg[pos]
		sigLen := int(msg[pos+1])
		sig := string(msg[pos+2 : pos+2+sigLen])
		pos += 2 + sigLen + 1
		switch sig {
		case "s", "o":
			pos = align(pos, 4)
			n := int(order.Uint32(msg[pos:]))
			value := string(msg[pos+4 : pos+4+n])
			pos += 4 + n + 1
			if code == 3 {
				return value
			}
		case "g":
			pos += 1 + int(msg[pos]) + 1
		case "u":
			pos = align(pos, 4) + 4
		default:
			return ""
		}
	}
	return ""
}
