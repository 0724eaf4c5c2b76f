package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// diskNSEnv marks the copy of the test binary that runs a disk test inside
// its own mount namespace.
const diskNSEnv = "COLDNODE_DISK_NS"

// needMountNS re-runs the named test inside a private mount namespace
// (unshare -m), where it may mount a tmpfs or remount a directory read-only
// without touching the host, and reports whether the caller is that copy.
// A root user bypasses file permissions, so only real mounts make a disk
// full or read-only; without root and unshare the test is skipped, saying
// why.
func needMountNS(t *testing.T, name string) bool {
	if os.Getenv(diskNSEnv) != "" {
		return true
	}
	if err := canUnshareMount(); err != nil {
		t.Skipf("needs a private mount namespace for a real full or read-only file system: %v", err)
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private",
		os.Args[0], "-test.run", "^"+name+"$", "-test.count", "1", "-test.v", "-test.timeout", "15m")
	cmd.Env = append(os.Environ(), diskNSEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s inside a private mount namespace:\n%s", name, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s in a private mount namespace: %v", name, err)
	}
	return false
}

func canUnshareMount() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return err
	}
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("unshare -m: %v: %s", err, out)
	}
	return nil
}

// mount runs mount(8) with args; the mount goes when the namespace does,
// and is unmounted at cleanup so the temporary directory can be removed.
func mount(t *testing.T, target string, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", append(args, target)...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v %s: %v: %s", args, target, err, out)
	}
	t.Cleanup(func() { syscall.Unmount(target, syscall.MNT_DETACH) })
}

// remount changes the flags of the bind mount at target (MS_RDONLY or 0)
// without touching the file system under it, so files open for writing do
// not stop it; their next writes fail with EROFS.
func remount(t *testing.T, target string, flags uintptr) {
	t.Helper()
	if err := syscall.Mount("", target, "", syscall.MS_REMOUNT|syscall.MS_BIND|flags, ""); err != nil {
		t.Fatalf("remount %s (flags %#x): %v", target, flags, err)
	}
}

// diskSwarm is a two-node swarm for the disk tests: a keeps its repository
// on the ordinary disk, the node under test (f) has the mount point frepo as
// its repository (its log, frepo.log, stays outside).
type diskSwarm struct {
	a, f *proc
}

func startDiskSwarm(t *testing.T, dir, frepo string) diskSwarm {
	t.Helper()
	datasets, _ := filepath.Abs("../../../shared/datasets")
	cfgPath := filepath.Join(dir, "bag.json")
	os.WriteFile(cfgPath, []byte(smallBag), 0o644)
	swarm := strings.TrimSpace(mustCLI(t, "init", "--repo", filepath.Join(dir, "a"), "--model", cfgPath,
		"--quorum", "2", "--window", "1s", "--deadline", "30s", "--finality", "2", "--name", "disk"))
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--no-mdns", "--limit", "200", "--epochs", "1"}
	a := &proc{name: "a", repo: filepath.Join(dir, "a"),
		args: append([]string{"--dataset", filepath.Join(datasets, "sst2")}, common...)}
	a.start(t)
	waitListening(t, a)
	f := &proc{name: "f", repo: frepo, args: append(append([]string{"--dataset", filepath.Join(datasets, "subj")},
		common...), "--swarm", swarm, "--bootstrap", apiAddr(t, a.repo))}
	f.start(t)
	waitFor(t, "two rounds on node f", 2*time.Minute, func() bool { return len(rounds(t, f.repo)) >= 2 }, a, f)
	return diskSwarm{a: a, f: f}
}

// waitExit waits for p to exit on its own and returns its log since off.
func waitExit(t *testing.T, p *proc, limit time.Duration, off int64) string {
	t.Helper()
	start := time.Now()
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil {
			t.Fatalf("node %s exited with status 0 on a failing disk\n%s", p.name, p.tail())
		}
		t.Logf("node %s exited after %v: %v", p.name, time.Since(start).Round(time.Second), err)
	case <-time.After(limit):
		t.Fatalf("node %s still runs %v after its disk failed\n%s", p.name, limit, p.tail())
	}
	return logSince(p, off)
}

// fatalLine is the "coldnode: ..." line a failing command ends with, or
// else the log's last lines.
func fatalLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "coldnode: ") {
			return l
		}
	}
	return "(no coldnode: line) ..." + strings.Join(lines[max(0, len(lines)-8):], "\n")
}

