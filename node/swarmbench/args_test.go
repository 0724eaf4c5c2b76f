package swarmbench

import (
	"slices"
	"strings"
	"testing"
)

// Every node gets the bench's optional settings as its own flags, and
// none of them when they are unset.
func TestNodeArgsCarryOptions(t *testing.T) {
	b := &bench{cfg: Config{Dir: "/d", Datasets: []string{"x", "y"}, Limits: []int{7, 5}, Epochs: 2, Verbose: true,
		Moments: "int8", CheckAfterTraining: true, DeltaEncoding: "rows+int8", MemProfile: true, MemLimit: "off"}}
	got := strings.Join(b.nodeArgs(1), " ")
	for _, want := range []string{"--dataset y", "--seed 2", "--limit 5", "--epochs 2", "--verbose", "--moments int8",
		"--check-after-training", "--delta-encoding rows+int8", "--memprofile /d/n01.heap.prof", "--memlimit off"} {
		if !strings.Contains(got, want) {
			t.Errorf("node args %q lack %q", got, want)
		}
	}
	if first := strings.Join(b.nodeArgs(2), " "); !strings.Contains(first, "--limit 7") || !strings.Contains(first, "--dataset x") {
		t.Errorf("node 2 args %q: want the first limit and dataset again (dealt round robin)", first)
	}
	bare := (&bench{cfg: Config{Dir: "/d", Datasets: []string{"x"}}}).nodeArgs(0)
	for _, flag := range []string{"--limit", "--epochs", "--verbose", "--moments", "--check-after-training", "--delta-encoding", "--cpuprofile", "--memprofile", "--memlimit"} {
		if slices.Contains(bare, flag) {
			t.Errorf("unset option gave %s: %q", flag, bare)
		}
	}
}
