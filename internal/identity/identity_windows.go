package identity

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/keychain-auth/keychain-auth/internal/peercred"
)

// Windows has no way to open the image file of a running process by its
// identity: QueryFullProcessImageName returns a path, and this file opens
// that path. A running image cannot be written or deleted, but it can be
// renamed, so the opened file is checked against the process. Its creation
// time must not be later than the process's. After hashing,
// checkSameExecutable compares the volume serial and file index at the path
// again.
//
// NOTE: a same-user process that can write the directory of a registered
// binary could rename that binary into the path of its own running image
// between the lookup and the open; renames keep creation times, so that
// swap is not detected. Binaries under Program Files, which only
// administrators can write, are not exposed to it.

func openExecutable(pid int) (*os.File, string, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return nil, "", fmt.Errorf("open process: %w", err)
	}
	defer windows.CloseHandle(h)

	raw, err := imageName(h)
	if err != nil {
		return nil, "", err
	}
	// The same resolution as register and HashFile, so paths compare equal.
	path, err := CanonicalPath(raw)
	if err != nil {
		return nil, "", fmt.Errorf("resolve %q: %w", raw, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	if err := checkOpenedExecutable(f, h, path); err != nil {
		f.Close()
		return nil, "", err
	}
	return f, path, nil
}

// checkOpenedExecutable confirms f, opened from path, is a file whose final
// path is path and which existed when process h was created.
func checkOpenedExecutable(f *os.File, h windows.Handle, path string) error {
	fh := windows.Handle(f.Fd())
	final, err := finalPath(fh)
	if err != nil {
		return err
	}
	if !strings.EqualFold(final, path) {
		return fmt.Errorf("executable %q resolves to %q after opening", path, final)
	}

	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(fh, &info); err != nil {
		return fmt.Errorf("read file information of %q: %w", path, err)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		return fmt.Errorf("%q is a directory", path)
	}
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &creation, &exit, &kernel, &user); err != nil {
		return peercred.ErrProcessGone
	}
	fileCreated := time.Unix(0, info.CreationTime.Nanoseconds())
	processCreated := time.Unix(0, creation.Nanoseconds())
	if fileCreated.After(processCreated) {
		return fmt.Errorf("executable %q was created at %s, after the process started at %s; restart the program", path, fileCreated.UTC().Format(time.RFC3339Nano), processCreated.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// fileBasicInfo is FILE_BASIC_INFO from <winbase.h>. Its times are FILETIME
// values (100 ns intervals since 1601).
type fileBasicInfo struct {
	CreationTime   int64
	LastAccessTime int64
	LastWriteTime  int64
	ChangeTime     int64
	FileAttributes uint32
	_              uint32
}

// fileKey identifies a file version by volume serial number, file index,
// size, last write time and change time. The change time (FILE_BASIC_INFO)
// is used because SetFileTime can set the last write time back but not it.
// NOTE: NtSetInformationFile can set the change time too, so a same-user
// process could modify a registered binary and restore both times. The USN
// of the NTFS change journal would be a stamp it cannot forge.
func fileKey(f *os.File) (FileKey, error) {
	fh := windows.Handle(f.Fd())
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(fh, &info); err != nil {
		return FileKey{}, err
	}
	var basic fileBasicInfo
	if err := windows.GetFileInformationByHandleEx(fh, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic))); err != nil {
		return FileKey{}, err
	}
	return fileKeyFromInfo(&info, &basic), nil
}

func fileKeyFromInfo(info *windows.ByHandleFileInformation, basic *fileBasicInfo) FileKey {
	write := time.Unix(0, info.LastWriteTime.Nanoseconds())
	change := filetimeToTime(basic.ChangeTime)
	return FileKey{
		Dev:      uint64(info.VolumeSerialNumber),
		Ino:      uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow),
		Size:     int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		MtimeSec: write.Unix(), MtimeNsec: int64(write.Nanosecond()),
		CtimeSec: change.Unix(), CtimeNsec: int64(change.Nanosecond()),
	}
}

func filetimeToTime(ft int64) time.Time {
	f := windows.Filetime{LowDateTime: uint32(ft), HighDateTime: uint32(ft >> 32)}
	return time.Unix(0, f.Nanoseconds())
}

// checkSameExecutable confirms that the image path of pid still names the
// file identified by key.
func checkSameExecutable(pid int, key FileKey) error {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return peercred.ErrProcessGone
	}
	defer windows.CloseHandle(h)
	raw, err := imageName(h)
	if err != nil {
		return peercred.ErrProcessGone
	}
	f, err := os.Open(raw)
	if err != nil {
		return peercred.ErrProcessGone
	}
	defer f.Close()
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		return peercred.ErrProcessGone
	}
	got := fileKeyFromInfo(&info, &fileBasicInfo{})
	if got.Dev != key.Dev || got.Ino != key.Ino {
		return peercred.ErrProcessGone
	}
	return nil
}

// CommandLine returns the arguments of process pid, read with
// NtQueryInformationProcess(ProcessCommandLineInformation) (Windows 8.1 and
// later) and split by the rules of CommandLineToArgvW. The process can
// rewrite this memory, so it is informational only.
func CommandLine(pid int) ([]string, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return nil, fmt.Errorf("read arguments of pid %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)

	size := uint32(4096)
	for range 4 {
		buf := make([]byte, size)
		err = windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, unsafe.Pointer(&buf[0]), size, &size)
		if err == nil {
			us := (*windows.NTUnicodeString)(unsafe.Pointer(&buf[0]))
			return windows.DecomposeCommandLine(us.String())
		}
		if err != windows.STATUS_INFO_LENGTH_MISMATCH && err != windows.STATUS_BUFFER_TOO_SMALL {
			break
		}
	}
	return nil, fmt.Errorf("read arguments of pid %d: %w", pid, err)
}

// imageName returns the Win32 path of the image of process h.
func imageName(h windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return "", fmt.Errorf("QueryFullProcessImageName: %w", err)
	}
	return windows.UTF16ToString(buf[:n]), nil
}

// Flags of GetFinalPathNameByHandle from <fileapi.h>, which
// golang.org/x/sys/windows does not define: a normalized name with a drive
// letter.
const (
	fileNameNormalized = 0x0
	volumeNameDOS      = 0x0
)

// finalPath returns the path of the open file fh with links resolved.
func finalPath(fh windows.Handle) (string, error) {
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n, err := windows.GetFinalPathNameByHandle(fh, &buf[0], uint32(len(buf)), fileNameNormalized|volumeNameDOS)
	if err != nil {
		return "", fmt.Errorf("GetFinalPathNameByHandle: %w", err)
	}
	if int(n) >= len(buf) {
		return "", fmt.Errorf("GetFinalPathNameByHandle: path of %d characters is too long", n)
	}
	return trimFinalPathPrefix(windows.UTF16ToString(buf[:n])), nil
}
