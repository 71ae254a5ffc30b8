package protocol

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeError describes why a request line was rejected. Its message names
// the field and byte offset at fault and never quotes a string value, because
// values may be secrets.
type DecodeError struct {
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("malformed request at byte %d: %s", e.Offset, e.Msg)
}

// maxFieldNameInError bounds how much of an unknown field name an error quotes.
const maxFieldNameInError = 40

// DecodeRequest parses and validates one request line (without its newline).
// It returns a *DecodeError for anything that is not a well-formed request.
func DecodeRequest(line []byte) (*Request, error) {
	if len(line) > MaxLineSize {
		return nil, &DecodeError{Offset: MaxLineSize, Msg: "line exceeds the 1 MiB limit"}
	}
	d := decoder{buf: line}
	req, err := d.request()
	if err != nil {
		return nil, err
	}
	if err := Validate(req); err != nil {
		return nil, err
	}
	return req, nil
}

// Validate checks the rules that apply across fields of a request.
func Validate(r *Request) error {
	fail := func(msg string) error { return &DecodeError{Offset: -1, Msg: msg} }
	if r.Type != TypeRequest {
		return fail(`field "type" must be "REQUEST"`)
	}
	switch r.Action {
	case ActionRead, ActionWrite, ActionDelete, ActionSearch:
	case "":
		return fail(`missing field "action"`)
	default:
		return fail(`field "action" must be one of read, write, delete, search`)
	}
	if r.Service == "" {
		return fail(`field "service" is missing or empty`)
	}
	switch r.Match {
	case MatchExact, MatchPrefix:
	default:
		return fail(`field "match" must be "exact" or "prefix"`)
	}
	if r.Match == MatchPrefix && r.Action == ActionWrite {
		return fail(`match "prefix" is not allowed with action "write"`)
	}
	if r.Action != ActionSearch && len(r.Targets) == 0 {
		return fail(`field "targets" is missing or empty`)
	}
	for i, t := range r.Targets {
		if t == "" {
			return fail(fmt.Sprintf(`targets[%d] is empty`, i))
		}
	}
	if r.Action == ActionWrite {
		if r.Values == nil {
			return fail(`field "values" is required for action "write"`)
		}
		if len(r.Values) != len(r.Targets) {
			return fail(fmt.Sprintf(`%d values for %d targets`, len(r.Values), len(r.Targets)))
		}
	} else if r.Values != nil {
		return fail(`field "values" is only allowed with action "write"`)
	}
	return nil
}

// decoder is a strict parser for the small JSON subset a request uses:
// one object whose members are strings, arrays of strings or an object of
// strings. Any other JSON value is a type error, so numbers, booleans and
// null never need parsing.
type decoder struct {
	buf []byte
	pos int
}

func (d *decoder) errorf(format string, args ...any) error {
	return &DecodeError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) expect(c byte) error {
	d.skipSpace()
	if d.pos >= len(d.buf) {
		return d.errorf("unexpected end of line, expected %q", c)
	}
	if d.buf[d.pos] != c {
		return d.errorf("unexpected %s, expected %q", describe(d.buf[d.pos]), c)
	}
	d.pos++
	return nil
}

// peek returns the next non-space byte, or 0 at the end of the line.
func (d *decoder) peek() byte {
	d.skipSpace()
	if d.pos >= len(d.buf) {
		return 0
	}
	return d.buf[d.pos]
}

func describe(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	default:
		return strconv.QuoteRune(rune(c))
	}
}

// Field bits used to detect duplicate keys.
const (
	seenType = 1 << iota
	seenAction
	seenService
	seenMatch
	seenTargets
	seenValues
	seenAttributes
)

func (d *decoder) request() (*Request, error) {
	req := &Request{Match: MatchExact}
	if err := d.expect('{'); err != nil {
		return nil, err
	}
	seen := 0
	if d.peek() == '}' {
		d.pos++
	} else {
		for {
			keyPos := d.pos
			key, err := d.stringValue()
			if err != nil {
				return nil, err
			}
			if err := d.expect(':'); err != nil {
				return nil, err
			}
			bit, err := d.member(req, key)
			if err != nil {
				return nil, err
			}
			if bit == 0 {
				d.pos = keyPos
				return nil, d.errorf("unknown field %q", truncate(key))
			}
			if seen&bit != 0 {
				d.pos = keyPos
				return nil, d.errorf("duplicate field %q", key)
			}
			seen |= bit
			c := d.peek()
			if c == ',' {
				d.pos++
				continue
			}
			if c == '}' {
				d.pos++
				break
			}
			if c == 0 {
				return nil, d.errorf("unexpected end of line in object")
			}
			return nil, d.errorf("unexpected %s after object member", describe(c))
		}
	}
	d.skipSpace()
	if d.pos != len(d.buf) {
		return nil, d.errorf("unexpected data after the request object")
	}
	if seen&seenType == 0 {
		return nil, &DecodeError{Offset: -1, Msg: `missing field "type"`}
	}
	return req, nil
}

// member decodes the value of one request field and returns its bit, or 0
// for an unknown field name. Names are matched case-sensitively.
func (d *decoder) member(req *Request, key string) (int, error) {
	var err error
	switch key {
	case "type":
		req.Type, err = d.typedString(key)
		return seenType, err
	case "action":
		var s string
		s, err = d.typedString(key)
		req.Action = Action(s)
		return seenAction, err
	case "service":
		req.Service, err = d.typedString(key)
		return seenService, err
	case "match":
		var s string
		s, err = d.typedString(key)
		req.Match = Match(s)
		return seenMatch, err
	case "targets":
		req.Targets, err = d.stringArray(key)
		return seenTargets, err
	case "values":
		req.Values, err = d.stringArray(key)
		if err == nil && req.Values == nil {
			req.Values = []string{}
		}
		return seenValues, err
	case "attributes":
		req.Attributes, err = d.stringMap(key)
		return seenAttributes, err
	}
	return 0, nil
}

