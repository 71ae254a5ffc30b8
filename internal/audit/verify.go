package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// BreakKind is the kind of damage Verify found at a point in the chain.
type BreakKind string

// Break kinds.
const (
	// BreakEdited is a record whose bytes no longer match the hash stored in
	// the next record, or a complete line that is not a valid record.
	BreakEdited BreakKind = "edited"
	// BreakRemoved is a gap in seq: records are missing before this one.
	BreakRemoved BreakKind = "removed"
	// BreakReordered is a record out of seq order.
	BreakReordered BreakKind = "reordered"
	// BreakTorn is an incomplete line, left by a crash or a failed write
	// in the middle of a record, or a file cut short inside a record.
	BreakTorn BreakKind = "torn"
)

// maxBreaks is the maximum number of breaks a Report lists.
const maxBreaks = 100

// Break is one point where the chain does not hold.
type Break struct {
	File   string
	Line   int    // 1-based line number in File
	Seq    uint64 // 0 when the line is not a valid record
	Kind   BreakKind
	Detail string
}

func (b Break) String() string {
	return fmt.Sprintf("%s:%d: seq %d %s: %s", b.File, b.Line, b.Seq, b.Kind, b.Detail)
}

// Report is the result of Verify.
type Report struct {
	Files    []string // files checked, oldest first
	Records  int      // valid records read
	FirstSeq uint64   // seq of the oldest record, 0 if there is none
	LastSeq  uint64   // seq of the newest record
	LastHash string   // hex SHA-256 of the newest record's line
	// MidChain is set when the oldest record is not seq 1. That is normal
	// once rotation has deleted older files, and it is not a break, but the
	// records before FirstSeq can no longer be checked.
	MidChain bool
	// Breaks lists the damage found, in log order, so Breaks[0] is the first
	// broken record. After a break, checking goes on from the next valid
	// record. At most maxBreaks are listed.
	Breaks []Break
}

// OK reports whether the chain has no breaks.
func (r *Report) OK() bool { return len(r.Breaks) == 0 }

// chainPoint is the last record accepted into the chain.
type chainPoint struct {
	seq  uint64
	hash string // hex SHA-256 of the line
	prev string // the record's own prev
	file string
	line int
}

// follows reports whether l is the record that comes right after p.
func (p *chainPoint) follows(l link) bool {
	return l.Seq == p.seq+1 && l.Prev == p.hash
}

