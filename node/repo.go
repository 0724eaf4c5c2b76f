package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// File and directory names inside a repository.
const (
	configFile   = "config.json"
	lockFile     = "repo.lock"
	apiFile      = "api"
	tokenFile    = "api.token"
	identityFile = "identity.key"
	roundsDir    = "rounds"
	ownDir       = "contributions"
	stateFile    = "state.json"
)

// ErrLocked is wrapped by Open when another process holds the repository.
var ErrLocked = errors.New("node: repository in use")

// ErrNoRepo is wrapped when a directory holds no coldnode repository.
var ErrNoRepo = errors.New("node: no repository")

// DefaultRepoPath returns $COLDNODE_PATH, else ~/.coldnode.
func DefaultRepoPath() string {
	if p := os.Getenv("COLDNODE_PATH"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".coldnode"
	}
	return filepath.Join(home, ".coldnode")
}

// Repo is an open, locked repository directory. Only one process holds a
// repository at a time; the lock is an flock, which the kernel drops when
// the holder dies, so a node killed with SIGKILL never blocks a restart.
type Repo struct {
	Path string
	lock *os.File
}

// Open locks the repository at path, creating the directory if needed.
func Open(path string) (*Repo, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create repository %s: %w", path, err)
	}
	for _, d := range []string{roundsDir, ownDir} {
		if err := os.MkdirAll(filepath.Join(path, d), 0o700); err != nil {
			return nil, fmt.Errorf("create repository %s: %w", path, err)
		}
	}
	f, err := lockRepo(path)
	if err != nil {
		return nil, err
	}
	return &Repo{Path: path, lock: f}, nil
}

func lockRepo(dir string) (*os.File, error) {
	name := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, DiskHint(fmt.Errorf("lock repository: %w", err)) // err names the file
	}
	if err := flockWait(f, lockWait); err != nil {
		pid, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by another coldnode process (pid %s); stop it, or use another --repo",
				ErrLocked, dir, strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// lockWait is how long Open waits for a lock held by someone else: a
// command reading the repository holds it only briefly.
var lockWait = 2 * time.Second

func flockWait(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Locked reports whether another process holds the repository at path.
func Locked(path string) bool {
	f, err := os.OpenFile(filepath.Join(path, lockFile), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// Close releases the lock.
func (r *Repo) Close() error {
	if r.lock == nil {
		return nil
	}
	err := r.lock.Close()
	r.lock = nil
	return err
}

// File returns the path of a file inside the repository.
func (r *Repo) File(name string) string { return filepath.Join(r.Path, name) }

// IdentityPath is where the node's private key lives.
func (r *Repo) IdentityPath() string { return r.File(identityFile) }

// HasConfig reports whether the repository has been initialised.
func (r *Repo) HasConfig() bool {
	_, err := os.Stat(r.File(configFile))
	return err == nil
}

// LoadConfig reads the repository's configuration.
func (r *Repo) LoadConfig() (RepoConfig, error) {
	var c RepoConfig
	if err := readJSON(r.File(configFile), &c); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return c, fmt.Errorf("%w at %s: run `coldnode init`, or `coldnode start --swarm ID --bootstrap ADDR` to join one", ErrNoRepo, r.Path)
		}
		return c, err
	}
	return c, nil
}

// SaveConfig writes the configuration atomically.
func (r *Repo) SaveConfig(c RepoConfig) error {
	return DiskHint(writeJSON(r.File(configFile), c))
}

// localFailure reports whether err is the local file system failing (full,
// read-only, or an I/O error) rather than anything about the data: work
// that fails so must be retried, never taken as a verdict on a peer's
// record or delta.
func localFailure(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EIO)
}

// DiskHint adds what to do to an error caused by a full or read-only file
// system (ENOSPC, EDQUOT, EROFS); other errors are returned as they are.
// Every repository file is replaced atomically or appended to a journal
// that drops a torn last line, so such a failure leaves the repository as
// it was before the write.
func DiskHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return hint(err, "the repository's file system is full: free space, check it with `coldnode repo verify`, then start again")
	case errors.Is(err, syscall.EROFS):
		return hint(err, "the repository's file system is read-only: remount it read-write (or pass another --repo), then start again")
	}
	return err
}

// Token returns the API token, creating it on first use.
func (r *Repo) Token() (string, error) {
	b, err := os.ReadFile(r.File(tokenFile))
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	if err := writeFileMode(r.File(tokenFile), []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write api token: %w", err)
	}
	return tok, nil
}

// SetAPIAddr records (or with "" removes) the address of the running API.
func (r *Repo) SetAPIAddr(addr string) error {
	if addr == "" {
		err := os.Remove(r.File(apiFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return checkpoint.WriteFileAtomic(r.File(apiFile), []byte(addr+"\n"))
}

// writeFileMode writes atomically and sets the file mode.
func writeFileMode(path string, data []byte, mode os.FileMode) error {
	if err := checkpoint.WriteFileAtomic(path, data); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return checkpoint.WriteFileAtomic(path, append(b, '\n'))
}
