// Package strictjson parses JSON into a tree that remembers where each value
// and object key starts, so the loaders of hand-edited files can reject
// unknown fields, wrong types and duplicate keys with the line and column
// at fault.
//
// The parser accepts exactly RFC 8259 JSON in valid UTF-8 with one value
// per document. It rejects duplicate object keys, invalid UTF-8, unpaired
// surrogate escapes and nesting deeper than MaxDepth instead of repairing
// them.
package strictjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the maximum nesting of arrays and objects.
const MaxDepth = 64

// Kind is the JSON type of a Value.
type Kind int

// JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "boolean"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one parsed JSON value.
type Value struct {
	Kind Kind
	// Offset is the byte offset of the value's first character.
	Offset int
	Bool   bool
	// Text is the decoded content of a String, or the literal text of a Number.
	Text    string
	Items   []*Value
	Members []Member
}

// Member is one key and value of an object, in document order.
type Member struct {
	Name string
	// NameOffset is the byte offset of the key's opening quote.
	NameOffset int
	Value      *Value
}

// Error is a parse or validation error at a byte offset of the document.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg)
}

// Errorf returns an *Error at offset.
func Errorf(offset int, format string, args ...any) *Error {
	return &Error{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// Position converts a byte offset of data into a 1-based line and a
// 1-based column counted in characters.
func Position(data []byte, offset int) (line, column int) {
	if offset > len(data) {
		offset = len(data)
	}
	line, column = 1, 1
	for i := 0; i < offset; {
		if data[i] == '\n' {
			line++
			column = 1
			i++
			continue
		}
		_, size := utf8.DecodeRune(data[i:])
		i += size
		column++
	}
	return line, column
}

// Parse parses data, which must hold exactly one JSON value surrounded by
// optional white space. Errors are of type *Error.
func Parse(data []byte) (*Value, error) {
	p := parser{buf: data}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.buf) {
		return nil, p.errorf("unexpected data after the JSON value")
	}
	return v, nil
}

type parser struct {
	buf []byte
	pos int
	// path holds the member names (string) and array indexes (int) that
	// lead to the value being parsed, for naming it in errors.
	path []any
}

func (p *parser) pathString() string {
	s := ""
	for _, seg := range p.path {
		switch seg := seg.(type) {
		case string:
			s = Field(s, seg)
		case int:
			s = Index(s, seg)
		}
	}
	return s
}

func (p *parser) errorf(format string, args ...any) *Error {
	return Errorf(p.pos, format, args...)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.buf) {
		switch p.buf[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*Value, error) {
	p.skipSpace()
	if p.pos >= len(p.buf) {
		return nil, p.errorf("unexpected end of input, expected a value")
	}
	start := p.pos
	switch c := p.buf[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &Value{Kind: String, Offset: start, Text: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", &Value{Kind: Bool, Offset: start, Bool: true})
	case c == 'f':
		return p.literal("false", &Value{Kind: Bool, Offset: start})
	case c == 'n':
		return p.literal("null", &Value{Kind: Null, Offset: start})
	default:
		return nil, p.errorf("unexpected character %s, expected a value", quoteByte(c))
	}
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) literal(word string, v *Value) (*Value, error) {
	if len(p.buf)-p.pos < len(word) || string(p.buf[p.pos:p.pos+len(word)]) != word {
		return nil, p.errorf("invalid literal, expected %q", word)
	}
	p.pos += len(word)
	return v, nil
}

func (p *parser) object(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d levels", MaxDepth)
	}
	v := &Value{Kind: Object, Offset: p.pos}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil, p.errorf("unexpected end of input in object")
		}
		if p.buf[p.pos] != '"' {
			return nil, p.errorf("unexpected character %s, expected a string key", quoteByte(p.buf[p.pos]))
		}
		keyPos := p.pos
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, Errorf(keyPos, "duplicate field %q in %s", Truncate(key), Where(p.pathString()))
		}
		seen[key] = true

		p.skipSpace()
		if p.pos >= len(p.buf) || p.buf[p.pos] != ':' {
			return nil, p.errorf("expected ':' after object key")
		}
		p.pos++
		p.path = append(p.path, key)
		item, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.Members = append(v.Members, Member{Name: key, NameOffset: keyPos, Value: item})

		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil, p.errorf("unexpected end of input in object")
		}
		switch p.buf[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return nil, p.errorf("unexpected character %s, expected ',' or '}'", quoteByte(p.buf[p.pos]))
		}
	}
}

