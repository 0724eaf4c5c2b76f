//go:build !(linux && (amd64 || arm64))

package p2p

import "os"

// startWriteBack does nothing where sync_file_range is not used (other
// systems; 32-bit Linux, whose call splits 64-bit offsets): the
// fsync at the end of a pack writes everything.
func startWriteBack(*os.File, int64, int64) {}

// setDirect reports that f cannot be written around the page cache here.
func setDirect(*os.File, bool) bool { return false }
