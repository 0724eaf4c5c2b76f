package memlimit

import (
	"slices"
	"testing"
)

func TestMachineMemory(t *testing.T) {
	in := "MemFree:  100 kB\nMemTotal:       24684092 kB\nBuffers: 1 kB\n"
	if got := machineMemory([]byte(in)); got != 24684092<<10 {
		t.Fatalf("machineMemory = %d, want %d", got, int64(24684092)<<10)
	}
	if got := machineMemory([]byte("MemTotal: lots\n")); got != 0 {
		t.Fatalf("machineMemory of a bad line = %d, want 0", got)
	}
}

func TestCgroupLimitFiles(t *testing.T) {
	in := "9:name=systemd:/\n4:cpu,memory:/process_api/x1\n2:cpuacct:/\n0::/user.slice/n.scope\nbad line\n"
	want := []string{
		"/sys/fs/cgroup/memory.max",
		"/sys/fs/cgroup/memory/memory.limit_in_bytes",
		"/sys/fs/cgroup/memory/process_api/x1/memory.limit_in_bytes",
		"/sys/fs/cgroup/user.slice/n.scope/memory.max",
	}
	if got := cgroupLimitFiles([]byte(in)); !slices.Equal(got, want) {
		t.Fatalf("cgroupLimitFiles = %q, want %q", got, want)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int64{"1073741824\n": 1 << 30, "max\n": 0, "9223372036854771712\n": 0, "": 0, "-5": 0} {
		got, ok := parseLimit([]byte(in))
		if got != want || ok != (want > 0) {
			t.Errorf("parseLimit(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}
