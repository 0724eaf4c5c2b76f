package p2p

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/libp2p/go-libp2p/core/pnet"
)

// swarmKeyHeader is the first two lines of a kubo swarm.key file.
const swarmKeyHeader = "/key/swarm/psk/1.0.0/\n/base16/\n"

// DecodeSwarmKey reads a kubo-style swarm key: "/key/swarm/psk/1.0.0/",
// "/base16/" and 64 hex digits, one per line.
func DecodeSwarmKey(r io.Reader) ([]byte, error) {
	psk, err := pnet.DecodeV1PSK(r)
	if err != nil {
		return nil, fmt.Errorf("swarm key: %w (want %q followed by 64 hex digits)", err, swarmKeyHeader)
	}
	if len(psk) != 32 {
		return nil, fmt.Errorf("swarm key: %d bytes, want 32", len(psk))
	}
	return psk, nil
}

// LoadSwarmKey reads a swarm.key file (see DecodeSwarmKey).
func LoadSwarmKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("swarm key: %w", err)
	}
	k, err := DecodeSwarmKey(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// EncodeSwarmKey returns the swarm.key file contents for a 32-byte key.
func EncodeSwarmKey(psk []byte) ([]byte, error) {
	if len(psk) != 32 {
		return nil, fmt.Errorf("swarm key: %d bytes, want 32", len(psk))
	}
	return []byte(swarmKeyHeader + hex.EncodeToString(psk) + "\n"), nil
}

// NewSwarmKey writes a fresh random swarm key to path (mode 0600, never
// replacing an existing file) and returns it. Share the file with every
// member of the private swarm.
func NewSwarmKey(path string) ([]byte, error) {
	psk := make([]byte, 32)
	if _, err := rand.Read(psk); err != nil {
		return nil, fmt.Errorf("swarm key: %w", err)
	}
	b, _ := EncodeSwarmKey(psk)
	if err := writePrivateFile(path, b); err != nil {
		return nil, fmt.Errorf("swarm key: %w", err)
	}
	return psk, nil
}