// Verify checks the chain across the rotated files, oldest first, and then
// audit.log. Each line must be a valid record whose seq is one more than the
// previous record's and whose prev is the hash of the previous line. Damage
// goes in the Report, and the error is only for files that cannot be read.
// Removing whole records from the end of audit.log leaves a valid chain, so
// compare Report.LastSeq with a copy kept elsewhere to detect it.
func Verify(dir string) (Report, error) {
	files, err := logFiles(dir)
	if err != nil {
		return Report{}, fmt.Errorf("verify audit log: %w", err)
	}
	rep := Report{Files: files}
	lr, err := newLineReader(files)
	if err != nil {
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	defer lr.close()

	// The chain starts before seq 1 with an all-zero hash. started is false
	// until the first valid record, which may begin mid-chain.
	point := chainPoint{hash: strings.Repeat("0", 64)}
	started := false
	for {
		ln, ok, err := lr.read()
		if err != nil {
			return rep, fmt.Errorf("verify audit log: %w", err)
		}
		if !ok {
			break
		}

		rec, parseErr := parseLine(ln)
		if parseErr != nil {
			kind, err := classifyInvalid(lr, ln, &point)
			if err != nil {
				return rep, fmt.Errorf("verify audit log: %w", err)
			}
			rep.addBreak(Break{File: ln.file, Line: ln.number, Kind: kind, Detail: parseErr.Error()})
			continue
		}

		sum := sha256.Sum256(ln.data)
		current := chainPoint{seq: rec.Seq, hash: hex.EncodeToString(sum[:]), prev: rec.Prev, file: ln.file, line: ln.number}
		rep.Records++
		if !started {
			started = true
			rep.FirstSeq = rec.Seq
			if rec.Seq > 1 {
				rep.MidChain = true
			} else if !point.follows(rec) {
				rep.addBreak(Break{File: ln.file, Line: ln.number, Seq: rec.Seq, Kind: BreakEdited,
					Detail: "the first record's prev is not all zeros"})
			}
			point = current
			continue
		}

		next, err := checkLink(lr, &point, &current, rec, &rep)
		if err != nil {
			return rep, fmt.Errorf("verify audit log: %w", err)
		}
		point = next
	}

	if started {
		rep.LastSeq, rep.LastHash = point.seq, point.hash
	}
	return rep, nil
}

// checkLink checks rec, read at current, against the last accepted point.
// It records any break and returns the point to continue from.
func checkLink(lr *lineReader, point, current *chainPoint, rec link, rep *Report) (chainPoint, error) {
	want := point.seq + 1
	switch {
	case point.follows(rec):
		return *current, nil

	case rec.Seq == want:
		rep.addBreak(Break{File: point.file, Line: point.line, Seq: point.seq, Kind: BreakEdited,
			Detail: fmt.Sprintf("the record's hash does not match prev of seq %d (%s:%d)", rec.Seq, current.file, current.line)})
		return *current, nil

	case current.hash == point.hash:
		rep.addBreak(Break{File: current.file, Line: current.line, Seq: rec.Seq, Kind: BreakReordered,
			Detail: "the line repeats the previous record"})
		return *point, nil

	case rec.Seq == point.seq && rec.Prev == point.prev:
		// The same seq was written twice. A write that failed just before
		// its newline leaves a complete record, and the retry reuses its seq.
		rep.addBreak(Break{File: point.file, Line: point.line, Seq: point.seq, Kind: BreakTorn,
			Detail: fmt.Sprintf("a failed write; seq %d is written again at %s:%d", rec.Seq, current.file, current.line)})
		return *current, nil

	case rec.Seq < want:
		// Skip the out-of-place record so that the records after it are
		// still checked against the point before it.
		rep.addBreak(Break{File: current.file, Line: current.line, Seq: rec.Seq, Kind: BreakReordered,
			Detail: fmt.Sprintf("seq %d comes after seq %d", rec.Seq, point.seq)})
		return *point, nil
	}

	// rec.Seq > want: either records are missing, or the missing one comes
	// next because two records were swapped.
	following, ok, err := lr.peek()
	if err != nil {
		return chainPoint{}, err
	}
	if ok {
		if next, err := parseLine(following); err == nil && next.Seq == want {
			rep.addBreak(Break{File: current.file, Line: current.line, Seq: rec.Seq, Kind: BreakReordered,
				Detail: fmt.Sprintf("seq %d comes before seq %d", rec.Seq, next.Seq)})
			lr.read()
			rep.Records++
			return *current, nil
		}
	}
	rep.addBreak(Break{File: current.file, Line: current.line, Seq: rec.Seq, Kind: BreakRemoved,
		Detail: fmt.Sprintf("seq jumps from %d to %d: %d records missing", point.seq, rec.Seq, rec.Seq-want)})
	return *current, nil
}

// classifyInvalid decides whether a line that is not a valid record is torn
// or edited. A line without its newline is torn. So is a complete line when
// the next record links to the record before it: that is how Log continues
// after a crash or a short write.
func classifyInvalid(lr *lineReader, ln line, point *chainPoint) (BreakKind, error) {
	if !ln.complete {
		return BreakTorn, nil
	}
	following, ok, err := lr.peek()
	if err != nil || !ok {
		return BreakEdited, err
	}
	if next, err := parseLine(following); err == nil && point.follows(next) {
		return BreakTorn, nil
	}
	return BreakEdited, nil
}

// parseLine decodes the link of a line, rejecting lines that are cut short.
func parseLine(ln line) (link, error) {
	switch {
	case ln.tooLong:
		return link{}, fmt.Errorf("line is longer than %d bytes", maxRecordSize)
	case !ln.complete:
		return link{}, fmt.Errorf("line of %d bytes has no newline", len(ln.data))
	}
	rec, err := parseLink(ln.data)
	if err != nil {
		return link{}, fmt.Errorf("not a valid record: %w", err)
	}
	return rec, nil
}

func (r *Report) addBreak(b Break) {
	if len(r.Breaks) < maxBreaks {
		r.Breaks = append(r.Breaks, b)
	}
}
