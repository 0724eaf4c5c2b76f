package node

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRepoLockRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another coldnode process") {
		t.Errorf("message %q does not say what holds the repository", err)
	}
	if !Locked(dir) {
		t.Error("Locked = false while held")
	}
	r.Close()
	r2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	r2.Close()
}

// TestRepoLockSurvivesKill holds the lock in a child process, kills it with
// SIGKILL and checks that the repository opens again at once.
func TestRepoLockSurvivesKill(t *testing.T) {
	if dir := os.Getenv("COLDNODE_TEST_HOLD"); dir != "" {
		if _, err := Open(dir); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRepoLockSurvivesKill$")
	cmd.Env = append(os.Environ(), "COLDNODE_TEST_HOLD="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while child holds the lock: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after SIGKILL of the holder: %v", err)
	}
	r.Close()
}

func TestRepoConfigAndToken(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.LoadConfig(); !errors.Is(err, ErrNoRepo) {
		t.Fatalf("LoadConfig on a fresh repo: %v, want ErrNoRepo", err)
	}
	want := RepoConfig{Swarm: "bafyswarm", Bootstrap: []string{"/ip4/127.0.0.1/tcp/1/p2p/x"}}
	if err := r.SaveConfig(want); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadConfig()
	if err != nil || got.Swarm != want.Swarm || len(got.Bootstrap) != 1 {
		t.Fatalf("config round trip: %+v %v", got, err)
	}
	t1, err := r.Token()
	if err != nil || len(t1) != 64 {
		t.Fatalf("token %q %v", t1, err)
	}
	if t2, _ := r.Token(); t2 != t1 {
		t.Error("token changed between calls")
	}
	if fi, _ := os.Stat(r.File(tokenFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestIndexRoundsAndFinality(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := r.Index()
	for n := int64(1); n <= 3; n++ {
		if err := x.SaveRound(RoundInfo{Round: n, Record: "rec"}); err != nil {
			t.Fatal(err)
		}
	}
	// Round 3 is written but the state still says the head is round 2.
	if err := x.SaveState(State{Head: "rec", Height: 2, Finality: 1}); err != nil {
		t.Fatal(err)
	}
	rs, err := x.Rounds()
	if err != nil || len(rs) != 2 {
		t.Fatalf("Rounds: %d rounds, %v; want 2", len(rs), err)
	}
	if !rs[0].Final || rs[1].Final {
		t.Errorf("finality with depth 1 at height 2: %v %v, want true false", rs[0].Final, rs[1].Final)
	}
	if _, err := x.Round(3); !errors.Is(err, ErrNotFound) {
		t.Errorf("Round(3) beyond the head: %v, want ErrNotFound", err)
	}
}

func init() { lockWait = 200 * time.Millisecond }
