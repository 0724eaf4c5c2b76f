package envelope

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Encode returns the wire encoding of e, checking every limit.
func (e *Envelope) Encode() ([]byte, error) {
	b, err := e.appendBody(make([]byte, 0, e.sizeHint()))
	if err != nil {
		return nil, err
	}
	if len(e.Signature) > MaxSig {
		return nil, fmt.Errorf("%w: signature is %d bytes, limit %d", ErrTooLarge, len(e.Signature), MaxSig)
	}
	b = appendField(b, e.Signature)
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxSize)
	}
	return b, nil
}

func (e *Envelope) sizeHint() int {
	return 1 + 8 + 5*binary.MaxVarintLen32 + len(e.Swarm) + len(e.Topic) + len(e.Payload) + len(e.Signer) + len(e.Signature)
}

// appendBody appends everything the signature covers.
func (e *Envelope) appendBody(b []byte) ([]byte, error) {
	if e.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, e.Version)
	}
	if err := e.checkLimits(); err != nil {
		return nil, err
	}
	b = append(b, e.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	b = appendField(b, []byte(e.Swarm))
	b = appendField(b, []byte(e.Topic))
	b = appendField(b, e.Payload)
	return appendField(b, e.Signer), nil
}

func (e *Envelope) checkLimits() error {
	switch {
	case len(e.Swarm) == 0 || len(e.Swarm) > MaxSwarm:
		return fmt.Errorf("%w: swarm ID is %d bytes, want 1..%d", ErrMalformed, len(e.Swarm), MaxSwarm)
	case len(e.Topic) == 0 || len(e.Topic) > MaxTopic:
		return fmt.Errorf("%w: topic is %d bytes, want 1..%d", ErrMalformed, len(e.Topic), MaxTopic)
	case len(e.Signer) == 0 || len(e.Signer) > MaxKey:
		return fmt.Errorf("%w: signer key is %d bytes, want 1..%d", ErrMalformed, len(e.Signer), MaxKey)
	case len(e.Payload) > MaxSize:
		return fmt.Errorf("%w: payload is %d bytes, limit %d", ErrTooLarge, len(e.Payload), MaxSize)
	}
	return nil
}

func appendField(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// Decode parses an envelope without verifying its signature. The returned
// slices alias b.
func Decode(b []byte) (*Envelope, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxSize)
	}
	if len(b) < 9 {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrMalformed, len(b))
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b[0])
	}
	e := &Envelope{Version: b[0], Time: int64(binary.BigEndian.Uint64(b[1:9]))}
	r := reader{b: b[9:]}
	swarm, topic := r.field("swarm", MaxSwarm), r.field("topic", MaxTopic)
	e.Payload = r.field("payload", MaxSize)
	e.Signer, e.Signature = r.field("signer", MaxKey), r.field("signature", MaxSig)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	e.Swarm, e.Topic = string(swarm), string(topic)
	if err := e.checkCanonical(b); err != nil {
		return nil, err
	}
	return e, nil
}

// checkCanonical rejects encodings that parse but are not the one Encode
// writes (overlong varints), so one envelope has exactly one message ID.
func (e *Envelope) checkCanonical(b []byte) error {
	enc, err := e.Encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(enc, b) {
		return fmt.Errorf("%w: non-canonical encoding", ErrMalformed)
	}
	return nil
}

// reader reads length-prefixed fields and remembers the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) field(name string, limit int) []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b)
	switch {
	case k <= 0:
		r.err = fmt.Errorf("%w: bad %s length", ErrMalformed, name)
	case n > uint64(limit):
		r.err = fmt.Errorf("%w: %s is %d bytes, limit %d", ErrMalformed, name, n, limit)
	case n > uint64(len(r.b)-k):
		r.err = fmt.Errorf("%w: %s runs past the end", ErrMalformed, name)
	}
	if r.err != nil {
		return nil
	}
	f := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return f
}
