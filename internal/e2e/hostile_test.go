//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// hostileCase is one request line (sent as is, then a newline) and the
// responses it must produce. When open is true, the daemon must then
// serve a valid request on the same connection. Otherwise it must have
// closed the connection.
type hostileCase struct {
	name string
	line string
	want []string
	open bool
}

const probeRead = `{"type":"REQUEST","action":"read","service":"svc","targets":["probe:missing"]}`

// padTarget returns a read request for one target, padded so that the line
// is exactly n bytes long.
func padTarget(n int) string {
	head := `{"type":"REQUEST","action":"read","service":"svc","targets":["`
	tail := `"]}`
	return head + strings.Repeat("p", n-len(head)-len(tail)) + tail
}

// manyTargets returns a JSON array of n distinct targets with the prefix.
func manyTargets(prefix string, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s%05d"`, prefix, i)
	}
	b.WriteByte(']')
	return b.String()
}

func hostileCases() []hostileCase {
	one := func(want string) []string { return []string{want} }
	bad := func(name, line string) hostileCase {
		return hostileCase{name: name, line: line, want: one(malformed), open: true}
	}
	ok := func(name, line string) hostileCase {
		return hostileCase{name: name, line: line, want: one(okEmpty), open: true}
	}
	r := func(fields string) string {
		return `{"type":"REQUEST","action":"read","service":"svc","targets":["k"]` + fields + `}`
	}
	w := func(fields string) string {
		return `{"type":"REQUEST","action":"write","service":"svc"` + fields + `}`
	}

	cases := []hostileCase{
		// Not JSON, or not a JSON object.
		bad("empty line", ``),
		bad("spaces only", `   `),
		bad("plain text", `hello`),
		bad("open brace", `{`),
		bad("close brace", `}`),
		bad("array", `[]`),
		bad("array of request", `[`+req("read", "svc", "k")+`]`),
		bad("string", `"REQUEST"`),
		bad("number", `42`),
		bad("true", `true`),
		bad("null", `null`),
		bad("empty object", `{}`),
		bad("single quotes", `{'type':'REQUEST','action':'read','service':'svc','targets':['k']}`),
		bad("unquoted keys", `{type:"REQUEST",action:"read",service:"svc",targets:["k"]}`),
		bad("trailing comma in object", r(`,`)),
		bad("trailing comma in array", `{"type":"REQUEST","action":"read","service":"svc","targets":["k",]}`),
		bad("missing closing brace", `{"type":"REQUEST","action":"read","service":"svc","targets":["k"]`),
		bad("missing colon", `{"type" "REQUEST","action":"read","service":"svc","targets":["k"]}`),
		bad("comment", `{"type":"REQUEST",/*c*/"action":"read","service":"svc","targets":["k"]}`),
		bad("invalid escape", `{"type":"REQUEST","action":"read","service":"svc","targets":["\q"]}`),
		bad("short unicode escape", `{"type":"REQUEST","action":"read","service":"svc","targets":["\u12"]}`),
		bad("unpaired high surrogate", `{"type":"REQUEST","action":"read","service":"svc","targets":["\ud800"]}`),
		bad("unpaired low surrogate", `{"type":"REQUEST","action":"read","service":"svc","targets":["\udc00x"]}`),
		bad("NaN", `{"type":"REQUEST","action":"read","service":"svc","targets":["k"],"values":NaN}`),
		bad("deep nesting", strings.Repeat("[", 100000)),

		// Wrong JSON types, field by field.
		bad("type number", `{"type":1,"action":"read","service":"svc","targets":["k"]}`),
		bad("type null", `{"type":null,"action":"read","service":"svc","targets":["k"]}`),
		bad("type array", `{"type":["REQUEST"],"action":"read","service":"svc","targets":["k"]}`),
		bad("type lower case", `{"type":"request","action":"read","service":"svc","targets":["k"]}`),
		bad("type RESPONSE", `{"type":"RESPONSE","action":"read","service":"svc","targets":["k"]}`),
		bad("type missing", `{"action":"read","service":"svc","targets":["k"]}`),
		bad("action number", `{"type":"REQUEST","action":0,"service":"svc","targets":["k"]}`),
		bad("action bool", `{"type":"REQUEST","action":true,"service":"svc","targets":["k"]}`),
		bad("action upper case", `{"type":"REQUEST","action":"READ","service":"svc","targets":["k"]}`),
		bad("action unknown", `{"type":"REQUEST","action":"list","service":"svc","targets":["k"]}`),
		bad("action empty", `{"type":"REQUEST","action":"","service":"svc","targets":["k"]}`),
		bad("action missing", `{"type":"REQUEST","service":"svc","targets":["k"]}`),
		bad("service number", `{"type":"REQUEST","action":"read","service":1,"targets":["k"]}`),
		bad("service object", `{"type":"REQUEST","action":"read","service":{},"targets":["k"]}`),
		bad("service null", `{"type":"REQUEST","action":"read","service":null,"targets":["k"]}`),
		bad("service empty", `{"type":"REQUEST","action":"read","service":"","targets":["k"]}`),
		bad("service missing", `{"type":"REQUEST","action":"read","targets":["k"]}`),
		bad("match number", r(`,"match":1`)),
		bad("match null", r(`,"match":null`)),
		bad("match unknown", r(`,"match":"fuzzy"`)),
		bad("match upper case", r(`,"match":"PREFIX"`)),
		bad("match empty", r(`,"match":""`)),
		bad("targets string", `{"type":"REQUEST","action":"read","service":"svc","targets":"k"}`),
		bad("targets null", `{"type":"REQUEST","action":"read","service":"svc","targets":null}`),
		bad("targets object", `{"type":"REQUEST","action":"read","service":"svc","targets":{"k":"v"}}`),
		bad("target number", `{"type":"REQUEST","action":"read","service":"svc","targets":[1]}`),
		bad("target null", `{"type":"REQUEST","action":"read","service":"svc","targets":[null]}`),
		bad("target nested array", `{"type":"REQUEST","action":"read","service":"svc","targets":[["k"]]}`),
		bad("values string", w(`,"targets":["k"],"values":"v"`)),
		bad("values null", w(`,"targets":["k"],"values":null`)),
		bad("value number", w(`,"targets":["k"],"values":[1]`)),
		bad("value null", w(`,"targets":["k"],"values":[null]`)),
		bad("attributes array", r(`,"attributes":["a"]`)),
		bad("attributes string", r(`,"attributes":"a=b"`)),
		bad("attributes null", r(`,"attributes":null`)),
		bad("attribute value number", r(`,"attributes":{"a":1}`)),
		bad("attribute value null", r(`,"attributes":{"a":null}`)),
		bad("attribute value object", r(`,"attributes":{"a":{}}`)),

		// Unknown fields and fields spelled in another case.
		bad("unknown field", r(`,"extra":1`)),
		bad("unknown field null", r(`,"extra":null`)),
		bad("unknown field id", r(`,"id":"1"`)),
		bad("Type capitalised", `{"Type":"REQUEST","action":"read","service":"svc","targets":["k"]}`),
		bad("TYPE upper case", `{"TYPE":"REQUEST","action":"read","service":"svc","targets":["k"]}`),
		bad("Action capitalised", `{"type":"REQUEST","Action":"read","service":"svc","targets":["k"]}`),
		bad("Service capitalised", `{"type":"REQUEST","action":"read","Service":"svc","targets":["k"]}`),
		bad("Targets capitalised", `{"type":"REQUEST","action":"read","service":"svc","Targets":["k"]}`),
		bad("Values capitalised", w(`,"targets":["k"],"Values":["v"]`)),
		bad("Match capitalised", r(`,"Match":"exact"`)),
		bad("Attributes capitalised", r(`,"Attributes":{}`)),
		ok("field name spelled with an escape", `{"typ\u0065":"REQUEST","action":"read","service":"svc","targets":["k"]}`),
		bad("field with trailing space", `{"type ":"REQUEST","action":"read","service":"svc","targets":["k"]}`),

		// Duplicate keys.
		bad("duplicate type", `{"type":"REQUEST","type":"REQUEST","action":"read","service":"svc","targets":["k"]}`),
		bad("duplicate action", `{"type":"REQUEST","action":"read","action":"write","service":"svc","targets":["k"]}`),
		bad("duplicate service", `{"type":"REQUEST","action":"read","service":"svc","service":"other","targets":["k"]}`),
		bad("duplicate targets", r(`,"targets":["j"]`)),
		bad("duplicate attribute", r(`,"attributes":{"a":"1","a":"2"}`)),
		bad("duplicate attribute by escape", r(`,"attributes":{"a":"1","\u0061":"2"}`)),

		// Anything after the object.
		bad("trailing word", r(``)+` trailing`),
		bad("trailing object", r(``)+`{}`),
		bad("two requests on a line", r(``)+r(``)),
		bad("trailing comma", r(``)+`,`),
		bad("trailing NUL", r(``)+"\x00"),
		ok("trailing spaces", r(``)+"   \t"),
		ok("leading spaces", "  \t"+r(``)),
		ok("carriage return line end", r(``)+"\r"),

		// Empty and huge targets.
		bad("empty target", `{"type":"REQUEST","action":"read","service":"svc","targets":[""]}`),
		bad("empty target among others", `{"type":"REQUEST","action":"read","service":"svc","targets":["a","","b"]}`),
		bad("read without targets", `{"type":"REQUEST","action":"read","service":"svc"}`),
		bad("read empty targets", `{"type":"REQUEST","action":"read","service":"svc","targets":[]}`),
		bad("delete empty targets", `{"type":"REQUEST","action":"delete","service":"svc","targets":[]}`),
		bad("write empty targets", w(`,"targets":[],"values":[]`)),
		bad("search empty target", `{"type":"REQUEST","action":"search","service":"svc","targets":[""]}`),
		ok("search without targets", `{"type":"REQUEST","action":"search","service":"svc"}`),
		ok("search empty targets", `{"type":"REQUEST","action":"search","service":"svc","targets":[]}`),
		ok("512 KiB target", `{"type":"REQUEST","action":"read","service":"svc","targets":["`+strings.Repeat("t", 512<<10)+`"]}`),
		{name: "512 KiB service", line: `{"type":"REQUEST","action":"read","service":"` + strings.Repeat("s", 512<<10) + `","targets":["k"]}`, want: one(deniedSvc), open: true},
		ok("10000 targets read", `{"type":"REQUEST","action":"read","service":"svc","targets":`+manyTargets("huge:", 10000)+`}`),
		ok("10000 targets delete", `{"type":"REQUEST","action":"delete","service":"svc","targets":`+manyTargets("huge:", 10000)+`}`),
		ok("10000 targets search", `{"type":"REQUEST","action":"search","service":"svc","targets":`+manyTargets("huge:", 10000)+`}`),
		ok("10000 targets write", w(`,"targets":`+manyTargets("many:", 10000)+`,"values":`+manyTargets("value-", 10000))),
		{name: "10000 targets write denied", line: `{"type":"REQUEST","action":"write","service":"ro","targets":` + manyTargets("many:", 10000) + `,"values":` + manyTargets("value-", 10000) + `}`, want: one(deniedSvc), open: true},

		// NUL and newline inside strings.
		bad("raw NUL in target", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"k\x00\"]}"),
		bad("raw NUL in service", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"s\x00vc\",\"targets\":[\"k\"]}"),
		bad("raw tab in target", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"k\t\"]}"),
		bad("raw control byte in value", w(",\"targets\":[\"k\"],\"values\":[\"v\x1f\"]")),
		ok("escaped NUL in target", `{"type":"REQUEST","action":"read","service":"svc","targets":["k\u0000"]}`),
		ok("escaped newline in target", `{"type":"REQUEST","action":"read","service":"svc","targets":["k\n"]}`),
		ok("escaped NUL in value", w(`,"targets":["nul:k"],"values":["a\u0000b"]`)),
		{name: "raw newline in target", line: "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"k\n\"]}", want: []string{malformed, malformed}, open: true},
		{name: "raw newline between fields", line: "{\"type\":\"REQUEST\",\n\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"k\"]}", want: []string{malformed, malformed}, open: true},

		// Invalid UTF-8.
		bad("invalid byte in target", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"\xff\"]}"),
		bad("overlong slash", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"\xc0\xaf\"]}"),
		bad("truncated sequence", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"\xe2\x82\"]}"),
		bad("UTF-8 encoded surrogate", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"\xed\xa0\x80\"]}"),
		bad("invalid byte in service", "{\"type\":\"REQUEST\",\"action\":\"read\",\"service\":\"sv\xfe\",\"targets\":[\"k\"]}"),
		bad("invalid byte in attribute key", r(",\"attributes\":{\"\xff\":\"v\"}")),
		bad("invalid byte outside strings", "{\"type\":\"REQUEST\",\xff\"action\":\"read\",\"service\":\"svc\",\"targets\":[\"k\"]}"),
		bad("UTF-8 byte order mark", "\xef\xbb\xbf"+r(``)),
		ok("valid multibyte target", `{"type":"REQUEST","action":"read","service":"svc","targets":["clé-密钥-🔑"]}`),

		// Line size limits: 1 MiB is accepted, one byte more closes.
		ok("exactly 1 MiB", padTarget(1<<20)),
		ok("1 MiB minus 1", padTarget(1<<20-1)),
		{name: "1 MiB plus 1", line: padTarget(1<<20 + 1), want: one(malformed), open: false},
		{name: "2 MiB", line: padTarget(2 << 20), want: one(malformed), open: false},
		{name: "1 MiB plus 1 of spaces", line: strings.Repeat(" ", 1<<20+1), want: one(malformed), open: false},

		// Values that do not match the targets or the action.
		bad("fewer values", w(`,"targets":["a","b"],"values":["1"]`)),
		bad("more values", w(`,"targets":["a"],"values":["1","2"]`)),
		bad("write without values", w(`,"targets":["a"]`)),
		bad("write empty values", w(`,"targets":["a"],"values":[]`)),
		bad("values on read", r(`,"values":["v"]`)),
		bad("values on delete", `{"type":"REQUEST","action":"delete","service":"svc","targets":["k"],"values":["v"]}`),
		bad("values on search", `{"type":"REQUEST","action":"search","service":"svc","values":["v"]}`),
		bad("write with prefix", w(`,"match":"prefix","targets":["a"],"values":["1"]`)),
		ok("write with exact", w(`,"match":"exact","targets":["exact:a"],"values":["1"]`)),
		ok("write empty value", w(`,"targets":["empty:a"],"values":[""]`)),
		ok("write with attributes", w(`,"targets":["attr:a"],"values":["1"],"attributes":{"env":"prod"}`)),
		ok("read with empty attributes", r(`,"attributes":{}`)),
	}
	return cases
}

