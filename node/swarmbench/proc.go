package swarmbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one `coldnode start` child process.
type proc struct {
	name, repo, logPath string
	cmd                 *exec.Cmd
	log                 *os.File
	done                chan struct{}
	err                 error // set before done is closed
}

// exit is the message a proc's waiter sends when the process ends.
type exit struct{ p *proc }

// start runs `bin start --repo repo args...` with its output in its log
// file; exited receives p when the process has ended.
func (p *proc) start(bin string, args []string, exited chan<- exit) error {
	f, err := os.Create(p.logPath)
	if err != nil {
		return fmt.Errorf("node %s log: %w", p.name, err)
	}
	p.log = f
	p.cmd = exec.Command(bin, append([]string{"start", "--repo", p.repo}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start node %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		p.log.Close()
		close(p.done)
		exited <- exit{p}
	}()
	return nil
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	if p.done == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// usage returns the exited process's peak RSS in bytes and its CPU time.
func (p *proc) usage() (int64, time.Duration) {
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return 0, 0
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	return ru.Maxrss << 10, p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// cli runs one short coldnode command and returns its standard output.
func cli(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("coldnode %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// waitFile polls until path exists and is not empty, failing early when
// the process writing it has exited.
func waitFile(ctx context.Context, path string, exited <-chan struct{}) error {
	for {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", filepath.Base(path), ctx.Err())
		case <-exited:
			return fmt.Errorf("exited before writing %s", filepath.Base(path))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errDisagree = errors.New("nodes disagree")
