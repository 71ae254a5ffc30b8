package protocol

import (
	"slices"
	"unicode/utf8"
)

// AppendResponse appends the canonical encoding of r and a newline to buf.
// Field order is fixed: type, status, reason (only when not success),
// results (only when non-empty). Attribute keys are sorted.
func AppendResponse(buf []byte, r *Response) []byte {
	buf = append(buf, `{"type":"RESPONSE","status":`...)
	buf = AppendString(buf, string(r.Status))
	if r.Status != StatusSuccess && r.Reason != "" {
		buf = append(buf, `,"reason":`...)
		buf = AppendString(buf, string(r.Reason))
	}
	if len(r.Results) > 0 {
		buf = append(buf, `,"results":[`...)
		for i := range r.Results {
			if i > 0 {
				buf = append(buf, ',')
			}
			res := &r.Results[i]
			buf = append(buf, `{"target":`...)
			buf = AppendString(buf, res.Target)
			if res.HasValue {
				buf = append(buf, `,"value":`...)
				buf = AppendString(buf, res.Value)
			}
			if len(res.Attributes) > 0 {
				buf = append(buf, `,"attributes":`...)
				buf = appendStringMap(buf, res.Attributes)
			}
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
	}
	return append(buf, '}', '\n')
}

// AppendRequest appends the canonical encoding of r and a newline to buf.
// The Go, Python and Node.js clients produce byte-identical lines: fields in
// the order type, action, service, match (only when prefix), targets (when
// non-nil), values (write only), attributes (when non-empty, keys sorted).
func AppendRequest(buf []byte, r *Request) []byte {
	buf = append(buf, `{"type":"REQUEST","action":`...)
	buf = AppendString(buf, string(r.Action))
	buf = append(buf, `,"service":`...)
	buf = AppendString(buf, r.Service)
	if r.Match == MatchPrefix {
		buf = append(buf, `,"match":"prefix"`...)
	}
	if r.Targets != nil {
		buf = append(buf, `,"targets":`...)
		buf = appendStringArray(buf, r.Targets)
	}
	if r.Action == ActionWrite {
		buf = append(buf, `,"values":`...)
		buf = appendStringArray(buf, r.Values)
	}
	if len(r.Attributes) > 0 {
		buf = append(buf, `,"attributes":`...)
		buf = appendStringMap(buf, r.Attributes)
	}
	return append(buf, '}', '\n')
}

func appendStringArray(buf []byte, items []string) []byte {
	buf = append(buf, '[')
	for i, s := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, s)
	}
	return append(buf, ']')
}

func appendStringMap(buf []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, k)
		buf = append(buf, ':')
		buf = AppendString(buf, m[k])
	}
	return append(buf, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Only the quote, the backslash and
// control characters are escaped (\b \f \n \r \t, else \u00xx in lowercase
// hex), matching Python's json.dumps(ensure_ascii=False) and JavaScript's
// JSON.stringify. Invalid UTF-8 bytes become U+FFFD.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, s[start:i]...)
				buf = append(buf, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
