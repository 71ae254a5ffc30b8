package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// currentName is the file that Log appends to. Rotated files are named
// currentName + ".N", where a higher N is older.
const currentName = "audit.log"

func rotatedPath(dir string, n int) string {
	return filepath.Join(dir, currentName+"."+strconv.Itoa(n))
}

// rotatedNumbers returns the N of every audit.log.N in dir in ascending
// order, so newest first.
func rotatedNumbers(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var numbers []int
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), currentName+".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 1 || strconv.Itoa(n) != suffix {
			continue
		}
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	return numbers, nil
}

// logFiles returns the paths of the audit files in dir from oldest to
// newest: the rotated files by decreasing number, then audit.log if it exists.
func logFiles(dir string) ([]string, error) {
	numbers, err := rotatedNumbers(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for i := len(numbers) - 1; i >= 0; i-- {
		files = append(files, rotatedPath(dir, numbers[i]))
	}
	current := filepath.Join(dir, currentName)
	if _, err := os.Stat(current); err == nil {
		files = append(files, current)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return files, nil
}

// link is the part of a record that the chain needs.
type link struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
}

// parseLink decodes a line as a record and checks its seq and prev.
func parseLink(line []byte) (link, error) {
	var l link
	if err := json.Unmarshal(line, &l); err != nil {
		return link{}, err
	}
	if l.Seq == 0 {
		return link{}, errors.New("missing seq")
	}
	if !isHexHash(l.Prev) {
		return link{}, fmt.Errorf("prev %q is not 64 lowercase hex digits", l.Prev)
	}
	return l, nil
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// readTail finds the end of the first size bytes of r. It returns the last
// complete line without its newline (nil if there is none) and the number of
// bytes after that line's newline, which form a torn line when not zero.
// It reads backwards in chunks and gives up after twice maxRecordSize.
func readTail(r io.ReaderAt, size int64) (last []byte, torn int64, err error) {
	const chunkSize = 64 << 10
	var tail []byte // bytes from pos to size
	pos := size
	lastNewline := -1
	for {
		if lastNewline < 0 {
			lastNewline = bytes.LastIndexByte(tail, '\n')
		}
		if lastNewline >= 0 {
			start := bytes.LastIndexByte(tail[:lastNewline], '\n')
			if start >= 0 || pos == 0 {
				return tail[start+1 : lastNewline], int64(len(tail) - lastNewline - 1), nil
			}
		}
		if pos == 0 {
			return nil, size, nil
		}
		if size-pos > 2*maxRecordSize {
			return nil, 0, fmt.Errorf("no complete line in the last %d bytes", size-pos)
		}

		n := min(int64(chunkSize), pos)
		chunk := make([]byte, n, n+int64(len(tail)))
		if _, err := r.ReadAt(chunk, pos-n); err != nil {
			return nil, 0, err
		}
		pos -= n
		if lastNewline >= 0 {
			lastNewline += int(n)
		}
		tail = append(chunk, tail...)
	}
}

// line is one line of an audit file.
type line struct {
	file     string
	number   int    // 1-based line number in file
	data     []byte // without the newline
	complete bool   // ended with a newline
	tooLong  bool   // longer than maxRecordSize, so data is cut short
}

// lineReader reads the lines of several files in order, with one line of
// lookahead.
type lineReader struct {
	files  []*os.File // all opened up front, so a rotation while reading does not swap them
	next   int        // index in files of the next file to read
	f      *os.File
	r      *bufio.Reader
	number int
	peeked *line
}

func newLineReader(paths []string) (*lineReader, error) {
	lr := &lineReader{}
	for _, path := range paths {
		f, err := openForRead(path)
		if err != nil {
			lr.close()
			return nil, err
		}
		lr.files = append(lr.files, f)
	}
	return lr, nil
}

// read returns the next line. ok is false at the end of the last file.
func (lr *lineReader) read() (ln line, ok bool, err error) {
	if lr.peeked != nil {
		ln, lr.peeked = *lr.peeked, nil
		return ln, true, nil
	}
	return lr.readLine()
}

// peek returns the next line without consuming it.
func (lr *lineReader) peek() (ln line, ok bool, err error) {
	if lr.peeked != nil {
		return *lr.peeked, true, nil
	}
	ln, ok, err = lr.readLine()
	if ok {
		lr.peeked = &ln
	}
	return ln, ok, err
}

func (lr *lineReader) readLine() (line, bool, error) {
	for {
		if lr.f == nil {
			if lr.next == len(lr.files) {
				return line{}, false, nil
			}
			lr.f = lr.files[lr.next]
			lr.r, lr.number = bufio.NewReaderSize(lr.f, 64<<10), 0
			lr.next++
		}

		ln := line{file: lr.f.Name()}
		for {
			part, err := lr.r.ReadSlice('\n')
			if len(ln.data)+len(part) > maxRecordSize+1 {
				ln.tooLong = true
			} else {
				ln.data = append(ln.data, part...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == nil {
				ln.complete = true
				if !ln.tooLong {
					ln.data = ln.data[:len(ln.data)-1]
				}
				break
			}
			if err != io.EOF {
				return line{}, false, err
			}
			if len(ln.data) == 0 && !ln.tooLong {
				// End of this file, so go on with the next one.
				lr.f = nil
			}
			break
		}
		if lr.f == nil {
			continue
		}
		lr.number++
		ln.number = lr.number
		return ln, true, nil
	}
}

func (lr *lineReader) close() {
	for _, f := range lr.files {
		f.Close()
	}
	lr.files, lr.f = nil, nil
}
