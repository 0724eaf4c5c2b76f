//go:build linux && (amd64 || arm64)

package p2p

import (
	"os"
	"syscall"
)

// startWriteBack asks the kernel to start writing the n bytes of f at off
// to disk now, without waiting for them (sync_file_range with
// SYNC_FILE_RANGE_WRITE). It is only a hint that shortens the fsync at the
// end; durability still comes from that fsync, so errors are ignored.
func startWriteBack(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
	})
}

// setDirect turns O_DIRECT on or off for f and reports whether f now has
// it as asked; a file system without direct I/O refuses it (EINVAL).
func setDirect(f *os.File, on bool) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var errno syscall.Errno
	cerr := rc.Control(func(fd uintptr) {
		var flags uintptr
		flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if errno != 0 {
			return
		}
		if on {
			flags |= syscall.O_DIRECT
		} else {
			flags &^= syscall.O_DIRECT
		}
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, flags)
	})
	return cerr == nil && errno == 0
}
