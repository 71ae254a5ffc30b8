package identity

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
)

// openExecutable opens the file process pid is running. Opening the
// /proc/<pid>/exe link yields that very inode even if the path now names
// another file; Readlink gives its canonical path.
func openExecutable(pid int) (*os.File, string, error) {
	link := "/proc/" + strconv.Itoa(pid) + "/exe"
	f, err := os.Open(link)
	if err != nil {
		return nil, "", err
	}
	path, err := os.Readlink(link)
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return f, path, nil
}

func fileKey(f *os.File) (FileKey, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return FileKey{}, err
	}
	return statKey(&st), nil
}

func statKey(st *unix.Stat_t) FileKey {
	return FileKey{
		Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		MtimeSec: st.Mtim.Sec, MtimeNsec: st.Mtim.Nsec,
		CtimeSec: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec,
	}
}

// checkSameExecutable confirms pid still runs the file identified by key.
func checkSameExecutable(pid int, key FileKey) error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st); err != nil {
		return peercred.ErrProcessGone
	}
	got := statKey(&st)
	if got.Dev != key.Dev || got.Ino != key.Ino {
		return peercred.ErrProcessGone
	}
	return nil
}

// CommandLine returns the arguments of process pid. The process can rewrite
// this memory, so it is informational only (shown in the pending queue).
func CommandLine(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, err
	}
	return ParseCmdline(data), nil
}

// ParseCmdline splits a NUL-separated argument buffer.
func ParseCmdline(data []byte) []string {
	s := strings.TrimRight(string(data), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
