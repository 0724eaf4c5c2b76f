package wire

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Signer signs contributions on behalf of one peer. The node passes its
// libp2p host key (KeySigner); tests and the simulator pass their own.
type Signer interface {
	ID() peer.ID
	Sign(data []byte) ([]byte, error)
}

// KeySigner signs with a libp2p private key.
type KeySigner struct {
	Key crypto.PrivKey
	id  peer.ID
}

// NewKeySigner returns a Signer for key, which must inline into its peer ID
// (Ed25519 keys do).
func NewKeySigner(key crypto.PrivKey) (*KeySigner, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("signer: peer ID of key: %w", err)
	}
	if _, err := id.ExtractPublicKey(); err != nil {
		return nil, fmt.Errorf("signer: key type %v is not inlined in its peer ID; use Ed25519: %w", key.Type(), err)
	}
	return &KeySigner{Key: key, id: id}, nil
}

// ID returns the signer's peer ID.
func (s *KeySigner) ID() peer.ID { return s.id }

// Sign signs data with the key.
func (s *KeySigner) Sign(data []byte) ([]byte, error) { return s.Key.Sign(data) }

// Sign sets c.Peer to the signer's ID and c.Sig to its signature.
func (c *Contribution) Sign(s Signer) error {
	c.Peer, c.Sig = s.ID(), nil
	msg, err := c.SigningBytes()
	if err != nil {
		return fmt.Errorf("sign contribution: %w", err)
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return fmt.Errorf("sign contribution: %w", err)
	}
	if len(sig) == 0 || len(sig) > MaxSig {
		return fmt.Errorf("sign contribution: %w: signer returned %d bytes", ErrSignature, len(sig))
	}
	c.Sig = sig
	return nil
}

// Verify checks c.Sig against the public key inlined in c.Peer.
func (c *Contribution) Verify() error {
	pub, err := c.Peer.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("verify contribution: %w: peer %s: %v", ErrSignature, c.Peer, err)
	}
	msg, err := c.SigningBytes()
	if err != nil {
		return fmt.Errorf("verify contribution: %w", err)
	}
	ok, err := pub.Verify(msg, c.Sig)
	if err != nil || !ok {
		return fmt.Errorf("verify contribution from %s: %w", c.Peer, ErrSignature)
	}
	return nil
}

// SeededSigner derives an Ed25519 key from seed (hashed to 32 bytes). It is
// for tests, golden vectors and the simulator, where keys must be
// reproducible; a node uses its persistent host key instead.
func SeededSigner(seed string) *KeySigner {
	sum := sha256.Sum256([]byte(seed))
	key, _, err := crypto.GenerateEd25519Key(bytes.NewReader(sum[:]))
	if err != nil {
		panic(fmt.Sprintf("wire: ed25519 key from a 32-byte seed: %v", err)) // reads exactly 32 bytes
	}
	s, err := NewKeySigner(key)
	if err != nil {
		panic(err) // Ed25519 keys always inline
	}
	return s
}
