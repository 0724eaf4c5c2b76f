// Package envelope is the signed, versioned wrapper around every gossip
// message coldnode publishes.
//
// An envelope binds an opaque payload to a swarm, a topic, a send time and the
// public key of its signer, and carries an Ed25519 (or any libp2p key type)
// signature over all of that. The package owns the wire format and its checks
// only: it does no I/O, keeps no state and knows nothing of pubsub. The p2p
// package seals outgoing payloads with the host key and opens incoming ones in
// its gossip validators.
//
// Wire format, version 1 (all lengths are unsigned varints):
//
//	version  1 byte, = 1
//	time     8 bytes, big-endian int64 Unix nanoseconds
//	swarm    length + bytes   (at most MaxSwarm)
//	topic    length + bytes   (at most MaxTopic)
//	payload  length + bytes
//	signer   length + bytes   (a libp2p-marshalled public key, at most MaxKey)
//	sig      length + bytes   (at most MaxSig)
//
// The whole encoding is at most MaxSize bytes and nothing may follow the
// signature. The signature covers SignPrefix followed by every byte before the
// sig field, so a signed envelope has exactly one encoding.
package envelope

import (
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Version is the only envelope version this package writes and reads.
const Version = 1

// Size limits of the encoding.
const (
	MaxSize  = 64 << 10 // whole envelope, far below pubsub's 1 MiB message cap
	MaxSwarm = 64
	MaxTopic = 128
	MaxKey   = 128 // fits Ed25519, secp256k1 and ECDSA keys; not RSA
	MaxSig   = 256
)

// SignPrefix separates envelope signatures from every other use of the key.
const SignPrefix = "coldnode/envelope/v1\x00"

// Errors returned by Decode and Open; match them with errors.Is.
var (
	ErrMalformed = errors.New("envelope: malformed")
	ErrVersion   = errors.New("envelope: unsupported version")
	ErrTooLarge  = errors.New("envelope: too large")
	ErrSignature = errors.New("envelope: bad signature")
)

// Envelope is one decoded message. Signer holds the marshalled public key.
type Envelope struct {
	Version   uint8
	Time      int64 // Unix nanoseconds at the sender
	Swarm     string
	Topic     string
	Payload   []byte
	Signer    []byte
	Signature []byte
}

// SentAt returns the sender's clock reading as a time.
func (e *Envelope) SentAt() time.Time { return time.Unix(0, e.Time) }

// Seal builds and signs an envelope and returns its encoding.
func Seal(key crypto.PrivKey, swarm, topic string, payload []byte, now time.Time) ([]byte, error) {
	if key == nil {
		return nil, errors.New("envelope: seal: nil key")
	}
	signer, err := crypto.MarshalPublicKey(key.GetPublic())
	if err != nil {
		return nil, errors.Join(ErrMalformed, err)
	}
	e := Envelope{Version: Version, Time: now.UnixNano(), Swarm: swarm, Topic: topic, Payload: payload, Signer: signer}
	body, err := e.appendBody(nil)
	if err != nil {
		return nil, err
	}
	sig, err := key.Sign(append([]byte(SignPrefix), body...))
	if err != nil {
		return nil, errors.Join(ErrSignature, err)
	}
	e.Signature = sig
	return e.Encode()
}

// SignerID returns the peer ID of the envelope's signer key.
func (e *Envelope) SignerID() (peer.ID, error) {
	pub, err := crypto.UnmarshalPublicKey(e.Signer)
	if err != nil {
		return "", errors.Join(ErrMalformed, err)
	}
	return peer.IDFromPublicKey(pub)
}

// Verify checks the signature and returns the signer's peer ID.
func (e *Envelope) Verify() (peer.ID, error) {
	pub, err := crypto.UnmarshalPublicKey(e.Signer)
	if err != nil {
		return "", errors.Join(ErrMalformed, err)
	}
	body, err := e.appendBody(nil)
	if err != nil {
		return "", err
	}
	ok, err := pub.Verify(append([]byte(SignPrefix), body...), e.Signature)
	if err != nil || !ok {
		return "", ErrSignature
	}
	return peer.IDFromPublicKey(pub)
}

// Open decodes b and verifies its signature. It does not check the swarm,
// topic or time: those are the caller's policy.
func Open(b []byte) (*Envelope, peer.ID, error) {
	e, err := Decode(b)
	if err != nil {
		return nil, "", err
	}
	id, err := e.Verify()
	if err != nil {
		return nil, "", err
	}
	return e, id, nil
}
