package protocol

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRequestValid(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Request
	}{
		{
			name: "exact read",
			line: `{"type":"REQUEST","action":"read","service":"aws","targets":["a","b"]}`,
			want: Request{Type: "REQUEST", Action: ActionRead, Service: "aws", Match: MatchExact, Targets: []string{"a", "b"}},
		},
		{
			name: "write with attributes and whitespace",
			line: " { \"type\" : \"REQUEST\" ,\t\"action\":\"write\",\"service\":\"s\",\"targets\":[\"k\"],\"values\":[\"v\"],\"attributes\":{\"env\":\"dev\"} } ",
			want: Request{Type: "REQUEST", Action: ActionWrite, Service: "s", Match: MatchExact, Targets: []string{"k"}, Values: []string{"v"}, Attributes: map[string]string{"env": "dev"}},
		},
		{
			name: "search without targets",
			line: `{"action":"search","service":"s","type":"REQUEST"}`,
			want: Request{Type: "REQUEST", Action: ActionSearch, Service: "s", Match: MatchExact},
		},
		{
			name: "prefix delete",
			line: `{"type":"REQUEST","action":"delete","service":"s","match":"prefix","targets":["p:"]}`,
			want: Request{Type: "REQUEST", Action: ActionDelete, Service: "s", Match: MatchPrefix, Targets: []string{"p:"}},
		},
		{
			name: "escapes and unicode",
			line: `{"type":"REQUEST","action":"write","service":"s","targets":["\u00e9\ud83d\ude00\n\"\\\/"],"values":["秘密"]}`,
			want: Request{Type: "REQUEST", Action: ActionWrite, Service: "s", Match: MatchExact, Targets: []string{"é😀\n\"\\/"}, Values: []string{"秘密"}},
		},
		{
			name: "empty value written",
			line: `{"type":"REQUEST","action":"write","service":"s","targets":["k"],"values":[""]}`,
			want: Request{Type: "REQUEST", Action: ActionWrite, Service: "s", Match: MatchExact, Targets: []string{"k"}, Values: []string{""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.line))
			if err != nil {
				t.Fatalf("DecodeRequest(%q) = %v", tt.line, err)
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("DecodeRequest(%q) mismatch (-want +got):\n%s", tt.line, d)
			}
		})
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty line", ``},
		{"not json", `hello`},
		{"array", `[]`},
		{"null", `null`},
		{"empty object", `{}`},
		{"trailing data", `{"type":"REQUEST","action":"search","service":"s"} x`},
		{"second object", `{"type":"REQUEST","action":"search","service":"s"}{}`},
		{"unknown field", `{"type":"REQUEST","action":"search","service":"s","x":"1"}`},
		{"field in other case", `{"Type":"REQUEST","action":"search","service":"s"}`},
		{"duplicate field", `{"type":"REQUEST","type":"REQUEST","action":"search","service":"s"}`},
		{"duplicate attribute", `{"type":"REQUEST","action":"search","service":"s","attributes":{"a":"1","a":"1"}}`},
		{"wrong type value", `{"type":"REQUEST","action":"search","service":"s","match":1}`},
		{"null value", `{"type":"REQUEST","action":"search","service":null}`},
		{"type lower case", `{"type":"request","action":"search","service":"s"}`},
		{"missing type", `{"action":"search","service":"s"}`},
		{"unknown action", `{"type":"REQUEST","action":"list","service":"s"}`},
		{"missing service", `{"type":"REQUEST","action":"search"}`},
		{"empty target", `{"type":"REQUEST","action":"read","service":"s","targets":[""]}`},
		{"read without targets", `{"type":"REQUEST","action":"read","service":"s"}`},
		{"prefix write", `{"type":"REQUEST","action":"write","service":"s","match":"prefix","targets":["k"],"values":["v"]}`},
		{"values mismatch", `{"type":"REQUEST","action":"write","service":"s","targets":["k"],"values":[]}`},
		{"values on read", `{"type":"REQUEST","action":"read","service":"s","targets":["k"],"values":["v"]}`},
		{"raw newline in string", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"s\",\"targets\":[\"a\nb\"]}"},
		{"raw NUL in string", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"s\",\"targets\":[\"a\x00b\"]}"},
		{"invalid UTF-8", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"s\",\"targets\":[\"\xc3\x28\"]}"},
		{"lone surrogate", `{"type":"REQUEST","action":"read","service":"s","targets":["\udc00"]}`},
		{"high surrogate then text", `{"type":"REQUEST","action":"read","service":"s","targets":["\ud800x"]}`},
		{"bad escape", `{"type":"REQUEST","action":"read","service":"s","targets":["\x"]}`},
		{"short unicode escape", `{"type":"REQUEST","action":"read","service":"s","targets":["\u12"]}`},
		{"trailing comma", `{"type":"REQUEST","action":"search","service":"s",}`},
		{"unterminated", `{"type":"REQUEST","action":"search","service":"s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.line))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("DecodeRequest(%q) = %v; want a *DecodeError", tt.line, err)
			}
		})
	}
}

func TestDecodeErrorDoesNotQuoteValues(t *testing.T) {
	const canary = "CANARY-secret-in-values"
	line := `{"type":"REQUEST","action":"write","service":"s","targets":["a","b"],"values":["` + canary + `"]}`
	_, err := DecodeRequest([]byte(line))
	if err == nil || strings.Contains(err.Error(), canary) {
		t.Errorf("DecodeRequest error = %v; want an error that does not contain the value", err)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	r := &Request{Type: TypeRequest, Action: ActionWrite, Service: "svc", Match: MatchExact,
		Targets: []string{"a\"b", "ctl\x01", "é"}, Values: []string{"v1\n", "", "x"},
		Attributes: map[string]string{"z": "1", "a": "2"}}
	line := AppendRequest(nil, r)
	want := `{"type":"REQUEST","action":"write","service":"svc","targets":["a\"b","ctl\u0001","é"],"values":["v1\n","","x"],"attributes":{"a":"2","z":"1"}}` + "\n"
	if string(line) != want {
		t.Errorf("AppendRequest = %s; want %s", line, want)
	}
	got, err := DecodeRequest(line[:len(line)-1])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got); d != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", d)
	}
}

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name string
		resp Response
		want string
	}{
		{"success empty", Response{Status: StatusSuccess}, `{"type":"RESPONSE","status":"success"}`},
		{"denied", Response{Status: StatusDenied, Reason: ReasonServiceNotAllowed}, `{"type":"RESPONSE","status":"denied","reason":"service_not_allowed"}`},
		{"read results", Response{Status: StatusSuccess, Results: []Result{
			{Target: "a", Value: "1", HasValue: true, Attributes: map[string]string{"y": "2", "x": "1"}},
			{Target: "b", Value: "", HasValue: true},
		}}, `{"type":"RESPONSE","status":"success","results":[{"target":"a","value":"1","attributes":{"x":"1","y":"2"}},{"target":"b","value":""}]}`},
		{"search results", Response{Status: StatusSuccess, Results: []Result{{Target: "a"}}}, `{"type":"RESPONSE","status":"success","results":[{"target":"a"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendResponse(nil, &tt.resp))
			if got != tt.want+"\n" {
				t.Errorf("AppendResponse = %s; want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("AppendResponse output is not valid JSON: %s", got)
			}
			back, err := DecodeResponse([]byte(strings.TrimSuffix(got, "\n")))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&tt.resp, back); d != "" && len(tt.resp.Results) > 0 {
				t.Errorf("DecodeResponse mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\ slash", "\x00\x1f\x7f", "\b\f\n\r\t", "é 秘密 😀", "\u2028"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("AppendString(%q) = %s; decodes to %q, %v", s, got, back, err)
		}
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", MaxLineSize)
	input := "first\r\nsecond\n" + long + "\n" + long + "y\nafter\npartial"
	r := bufio.NewReaderSize(strings.NewReader(input), 4096)
	want := []struct {
		line string
		err  error
	}{
		{"first", nil},
		{"second", nil},
		{long, nil},
		{"", ErrLineTooLong},
	}
	for i, w := range want {
		got, err := ReadLine(r)
		if !errors.Is(err, w.err) && err != w.err {
			t.Fatalf("ReadLine #%d error = %v; want %v", i, err, w.err)
		}
		if err == nil && string(got) != w.line {
			t.Fatalf("ReadLine #%d = %d bytes; want %d", i, len(got), len(w.line))
		}
	}

	r = bufio.NewReader(strings.NewReader("partial"))
	if got, err := ReadLine(r); err != io.ErrUnexpectedEOF || string(got) != "partial" {
		t.Errorf("ReadLine(partial) = %q, %v; want partial, io.ErrUnexpectedEOF", got, err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"REQUEST","action":"read","service":"aws","targets":["a","b"]}`,
		`{"type":"REQUEST","action":"write","service":"s","targets":["k"],"values":["v"],"attributes":{"a":"b"}}`,
		`{"type":"REQUEST","action":"search","service":"s","match":"prefix"}`,
		`{"type":"REQUEST","action":"read","service":"s","targets":["\u00e9\ud83d\ude00"]}`,
		`{"Type":"REQUEST"}`,
		`[1,2,3]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			return
		}
		// Whatever the strict decoder accepts is valid JSON that
		// encoding/json reads the same way.
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON: %q", line)
		}
		// Accepted requests re-encode canonically and decode to the same value.
		canon := AppendRequest(nil, req)
		again, err := DecodeRequest(canon[:len(canon)-1])
		if err != nil {
			t.Fatalf("canonical form %q rejected: %v", canon, err)
		}
		if d := cmp.Diff(req, again); d != "" {
			t.Fatalf("canonical round trip changed the request (-first +second):\n%s", d)
		}
		if canon2 := AppendRequest(nil, again); string(canon2) != string(canon) {
			t.Fatalf("canonical encoding is not stable: %q then %q", canon, canon2)
		}
	})
}
