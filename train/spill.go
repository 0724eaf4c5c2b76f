package train

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"unsafe"

	"github.com/coldnode/coldnode/train/model"
)

// spill keeps the best epoch's weights in a temporary file while later
// epochs run (Options.SpillDir), where a copy in memory would be one more
// body beside the weights, gradients and moments. The file holds every
// tensor's float32 values in spec order, in the machine's byte order: only
// the process that writes it reads it back. A CRC-32C of what was written,
// kept in memory, catches a file changed or cut under the run.
//
// The file is unlinked as soon as it is created where the system allows
// it, so that nothing is left behind by a run that dies; elsewhere close
// removes it.
type spill struct {
	f    *os.File
	name string // still to remove at close; "" once unlinked
	sum  uint32
	size int64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errSpillChanged is wrapped when the spilled weights do not read back
// as written.
var errSpillChanged = errors.New("train: the best epoch's weights changed on disk")

func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "coldnode-best-*.f32")
	if err != nil {
		return nil, fmt.Errorf("train: keeping the best epoch's weights in %s: %w", dir, err)
	}
	s := &spill{f: f, name: f.Name()}
	if os.Remove(f.Name()) == nil {
		s.name = ""
	}
	return s, nil
}

// keep writes w's values over the file's previous contents.
func (s *spill) keep(w *model.Weights) error {
	var off int64
	s.sum = 0
	for _, spec := range w.Specs() {
		b := bytesOf(w.Get(spec.Name))
		if _, err := s.f.WriteAt(b, off); err != nil {
			return fmt.Errorf("train: keeping the best epoch's weights in %s: %w", s.f.Name(), err)
		}
		s.sum = crc32.Update(s.sum, castagnoli, b)
		off += int64(len(b))
	}
	s.size = off
	return nil
}

// restore reads the kept values back into w, which must have the layout
// they were kept from.
func (s *spill) restore(w *model.Weights) error {
	var off int64
	var sum uint32
	for _, spec := range w.Specs() {
		b := bytesOf(w.Get(spec.Name))
		n, err := s.f.ReadAt(b, off)
		if err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
			return fmt.Errorf("%w: reading %s at byte %d of %d: %w", errSpillChanged, s.f.Name(), off+int64(n), s.size, err)
		}
		sum = crc32.Update(sum, castagnoli, b)
		off += int64(len(b))
	}
	if off != s.size || sum != s.sum {
		return fmt.Errorf("%w: %s reads back %d bytes with CRC-32C %08x, %d were written with %08x",
			errSpillChanged, s.f.Name(), off, sum, s.size, s.sum)
	}
	return nil
}

// close closes the file and removes it if it was not unlinked at once.
func (s *spill) close() {
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
}

// bytesOf is v's memory as bytes.
func bytesOf(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