// recoverAndConverge checks that f's repository verifies, then restarts f
// and waits until it is on a's head again, beyond round beyond.
func (s diskSwarm) recoverAndConverge(t *testing.T, beyond int) {
	t.Helper()
	if out, err := runCLI(t, "repo", "verify", "--repo", s.f.repo); err != nil {
		t.Fatalf("repository after the disk failure: %v\n%s", err, out)
	} else {
		t.Logf("repo verify: %s", strings.TrimSpace(out))
	}
	start := time.Now()
	s.f.start(t)
	waitFor(t, "node f back on the swarm's head", 3*time.Minute, func() bool {
		rf, ra := rounds(t, s.f.repo), rounds(t, s.a.repo)
		return len(rf) > beyond && len(rf) == len(ra) && rf[len(rf)-1].Record == ra[len(ra)-1].Record
	}, s.a, s.f)
	t.Logf("node f on the swarm's head (round %d) %v after its restart", len(rounds(t, s.f.repo)), time.Since(start).Round(time.Second))
}

// TestDiskFull runs a node whose repository is on a 48 MiB tmpfs, fills the
// tmpfs, and expects the node to stop with an error that says the device is
// full and names what it was writing; a restart on the full disk must be
// refused the same way. Once space is freed the repository must verify and
// the node must rejoin the swarm's head.
func TestDiskFull(t *testing.T) {
	if !needMountNS(t, "TestDiskFull") {
		return
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o700)
	mount(t, mnt, "-t", "tmpfs", "-o", "size=48m", "tmpfs")
	s := startDiskSwarm(t, dir, mnt)
	off := logSize(s.f)
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	at := len(rounds(t, s.a.repo))
	log := waitExit(t, s.f, 3*time.Minute, off)
	checkDiskError(t, "full disk", fatalLine(log), "no space left on device", s.f.repo)

	// The dead process's deleted-but-open files freed some space: fill it
	// again so that the restart meets a full disk.
	topUp := filepath.Join(mnt, "filler2")
	fill(t, topUp)
	off = logSize(s.f)
	s.f.start(t)
	log = waitExit(t, s.f, time.Minute, off)
	checkDiskError(t, "restart on a full disk", fatalLine(log), "no space left on device", s.f.repo)

	for _, f := range []string{filler, topUp} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	s.recoverAndConverge(t, at)
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

// checkDiskError requires the node's last word, its "coldnode: ..." line,
// to give the cause and the path inside the repository that failed.
func checkDiskError(t *testing.T, what, line, cause, repo string) {
	t.Helper()
	t.Logf("%s: %s", what, line)
	if !strings.HasPrefix(line, "coldnode: ") || !strings.Contains(line, cause) || !strings.Contains(line, repo) {
		t.Errorf("%s: the node's error does not say %q about a path in %s: %q", what, cause, repo, line)
	}
	if strings.Contains(line, "panic") || strings.Contains(line, "goroutine ") {
		t.Errorf("%s: the node crashed instead of stopping: %q", what, line)
	}
}

// TestReadOnlyRepo stops a node (SIGKILL: as if the machine went down),
// makes its repository read-only, and expects a start to be refused with an
// error that names the repository and says it is read-only, with a hint, and
// the offline commands to fail the same way. Once the repository is
// writable again it must verify and the node must rejoin the swarm. (Linux
// refuses to make a mount read-only while files on it are open for writing,
// as a running node's are, so writes failing under a running node are
// covered by TestDiskFull, which goes through the same paths.)
func TestReadOnlyRepo(t *testing.T) {
	if !needMountNS(t, "TestReadOnlyRepo") {
		return
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o700)
	mount(t, mnt, "--bind", mnt)
	s := startDiskSwarm(t, dir, mnt)
	if err := s.f.stop(syscall.SIGKILL); err == nil {
		t.Fatal("node f exited cleanly before it was killed")
	}
	at := len(rounds(t, s.a.repo))
	remount(t, mnt, syscall.MS_RDONLY)

	off := logSize(s.f)
	s.f.start(t)
	log := waitExit(t, s.f, time.Minute, off)
	checkDiskError(t, "start on a read-only repository", fatalLine(log), "read-only file system", s.f.repo)
	for _, args := range [][]string{{"rounds"}, {"repo", "verify"}} {
		_, err := runCLI(t, append(args, "--repo", s.f.repo)...)
		line := ""
		if err != nil {
			line = fatalLine(err.Error()[strings.Index(err.Error(), "coldnode: "):])
		}
		checkDiskError(t, strings.Join(args, " ")+" on a read-only repository", line, "read-only file system", s.f.repo)
	}
	remount(t, mnt, 0)
	s.recoverAndConverge(t, at)
}
