package ufs

import (
	"fmt"
	"io"
	"unsafe"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/coldnode/coldnode/p2p/lanehash"
)

// leafSums reads a few chunks ahead of the DAG builder and hashes them
// together (lanehash), so that the leaves' SHA-256, most of an import's
// work, runs several messages at once. The builder then asks leafBuilder
// for each leaf's CID, which finds the digest of the chunk just handed out.
type leafSums struct {
	spl   chunker.Splitter
	queue [][]byte
	sums  [][lanehash.Size]byte
	err   error // the splitter's error after the queued chunks (io.EOF at the end)

	last    []byte // the chunk handed out last, and its digest
	lastSum [lanehash.Size]byte
	used    int // digests given to the builder
}

func newLeafSums(spl chunker.Splitter) *leafSums { return &leafSums{spl: spl} }

func (s *leafSums) Reader() io.Reader { return s.spl.Reader() }

// NextBytes hands out the next chunk, hashing up to lanehash.Lanes() of
// them whenever the queue is empty.
func (s *leafSums) NextBytes() ([]byte, error) {
	if len(s.queue) == 0 && s.err == nil {
		s.fill()
	}
	if len(s.queue) == 0 {
		return nil, s.err
	}
	c := s.queue[0]
	s.last, s.lastSum = c, s.sums[0]
	s.queue, s.sums = s.queue[1:], s.sums[1:]
	return c, nil
}

// fill reads up to lanehash.Lanes() chunks and hashes them.
func (s *leafSums) fill() {
	s.queue = s.queue[:0]
	for len(s.queue) < lanehash.Lanes() {
		c, err := s.spl.NextBytes()
		if err != nil {
			s.err = err
			break
		}
		s.queue = append(s.queue, c)
	}
	s.sums = make([][lanehash.Size]byte, len(s.queue))
	lanehash.Sum256(s.sums, s.queue)
}

// digest returns the digest of data if data is the chunk handed out last.
func (s *leafSums) digest(data []byte) ([lanehash.Size]byte, bool) {
	if len(data) == 0 || len(data) != len(s.last) || unsafe.SliceData(data) != unsafe.SliceData(s.last) {
		return [lanehash.Size]byte{}, false
	}
	s.used++
	return s.lastSum, true
}

// leafBuilder is the profile's CID builder, except that a raw leaf's CID
// comes from the digest leafSums computed for it. Any other node, or a leaf
// leafSums did not hand out, is hashed by the prefix as before: the CIDs
// are the same either way.
type leafBuilder struct {
	prefix cid.Prefix
	sums   *leafSums
}

// newLeafBuilder returns a leafBuilder for the profile, or an error if the
// profile's leaves are not CIDv1 sha2-256.
func newLeafBuilder(b cid.Builder, sums *leafSums) (leafBuilder, error) {
	p, ok := b.(cid.Prefix)
	if !ok || p.Version != 1 || p.MhType != multihash.SHA2_256 || (p.MhLength != -1 && p.MhLength != lanehash.Size) {
		return leafBuilder{}, fmt.Errorf("ufs: profile CID builder %v is not CIDv1 sha2-256", b)
	}
	return leafBuilder{prefix: p, sums: sums}, nil
}

func (b leafBuilder) Sum(data []byte) (cid.Cid, error) {
	if b.prefix.Codec == cid.Raw {
		if d, ok := b.sums.digest(data); ok {
			mh, err := multihash.Encode(d[:], multihash.SHA2_256)
			if err != nil {
				return cid.Undef, err
			}
			return cid.NewCidV1(cid.Raw, mh), nil
		}
	}
	return b.prefix.Sum(data)
}

func (b leafBuilder) GetCodec() uint64 { return b.prefix.Codec }

func (b leafBuilder) WithCodec(c uint64) cid.Builder {
	b.prefix = b.prefix.WithCodec(c).(cid.Prefix)
	return b
}
