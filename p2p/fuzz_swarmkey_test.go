package p2p

import (
	"bytes"
	"testing"
)

// FuzzDecodeSwarmKey: a swarm.key file is user input. DecodeSwarmKey never
// panics, accepts only 32-byte keys, and what it accepts encodes to a file
// that decodes to the same key. Seeds live in testdata/fuzz/FuzzDecodeSwarmKey.
func FuzzDecodeSwarmKey(f *testing.F) {
	good, err := EncodeSwarmKey(bytes.Repeat([]byte{0xab}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("/key/swarm/psk/1.0.0/\r\n/base16/\r\n" + string(bytes.Repeat([]byte("0"), 64)) + "\r\n"))
	f.Add([]byte("/key/swarm/psk/1.0.0/\n/base64/\nq80=\n"))
	f.Add([]byte("/key/swarm/psk/1.0.0/\n/bin/\n0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, file []byte) {
		psk, err := DecodeSwarmKey(bytes.NewReader(file))
		if err != nil {
			return
		}
		if len(psk) != 32 {
			t.Fatalf("accepted a %d-byte key", len(psk))
		}
		enc, err := EncodeSwarmKey(psk)
		if err != nil {
			t.Fatalf("accepted key does not encode: %v", err)
		}
		again, err := DecodeSwarmKey(bytes.NewReader(enc))
		if err != nil || !bytes.Equal(again, psk) {
			t.Fatalf("key does not round-trip: %x, %v; want %x", again, err, psk)
		}
	})
}