// TestHostileInput sends every hostile line on its own connection and
// checks the exact responses, whether the connection stays usable, and
// that the daemon's memory stays bounded.
func TestHostileInput(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.registerSelf("--read", "svc", "--read", "ro", "--write", "svc", "--search")
	pid := e.daemonPID()
	rssBefore := procStatus(t, pid, "VmRSS")

	cases := hostileCases()
	if len(cases) < 100 {
		t.Fatalf("only %d hostile cases; the suite promises at least 100", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial()
			defer c.c.Close()
			c.t = t
			c.send(tc.line)
			for i, want := range tc.want {
				if got := c.recv(); got != want {
					t.Fatalf("response %d = %.200s; want %s", i, got, want)
				}
			}
			c.send(probeRead)
			got := c.recv()
			switch {
			case tc.open && got != okEmpty:
				t.Errorf("valid request after the case got %.200s; want %s (connection kept open)", got, okEmpty)
			case !tc.open && got != "EOF":
				t.Errorf("valid request after the case got %.200s; want the connection closed", got)
			}
		})
	}

	// Repeating the largest inputs must not grow the daemon without bound.
	for range 20 {
		c := e.dial()
		c.send(padTarget(1<<20 + 1))
		c.recv()
		c.c.Close()
		c = e.dial()
		c.send(padTarget(1 << 20))
		c.recv()
		c.c.Close()
	}
	e.checkAlive()
	rss, peak := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmHWM")
	t.Logf("%d hostile cases; daemon VmRSS %d KiB before, %d KiB after, peak %d KiB", len(cases), rssBefore, rss, peak)
	const maxRSS = 128 << 10 // KiB
	if peak > maxRSS {
		t.Errorf("daemon peak VmHWM = %d KiB; want at most %d KiB", peak, maxRSS)
	}
}

