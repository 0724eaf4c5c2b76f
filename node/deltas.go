package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/ipfs/go-cid"
)

// openDelta reads a delta file, plain or encoded (train/deltaenc), for
// fusion onto base: a zstd frame inflates to at most the base layout's
// bound.
func openDelta(ctx context.Context, store weightStore, c cid.Cid, max int64, base *checkpoint.Reader) (*checkpoint.Reader, error) {
	b, err := store.ReadFile(ctx, c, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c, err)
	}
	r, err := fusion.OpenDelta(b, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return r, nil
}

// checkSent is checkDelta for a delta as it travels: a plain delta is
// checked as it is; an encoded one must hold canonical safetensors and is
// checked decoded to float32 against the genesis layout (matchBase then
// checks its encoded structure with the fusion's own Check).
func (rt *runtime) checkSent(ctx context.Context, b []byte, bound float64) error {
	if !deltaenc.Compressed(b) && !encodedHeader(b) {
		return checkDelta(b, bound)
	}
	ref, err := rt.genesisWeights(ctx)
	if err != nil {
		return fmt.Errorf("genesis weights: %w", err)
	}
	dense, err := decodeSent(ref, b)
	if err != nil {
		return err
	}
	return checkTensors(dense.Tensors, bound)
}

// encodedHeader reports whether b is a safetensors file whose metadata
// names a delta encoding.
func encodedHeader(b []byte) bool {
	r, err := checkpoint.OpenBytes(b)
	return err == nil && deltaenc.Encoded(r)
}

// decodeSent returns the float32 delta an encoded delta decodes to on
// ref's layout; the encoded file inside any zstd frame must be canonical.
func decodeSent(ref *checkpoint.Reader, b []byte) (*checkpoint.File, error) {
	inner, err := deltaenc.Unwrap(b, deltaenc.Limit(ref))
	if err != nil {
		return nil, err
	}
	r, err := openCanonical(inner)
	if errors.Is(err, errNotCanonical) {
		return nil, errors.New("encoded delta is not a canonical safetensors file")
	}
	if err != nil {
		return nil, err
	}
	return deltaenc.DecodeFile(r, ref)
}
