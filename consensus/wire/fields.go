package wire

import (
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fields reads a decoded map field by field. The first problem is kept and
// every later read is a no-op, so a decoder reads all fields and checks
// err once; done reports fields that were never read.
type fields struct {
	what string
	it   item
	used map[string]bool
	err  error
}

func newFields(what string, it item) *fields {
	f := &fields{what: what, it: it, used: map[string]bool{}}
	if it.kind != kMap {
		f.err = fmt.Errorf("%w: %s is a %s, want a map", ErrMalformed, what, it.kind)
	}
	return f
}

func (f *fields) get(key string, want kind) (item, bool) {
	if f.err != nil {
		return item{}, false
	}
	f.used[key] = true
	for i, k := range f.it.keys {
		if k != key {
			continue
		}
		v := f.it.vals[i]
		if v.kind != want {
			f.err = fmt.Errorf("%w: %s field %q is a %s, want a %s", ErrMalformed, f.what, key, v.kind, want)
			return item{}, false
		}
		return v, true
	}
	f.err = fmt.Errorf("%w: %s has no field %q", ErrMalformed, f.what, key)
	return item{}, false
}

func (f *fields) uint(key string, max uint64) uint64 {
	v, ok := f.get(key, kUint)
	if ok && v.u > max {
		f.err = fmt.Errorf("%w: %s field %q is %d, limit %d", ErrTooLarge, f.what, key, v.u, max)
	}
	return v.u
}

func (f *fields) text(key string, max int) string {
	v, ok := f.get(key, kText)
	if ok && len(v.b) > max {
		f.err = fmt.Errorf("%w: %s field %q is %d bytes, limit %d", ErrTooLarge, f.what, key, len(v.b), max)
	}
	return string(v.b)
}

func (f *fields) bytes(key string, max int) []byte {
	v, ok := f.get(key, kBytes)
	if ok && len(v.b) > max {
		f.err = fmt.Errorf("%w: %s field %q is %d bytes, limit %d", ErrTooLarge, f.what, key, len(v.b), max)
	}
	return append([]byte(nil), v.b...)
}

func (f *fields) float(key string) float64 {
	v, _ := f.get(key, kFloat)
	return v.f
}

func (f *fields) cid(key string) cid.Cid {
	v, ok := f.get(key, kCID)
	if !ok {
		return cid.Undef
	}
	c, err := cid.Cast(v.b)
	if err != nil {
		f.err = fmt.Errorf("%w: %s field %q: %v", ErrMalformed, f.what, key, err)
	}
	return c
}

func (f *fields) list(key string, max int) []item {
	v, ok := f.get(key, kArray)
	if ok && len(v.list) > max {
		f.err = fmt.Errorf("%w: %s field %q has %d items, limit %d", ErrTooLarge, f.what, key, len(v.list), max)
	}
	return v.list
}

func (f *fields) sub(key string) item {
	v, _ := f.get(key, kMap)
	return v
}

func (f *fields) peer(key string) peer.ID {
	s := f.text(key, maxPeerText)
	if f.err != nil {
		return ""
	}
	id, err := parsePeer(s)
	if err != nil {
		f.err = fmt.Errorf("%s field %q: %w", f.what, key, err)
	}
	return id
}

// version checks the "v" field.
func (f *fields) version() {
	if v := f.uint("v", 1<<16); f.err == nil && v != Version {
		f.err = fmt.Errorf("%w: %s version %d, this build reads %d", ErrVersion, f.what, v, Version)
	}
}

// done returns the first error, or names a field nobody read.
func (f *fields) done() error {
	if f.err != nil {
		return f.err
	}
	for _, k := range f.it.keys {
		if !f.used[k] {
			return fmt.Errorf("%w: %s has unknown field %q", ErrMalformed, f.what, k)
		}
	}
	return nil
}

// parsePeer accepts only the canonical base58 text form of a peer ID whose
// public key is inlined (Ed25519 and other identity-hashed keys).
func parsePeer(s string) (peer.ID, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w: peer ID %q: %v", ErrMalformed, s, err)
	}
	if id.String() != s {
		return "", fmt.Errorf("%w: peer ID %q is not in canonical base58 form %q", ErrNonCanonical, s, id.String())
	}
	if _, err := id.ExtractPublicKey(); err != nil {
		return "", fmt.Errorf("%w: peer ID %s does not inline its public key: %v", ErrMalformed, s, err)
	}
	return id, nil
}