func (p *parser) array(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d levels", MaxDepth)
	}
	v := &Value{Kind: Array, Offset: p.pos}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.path = append(p.path, len(v.Items))
		item, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.Items = append(v.Items, item)

		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil, p.errorf("unexpected end of input in array")
		}
		switch p.buf[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return nil, p.errorf("unexpected character %s, expected ',' or ']'", quoteByte(p.buf[p.pos]))
		}
	}
}

// number scans a number following the JSON grammar exactly
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) and keeps its text.
func (p *parser) number() (*Value, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.buf) && p.buf[p.pos] >= '0' && p.buf[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.buf[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.buf) && p.buf[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("invalid number")
	}
	if p.pos < len(p.buf) && p.buf[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.buf) && (p.buf[p.pos] == 'e' || p.buf[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.buf) && (p.buf[p.pos] == '+' || p.buf[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	return &Value{Kind: Number, Offset: start, Text: string(p.buf[start:p.pos])}, nil
}

// str parses a string starting at its opening quote.
func (p *parser) str() (string, error) {
	p.pos++ // '"'
	start := p.pos

	// Fast path: no escapes.
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		if c == '"' {
			s := string(p.buf[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			p.pos++
			continue
		}
		r, size := utf8.DecodeRune(p.buf[p.pos:])
		if r == utf8.RuneError && size <= 1 {
			return "", p.errorf("invalid UTF-8 in string")
		}
		p.pos += size
	}

	out := append([]byte(nil), p.buf[start:p.pos]...)
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(out), nil
		case c < 0x20:
			return "", p.errorf("control character in string, use an escape sequence")
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.buf[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.errorf("invalid UTF-8 in string")
			}
			out = append(out, p.buf[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
	return "", p.errorf("unterminated string")
}

// escape decodes one escape sequence starting at its backslash.
func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.buf) {
		return 0, p.errorf("unterminated escape sequence")
	}
	c := p.buf[p.pos+1]
	switch c {
	case '"', '\\', '/':
		p.pos += 2
		return rune(c), nil
	case 'b':
		p.pos += 2
		return '\b', nil
	case 'f':
		p.pos += 2
		return '\f', nil
	case 'n':
		p.pos += 2
		return '\n', nil
	case 'r':
		p.pos += 2
		return '\r', nil
	case 't':
		p.pos += 2
		return '\t', nil
	case 'u':
	default:
		return 0, p.errorf("invalid escape sequence")
	}

	escPos := p.pos
	r, ok := hex4(p.buf[p.pos+2:])
	if !ok {
		return 0, p.errorf("invalid \\u escape sequence")
	}
	p.pos += 6
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if r < 0xDC00 && p.pos+1 < len(p.buf) && p.buf[p.pos] == '\\' && p.buf[p.pos+1] == 'u' {
		if r2, ok := hex4(p.buf[p.pos+2:]); ok {
			if combined := utf16.DecodeRune(r, r2); combined != utf8.RuneError {
				p.pos += 6
				return combined, nil
			}
		}
	}
	return 0, Errorf(escPos, "unpaired surrogate in \\u escape sequence")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// maxQuoted bounds how much of a document's text an error message quotes.
const maxQuoted = 64

// Truncate shortens s for quoting in an error message, cutting at a
// character boundary and marking the cut with "...".
func Truncate(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