// rights is one permission set granted to a client in the matrix test.
type rights struct {
	name                string
	read, write, search bool
}

// wantMatrix returns the response the protocol document prescribes for a
// request on a service the client may or may not use. Every successful
// request in the matrix touches only keys that do not exist, so success is
// always the empty response.
func wantMatrix(action, match string, r rights) string {
	switch {
	case action == "write" && match == "prefix":
		return malformed
	case action == "read" && !r.read, action == "search" && !r.read:
		return deniedSvc
	case action == "write" && !r.write, action == "delete" && !r.write:
		return deniedSvc
	case action == "search" && !r.search:
		return deniedAction
	case match == "prefix" && !r.search:
		return deniedAction
	}
	return okEmpty
}

// TestActionMatchPermissionMatrix sends every action with every match
// value from clients holding every combination of rights, each client a
// separately registered binary.
func TestActionMatchPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	e.start()
	sets := []rights{
		{name: "none"},
		{name: "search-only", search: true},
		{name: "read", read: true},
		{name: "read-search", read: true, search: true},
		{name: "write", write: true},
		{name: "write-search", write: true, search: true},
		{name: "read-write", read: true, write: true},
		{name: "all", read: true, write: true, search: true},
	}
	actions := []string{"read", "write", "delete", "search"}
	matches := []string{"", "exact", "prefix"}

	var total int
	for _, set := range sets {
		var grants []string
		if set.read {
			grants = append(grants, "--read", "svc")
		}
		if set.write {
			grants = append(grants, "--write", "svc")
		}
		if set.search {
			grants = append(grants, "--search")
		}
		client := e.copyClient("matrix-" + set.name)
		e.mustCLI("register", client)
		if len(grants) > 0 {
			e.mustCLI(append([]string{"grant", client}, grants...)...)
		}

		var lines, want, names []string
		for _, action := range actions {
			for _, match := range matches {
				line := `{"type":"REQUEST","action":"` + action + `","service":"svc"`
				if match != "" {
					line += `,"match":"` + match + `"`
				}
				line += `,"targets":["matrix:none"]`
				if action == "write" {
					line += `,"values":["v"]`
				}
				lines = append(lines, line+"}")
				want = append(want, wantMatrix(action, match, set))
				names = append(names, fmt.Sprintf("%s match=%q", action, match))
			}
		}
		// Another service is never granted: everything but the malformed
		// write is denied.
		lines = append(lines, req("read", "other", "k"), req("delete", "other", "k"), `{"type":"REQUEST","action":"search","service":"other"}`)
		want = append(want, deniedSvc, deniedSvc, deniedSvc)
		names = append(names, "read other", "delete other", "search other")

		got := e.run(client, lines, "-pipeline")
		if len(got) != len(lines) {
			t.Fatalf("%s: got %d responses for %d requests: %q", set.name, len(got), len(lines), got)
		}
		for i := range lines {
			if got[i] != want[i] {
				t.Errorf("%s: %s = %s; want %s", set.name, names[i], got[i], want[i])
			}
		}
		total += len(lines)
	}
	t.Logf("%d requests over %d permission sets", total, len(sets))
}
