package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want *Value
	}{
		{name: "escapes", in: `"a\"\\\/\b\f\n\r\t\u00e9"`, want: &Value{Kind: String, Text: "a\"\\/\b\f\n\r\té"}},
		{name: "surrogate pair", in: `"\ud83d\ude00"`, want: &Value{Kind: String, Text: "😀"}},
		{name: "raw multibyte", in: `"é😀"`, want: &Value{Kind: String, Text: "é😀"}},
		{name: "number", in: ` -12.5e+3 `, want: &Value{Kind: Number, Offset: 1, Text: "-12.5e+3"}},
		{name: "zero", in: `0`, want: &Value{Kind: Number, Text: "0"}},
		{name: "true", in: `true`, want: &Value{Kind: Bool, Bool: true}},
		{name: "null", in: "\nnull", want: &Value{Kind: Null, Offset: 1}},
		{
			name: "object with offsets", in: `{"a": [1, {}]}`,
			want: &Value{Kind: Object, Members: []Member{{
				Name: "a", NameOffset: 1,
				Value: &Value{Kind: Array, Offset: 6, Items: []*Value{
					{Kind: Number, Offset: 7, Text: "1"},
					{Kind: Object, Offset: 10},
				}},
			}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		offset int
		msg    string
	}{
		{name: "empty input", in: ``, offset: 0, msg: "unexpected end of input"},
		{name: "leading zero", in: `01`, offset: 1, msg: "unexpected data after the JSON value"},
		{name: "bare minus", in: `-`, offset: 1, msg: "invalid number"},
		{name: "fraction without digits", in: `1.`, offset: 2, msg: "invalid number"},
		{name: "exponent without digits", in: `1e+`, offset: 3, msg: "invalid number"},
		{name: "plus sign", in: `+1`, offset: 0, msg: "expected a value"},
		{name: "trailing comma in array", in: `[1,]`, offset: 3, msg: "expected a value"},
		{name: "single quotes", in: `'a'`, offset: 0, msg: "expected a value"},
		{name: "control character", in: "\"a\tb\"", offset: 2, msg: "control character"},
		{name: "invalid escape", in: `"\x"`, offset: 1, msg: "invalid escape"},
		{name: "short unicode escape", in: `"\u12"`, offset: 1, msg: `invalid \u escape`},
		{name: "lone high surrogate", in: `"\ud83d"`, offset: 1, msg: "unpaired surrogate"},
		{name: "lone low surrogate", in: `"\ude00x"`, offset: 1, msg: "unpaired surrogate"},
		{name: "invalid UTF-8", in: "\"a\xffb\"", offset: 2, msg: "invalid UTF-8"},
		{name: "duplicate nested key", in: `{"a": [{"b": 1, "b": 2}]}`, offset: 16, msg: `duplicate field "b" in a[0]`},
		{name: "misspelled literal", in: `tru`, offset: 0, msg: `expected "true"`},
		{name: "missing colon", in: `{"a" 1}`, offset: 5, msg: "expected ':'"},
		{name: "too deep", in: strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), offset: MaxDepth, msg: "nesting deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error = %v; want an *Error", tc.in, err)
			}
			if e.Offset != tc.offset || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("Parse(%q) error = %d: %q; want %d: %q", tc.in, e.Offset, e.Msg, tc.offset, tc.msg)
			}
		})
	}
}

func TestParseMaxDepth(t *testing.T) {
	in := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(in)); err != nil {
		t.Errorf("Parse(%d nested arrays) error = %v", MaxDepth, err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\né\n\nxyz")
	for _, tc := range []struct {
		offset, line, column int
	}{
		{offset: 0, line: 1, column: 1},
		{offset: 2, line: 1, column: 3},
		{offset: 3, line: 2, column: 1},
		{offset: 5, line: 2, column: 2},
		{offset: 7, line: 4, column: 1},
		{offset: 9, line: 4, column: 3},
		{offset: 100, line: 4, column: 4},
	} {
		line, column := Position(data, tc.offset)
		if line != tc.line || column != tc.column {
			t.Errorf("Position(%d) = %d:%d; want %d:%d", tc.offset, line, column, tc.line, tc.column)
		}
	}
}

func TestDecodeInt(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: `7`, want: 7},
		{in: `-3`, wantErr: "from 0 to 10"},
		{in: `11`, wantErr: "from 0 to 10"},
		{in: `1e1`, wantErr: "must be an integer, got 1e1"},
		{in: `99999999999999999999`, wantErr: "from 0 to 10"},
		{in: `"7"`, wantErr: "must be an integer, got string"},
	} {
		v, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeInt(v, "n", 0, 10)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeInt(%s) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DecodeInt(%s) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// FuzzStrictParse checks that the parser accepts only what encoding/json
// also considers valid and decodes strings the same way.
func FuzzStrictParse(f *testing.F) {
	for _, s := range []string{`{"a": [1, "x", true, null]}`, `"\ud83d\ude00"`, `-0.5e10`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		if v.Kind == String {
			var s string
			if err := json.Unmarshal(data, &s); err != nil || s != v.Text {
				t.Fatalf("string %q decoded as %q; encoding/json gives %q, %v", data, v.Text, s, err)
			}
		}
	})
}
