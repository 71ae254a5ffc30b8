package audit

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/keychain-auth/keychain-auth/protocol"
)

// appendRecord appends r as one JSON line with a trailing newline, using seq
// and prev in place of r.Seq and r.Prev. The output decodes with
// encoding/json into a Record. It is written by hand because it is several
// times faster than json.Marshal and does not allocate (compare
// BenchmarkEncode with BenchmarkEncodeJSON), and the daemon encodes one
// record per request.
func appendRecord(buf []byte, r *Record, seq uint64, prev *[32]byte) []byte {
	buf = append(buf, `{"time":"`...)
	buf = r.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, `,"prev":"`...)
	buf = hex.AppendEncode(buf, prev[:])
	buf = append(buf, `","event":`...)
	buf = protocol.AppendString(buf, string(r.Event))
	buf = append(buf, `,"pid":`...)
	buf = strconv.AppendInt(buf, int64(r.PID), 10)
	buf = append(buf, `,"uid":`...)
	buf = strconv.AppendInt(buf, int64(r.UID), 10)
	buf = append(buf, `,"binary_path":`...)
	buf = protocol.AppendString(buf, r.BinaryPath)
	buf = append(buf, `,"binary_hash":`...)
	buf = protocol.AppendString(buf, r.BinaryHash)
	if r.VerifiedBy != "" {
		buf = append(buf, `,"verified_by":`...)
		buf = protocol.AppendString(buf, string(r.VerifiedBy))
	}
	if r.Signer != "" {
		buf = append(buf, `,"signer":`...)
		buf = protocol.AppendString(buf, r.Signer)
	}
	buf = append(buf, `,"service":`...)
	buf = protocol.AppendString(buf, r.Service)
	if r.Match != "" {
		buf = append(buf, `,"match":`...)
		buf = protocol.AppendString(buf, r.Match)
	}

	// A nil slice is written as [] so that readers never see null.
	buf = append(buf, `,"targets":[`...)
	for i, t := range r.Targets {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = protocol.AppendString(buf, t)
	}
	buf = append(buf, ']')
	if r.TargetsOmitted > 0 {
		buf = append(buf, `,"targets_omitted":`...)
		buf = strconv.AppendInt(buf, int64(r.TargetsOmitted), 10)
	}
	buf = append(buf, `,"result":`...)
	buf = protocol.AppendString(buf, string(r.Result))
	buf = append(buf, `,"reason":`...)
	buf = protocol.AppendString(buf, r.Reason)
	return append(buf, '}', '\n')
}
