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
