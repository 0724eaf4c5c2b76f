package swarmbench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWatch sees a head line only once it is complete, and only of the
// round asked for.
func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n00.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newWatch([]*proc{{name: "n00", logPath: path}}, 2)
	for _, step := range []struct {
		write string
		want  bool
	}{
		{"time=t level=INFO msg=head round=1 record=a\n", false},
		{"time=t level=INFO msg=head round=2 rec", false},
		{"ord=b\n", true},
	} {
		f.WriteString(step.write)
		w.scan()
		if w.all() != step.want {
			t.Fatalf("after %q: reached %v, want %v", step.write, w.all(), step.want)
		}
	}
}