func truncate(s string) string {
	if len(s) <= maxFieldNameInError {
		return s
	}
	cut := maxFieldNameInError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func (d *decoder) typedString(field string) (string, error) {
	if c := d.peek(); c != '"' {
		if c == 0 {
			return "", d.errorf("unexpected end of line")
		}
		return "", d.errorf("field %q must be a string, got %s", field, describe(c))
	}
	return d.stringValue()
}

func (d *decoder) stringArray(field string) ([]string, error) {
	c := d.peek()
	if c != '[' {
		if c == 0 {
			return nil, d.errorf("unexpected end of line")
		}
		return nil, d.errorf("field %q must be an array of strings, got %s", field, describe(c))
	}
	d.pos++
	var out []string
	if d.peek() == ']' {
		d.pos++
		return []string{}, nil
	}
	for {
		c := d.peek()
		if c != '"' {
			if c == 0 {
				return nil, d.errorf("unexpected end of line in array")
			}
			return nil, d.errorf("%s[%d] must be a string, got %s", field, len(out), describe(c))
		}
		s, err := d.stringValue()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return out, nil
		case 0:
			return nil, d.errorf("unexpected end of line in array")
		default:
			return nil, d.errorf("unexpected %s in array", describe(d.buf[d.pos]))
		}
	}
}

func (d *decoder) stringMap(field string) (map[string]string, error) {
	c := d.peek()
	if c != '{' {
		if c == 0 {
			return nil, d.errorf("unexpected end of line")
		}
		return nil, d.errorf("field %q must be an object of strings, got %s", field, describe(c))
	}
	d.pos++
	// An empty object decodes to nil: it filters nothing and stores nothing.
	if d.peek() == '}' {
		d.pos++
		return nil, nil
	}
	out := map[string]string{}
	for {
		keyPos := d.pos
		if c := d.peek(); c != '"' {
			if c == 0 {
				return nil, d.errorf("unexpected end of line in object")
			}
			return nil, d.errorf("expected a string key in %q, got %s", field, describe(c))
		}
		k, err := d.stringValue()
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			d.pos = keyPos
			return nil, d.errorf("duplicate key %q in %q", truncate(k), field)
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		if c := d.peek(); c != '"' {
			if c == 0 {
				return nil, d.errorf("unexpected end of line in object")
			}
			return nil, d.errorf("%s[%q] must be a string, got %s", field, truncate(k), describe(c))
		}
		v, err := d.stringValue()
		if err != nil {
			return nil, err
		}
		out[k] = v
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return out, nil
		case 0:
			return nil, d.errorf("unexpected end of line in object")
		default:
			return nil, d.errorf("unexpected %s in object", describe(d.buf[d.pos]))
		}
	}
}

// stringValue parses a JSON string at the current position. It rejects
// control characters, invalid escapes, unpaired surrogates and invalid UTF-8
// instead of replacing them, so a decoded request always re-encodes to the
// same characters.
func (d *decoder) stringValue() (string, error) {
	d.skipSpace()
	if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
		return "", d.errorf("expected a string")
	}
	d.pos++
	start := d.pos

	// Fast path: no escapes and plain ASCII or valid UTF-8.
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		if c == '"' {
			s := string(d.buf[start:d.pos])
			d.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			d.pos++
			continue
		}
		r, size := utf8.DecodeRune(d.buf[d.pos:])
		if r == utf8.RuneError && size <= 1 {
			return "", d.errorf("invalid UTF-8 in string")
		}
		d.pos += size
	}

	out := make([]byte, 0, d.pos-start+16)
	out = append(out, d.buf[start:d.pos]...)
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(out), nil
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c == '\\':
			r, err := d.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.buf[d.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", d.errorf("invalid UTF-8 in string")
			}
			out = append(out, d.buf[d.pos:d.pos+size]...)
			d.pos += size
		}
	}
	return "", d.errorf("unterminated string")
}

// escape decodes one backslash escape starting at the backslash.
func (d *decoder) escape() (rune, error) {
	if d.pos+1 >= len(d.buf) {
		return 0, d.errorf("unterminated escape")
	}
	c := d.buf[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return 0, err
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r >= 0xDC00 || d.pos+1 >= len(d.buf) || d.buf[d.pos] != '\\' || d.buf[d.pos+1] != 'u' {
			return 0, d.errorf("unpaired surrogate in string")
		}
		d.pos += 2
		r2, err := d.hex4()
		if err != nil {
			return 0, err
		}
		combined := utf16.DecodeRune(r, r2)
		if combined == utf8.RuneError {
			return 0, d.errorf("unpaired surrogate in string")
		}
		return combined, nil
	}
	d.pos -= 2
	return 0, d.errorf("invalid escape in string")
}

func (d *decoder) hex4() (rune, error) {
	if d.pos+4 > len(d.buf) {
		return 0, d.errorf("short \\u escape")
	}
	var r rune
	for _, c := range d.buf[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, d.errorf("invalid \\u escape")
		}
	}
	d.pos += 4
	return r, nil
}
