package wire

import (
	"bytes"
	"testing"
)

// Each fuzz target checks that the decoder never panics and that whatever it
// accepts re-encodes to exactly the input bytes (one value, one encoding).
// Seeds live in testdata/fuzz/<target>.

func FuzzDecodeGenesis(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeGenesis(data)
		if err != nil {
			return
		}
		again, err := g.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted genesis does not re-encode to its input: %v", err)
		}
	})
}

func FuzzDecodeContribution(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeContribution(data)
		if err != nil {
			return
		}
		_ = c.Verify() // must not panic on any accepted input
		again, err := c.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted contribution does not re-encode to its input: %v", err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(data)
		if err != nil {
			return
		}
		again, err := r.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted record does not re-encode to its input: %v", err)
		}
	})
}

func FuzzDecodeAnnouncement(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAnnouncement(data)
		if err != nil {
			return
		}
		again, err := a.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted announcement does not re-encode to its input: %v", err)
		}
	})
}
