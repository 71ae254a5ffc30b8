package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/paths"
)

// errPickCanceled reports that the user left the picker without a choice.
var errPickCanceled = errors.New("canceled")

// approveFromQueue lets the user pick a pending binary on a terminal and
// approves it. Without a terminal on stdin it prints the queue and returns
// a usage error, because a script must name the hash it approves.
func approveFromQueue(app *App, l paths.Layout) error {
	entries, err := pending.List(l.PendingFile(), time.Now())
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if len(entries) == 0 {
		fmt.Fprintln(app.Stdout, "No pending binaries waiting for authorization.")
		return nil
	}

	in, ok := app.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		printPending(app.Stdout, l.ConfigFile(), entries)
		return usagef("approve: no hash given and stdin is not a terminal; run keychain-auth approve <hash> with one of the hashes above")
	}

	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return fmt.Errorf("approve: switch the terminal to raw mode: %w", err)
	}
	// Lines are cut to the terminal width, because a wrapped line would
	// throw off the count of lines to redraw.
	width, _, err := term.GetSize(int(in.Fd()))
	if err != nil {
		width = 0
	}
	choice, err := pick(in, app.Stderr, entries, width)
	term.Restore(int(in.Fd()), state)
	if errors.Is(err, errPickCanceled) {
		fmt.Fprintln(app.Stderr, "Nothing approved.")
		return exitError{ExitError}
	}
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	e := entries[choice]
	return approve(app, l, e.Hash, e.Path)
}

// Keys the picker understands.
type key int

const (
	keyOther key = iota
	keyUp
	keyDown
	keyEnter
	keyCancel
)

// readKey reads one key press from a terminal in raw mode. An escape
// sequence arrives in one read, so a lone ESC with nothing buffered after
// it is the Esc key.
func readKey(r *bufio.Reader) (key, byte, error) {
	b, err := r.ReadByte()
	if err != nil {
		return keyOther, 0, err
	}
	switch b {
	case '\r', '\n':
		return keyEnter, b, nil
	case 'q', 0x03, 0x04: // q, Ctrl-C, Ctrl-D
		return keyCancel, b, nil
	case 'k':
		return keyUp, b, nil
	case 'j':
		return keyDown, b, nil
	case 0x1b:
		if r.Buffered() == 0 {
			return keyCancel, b, nil
		}
		next, _ := r.ReadByte()
		if next != '[' && next != 'O' {
			return keyOther, b, nil
		}
		final, _ := r.ReadByte()
		switch final {
		case 'A':
			return keyUp, b, nil
		case 'B':
			return keyDown, b, nil
		}
		return keyOther, b, nil
	}
	return keyOther, b, nil
}

// pick shows entries on out, cut to width columns unless width is 0, and
// returns the index chosen with the keys read from in. Lines end in CRLF
// because the terminal is in raw mode.
func pick(in io.Reader, out io.Writer, entries []pending.Entry, width int) (int, error) {
	r := bufio.NewReader(in)
	cur := 0
	drawn := 0
	for {
		if drawn > 0 {
			// Move to the first line of the previous drawing and clear it.
			fmt.Fprintf(out, "\x1b[%dA\r\x1b[J", drawn)
		}
		drawn = drawPicker(out, entries, cur, width)

		k, b, err := readKey(r)
		if errors.Is(err, io.EOF) {
			return 0, errPickCanceled
		}
		if err != nil {
			return 0, fmt.Errorf("read key: %w", err)
		}
		switch k {
		case keyUp:
			cur = (cur - 1 + len(entries)) % len(entries)
		case keyDown:
			cur = (cur + 1) % len(entries)
		case keyEnter:
			fmt.Fprint(out, "\r\n")
			return cur, nil
		case keyCancel:
			fmt.Fprint(out, "\r\n")
			return 0, errPickCanceled
		default:
			if b >= '1' && b <= '9' && int(b-'1') < len(entries) {
				cur = int(b - '1')
			}
		}
	}
}

// drawPicker writes the list with the cursor on entry cur, each line cut
// to width columns unless width is 0, and returns the number of lines.
func drawPicker(out io.Writer, entries []pending.Entry, cur, width int) int {
	lines := []string{"Pick a binary to approve (up/down or j/k, Enter approves, q cancels):", ""}
	for i, e := range entries {
		marker := "  "
		if i == cur {
			marker = "> "
		}
		lines = append(lines, fmt.Sprintf("%s%d. %s  %s", marker, i+1, sanitizeLine(e.Path), shortHash(e.Hash)))
	}
	e := entries[cur]
	lines = append(lines, "",
		"   Command:   "+sanitizeLine(strings.Join(e.CLIArgs, " ")),
		fmt.Sprintf("   Attempted: %s (%d attempts, pid %d, uid %d)", e.InvokedAt.UTC().Format(time.RFC3339), e.Attempts, e.PID, e.UID))

	var b strings.Builder
	for _, l := range lines {
		b.WriteString(cutToWidth(l, width))
		b.WriteString("\r\n")
	}
	io.WriteString(out, b.String())
	return len(lines)
}

// cutToWidth cuts s to fewer than width runes, ending it in an ellipsis.
// It counts runes, not display cells, which is exact for the paths and
// hashes shown here unless they contain wide characters.
func cutToWidth(s string, width int) string {
	if width <= 1 {
		return s
	}
	r := []rune(s)
	if len(r) < width {
		return s
	}
	return string(r[:width-2]) + "…"
}

// sanitizeLine replaces control characters, so that a queued path or
// command line cannot move the cursor or rewrite the screen.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func shortHash(h string) string {
	const keep = len("sha256:") + 16
	if len(h) > keep {
		return h[:keep] + "…"
	}
	return h
}
