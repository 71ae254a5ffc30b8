package identity

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
)

// macOS has no /proc/<pid>/exe: there is no way to open the very file a
// process runs, only to ask the kernel for its current path (proc_pidpath)
// and open that path. The checks below narrow the window between the two:
//
//   - the opened file's change time must not be later than the process start
//     time, because putting any file at a path (copy, rename, hard link)
//     sets its change time to now;
//   - proc_pidpath must return the same path after the open, and
//     checkSameExecutable compares the device and inode at that path again
//     after hashing.
//
// NOTE: a same-user process that can write the directory of a registered
// binary could still swap files between the path lookup and the open. The
// exact check would compare with the vnode of the process's text segment
// (proc_pidinfo PROC_PIDREGIONPATHINFO), whose structure layout this
// package does not decode yet.

// Constants of the proc_info system call from <sys/proc_info.h>, which
// golang.org/x/sys/unix does not define. proc_pidpath(3) in libproc is a
// wrapper around proc_info(PROC_INFO_CALL_PIDINFO, pid, PROC_PIDPATHINFO).
const (
	procInfoCallPIDInfo = 2
	procPIDPathInfo     = 11
	procPIDPathInfoSize = 4 * 1024 // PROC_PIDPATHINFO_MAXSIZE, 4*MAXPATHLEN
)

func openExecutable(pid int) (*os.File, string, error) {
	raw, err := procPIDPath(pid)
	if err != nil {
		return nil, "", err
	}
	path, err := CanonicalPath(raw)
	if err != nil {
		return nil, "", fmt.Errorf("resolve %q: %w", raw, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	if err := checkOpenedExecutable(f, pid, path); err != nil {
		f.Close()
		return nil, "", err
	}
	return f, path, nil
}

// checkOpenedExecutable applies the checks described at the top of the file
// to f, opened from path for process pid.
func checkOpenedExecutable(f *os.File, pid int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%q is not a regular file", path)
	}

	start, err := processStart(pid)
	if err != nil {
		return peercred.ErrProcessGone
	}
	changed := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	if changed.After(start) {
		return fmt.Errorf("executable %q changed at %s, after process %d started at %s; restart the program", path, changed.UTC().Format(time.RFC3339Nano), pid, start.UTC().Format(time.RFC3339Nano))
	}

	again, err := procPIDPath(pid)
	if err != nil {
		return peercred.ErrProcessGone
	}
	if canonical, err := CanonicalPath(again); err != nil || canonical != path {
		return fmt.Errorf("executable of pid %d moved from %q while it was opened", pid, path)
	}
	return nil
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
		Dev: uint64(uint32(st.Dev)), Ino: st.Ino, Size: st.Size,
		MtimeSec: st.Mtim.Sec, MtimeNsec: st.Mtim.Nsec,
		CtimeSec: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec,
	}
}

// checkSameExecutable confirms the path of pid's executable still names the
// file identified by key.
func checkSameExecutable(pid int, key FileKey) error {
	raw, err := procPIDPath(pid)
	if err != nil {
		return peercred.ErrProcessGone
	}
	var st unix.Stat_t
	if err := unix.Stat(raw, &st); err != nil {
		return peercred.ErrProcessGone
	}
	got := statKey(&st)
	if got.Dev != key.Dev || got.Ino != key.Ino {
		return peercred.ErrProcessGone
	}
	return nil
}

// CommandLine returns the arguments of process pid from the kern.procargs2
// sysctl. The process can rewrite this memory, so it is informational only
// (shown in the pending queue).
func CommandLine(pid int) ([]string, error) {
	buf, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return nil, fmt.Errorf("read arguments of pid %d: %w", pid, err)
	}
	_, args, err := parseProcArgs2(buf)
	if err != nil {
		return nil, err
	}
	return args, nil
}

// procPIDPath returns the path of the executable of process pid, as
// proc_pidpath(3) does.
func procPIDPath(pid int) (string, error) {
	buf := make([]byte, procPIDPathInfoSize)
	_, _, errno := unix.Syscall6(unix.SYS_PROC_INFO, procInfoCallPIDInfo, uintptr(pid), procPIDPathInfo, 0,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if errno != 0 {
		return "", fmt.Errorf("proc_pidpath(%d): %w", pid, errno)
	}
	n := bytes.IndexByte(buf, 0)
	if n <= 0 {
		return "", errors.New("proc_pidpath returned an empty path")
	}
	return string(buf[:n]), nil
}

// processStart returns the start time of process pid from the kern.proc.pid
// sysctl.
func processStart(pid int) (time.Time, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return time.Time{}, err
	}
	if int(kp.Proc.P_pid) != pid {
		return time.Time{}, fmt.Errorf("sysctl kern.proc.pid.%d returned pid %d", pid, kp.Proc.P_pid)
	}
	return time.Unix(kp.Proc.P_starttime.Unix()), nil
}
