package node

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
)

// memFile is a stored file of memStore read in place.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

// OpenFile opens a stored file for reading in place; it counts as a read.
func (s *memStore) OpenFile(_ context.Context, c cid.Cid, maxBytes int64) (storedFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[c]
	if !ok {
		return nil, fmt.Errorf("no file %s", c)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("file %s is %d bytes, cap %d", c, len(b), maxBytes)
	}
	s.reads++
	return memFile{bytes.NewReader(b)}, nil
}
