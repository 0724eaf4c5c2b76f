package memlimit

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"strconv"
	"strings"
)

// ceilingShare is the part of the memory available to the process that
// the limit may reach; the rest is for the kernel's page cache of the
// node's own store and for memory the Go runtime does not count.
const ceilingShare = 0.9

// DefaultCeiling is ceilingShare of the smallest of the machine's memory
// and the memory limits of the process's cgroups (v1 and v2); 0 when none
// can be read (not Linux).
func DefaultCeiling() int64 {
	avail := machineMemory(readFile("/proc/meminfo"))
	for _, f := range cgroupLimitFiles(readFile("/proc/self/cgroup")) {
		if n, ok := parseLimit(readFile(f)); ok && (avail == 0 || n < avail) {
			avail = n
		}
	}
	return int64(ceilingShare * float64(avail))
}

func readFile(name string) []byte {
	b, _ := os.ReadFile(name)
	return b
}

// machineMemory is MemTotal of /proc/meminfo in bytes, 0 if absent.
func machineMemory(meminfo []byte) int64 {
	s := bufio.NewScanner(bytes.NewReader(meminfo))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupLimitFiles are the files that may hold the process's memory limit,
// from /proc/self/cgroup: the cgroup v2 memory.max and the v1
// memory.limit_in_bytes, under the process's cgroup path and at the root
// of the mount (where a container sees its own cgroup).
func cgroupLimitFiles(selfCgroup []byte) []string {
	files := []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}
	s := bufio.NewScanner(bytes.NewReader(selfCgroup))
	for s.Scan() {
		f := strings.SplitN(s.Text(), ":", 3)
		if len(f) != 3 || !path.IsAbs(f[2]) {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			files = append(files, path.Join("/sys/fs/cgroup", f[2], "memory.max"))
		case hasController(f[1], "memory"):
			files = append(files, path.Join("/sys/fs/cgroup/memory", f[2], "memory.limit_in_bytes"))
		}
	}
	return files
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// parseLimit reads a cgroup memory limit; "max", a missing file and the
// v1 "unlimited" value (near 2^63) are no limit.
func parseLimit(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0, false
	}
	return n, true
}
