package protocol

import (
	"bufio"
	"bytes"
	"io"
)

// ReadLine reads one newline-terminated line from r and returns it without
// the newline (and without a trailing carriage return). The returned slice
// may alias r's buffer and is valid only until the next read.
//
// A line longer than MaxLineSize returns ErrLineTooLong after consuming at
// most MaxLineSize+1 bytes of it. The stream is then out of step, so the
// caller should close it. At end of stream a final unterminated line is returned with
// io.ErrUnexpectedEOF.
func ReadLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return trimEOL(line), nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF && len(line) > 0 {
			return line, io.ErrUnexpectedEOF
		}
		return nil, err
	}

	// The line is longer than the reader's buffer: accumulate up to the cap.
	buf := append([]byte(nil), line...)
	for {
		if len(buf) > MaxLineSize+1 {
			return nil, ErrLineTooLong
		}
		line, err = r.ReadSlice('\n')
		buf = append(buf, line...)
		switch err {
		case nil:
			buf = trimEOL(buf)
			if len(buf) > MaxLineSize {
				return nil, ErrLineTooLong
			}
			return buf, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) > MaxLineSize {
				return nil, ErrLineTooLong
			}
			return buf, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}
