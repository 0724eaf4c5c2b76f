package wire

import "testing"

// Baseline: one Ed25519 verification of a contribution (what any
// implementation must pay). Compare DecodeContribution and Encode to it.
func BenchmarkVerifyBaseline(b *testing.B) {
	s := fixtures(b)
	c, _ := DecodeContribution(s.contribution)
	for b.Loop() {
		if err := c.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeContribution(b *testing.B) {
	s := fixtures(b)
	for b.Loop() {
		if _, err := DecodeContribution(s.contribution); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeContribution(b *testing.B) {
	s := fixtures(b)
	c, _ := DecodeContribution(s.contribution)
	for b.Loop() {
		if _, err := c.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
