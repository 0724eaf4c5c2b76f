package model

import (
	"testing"
)

// FuzzParseConfig: a model config is JSON from the user (and, inside a
// genesis or checkpoint, from the swarm's founder). ParseConfig never
// panics; an accepted config is valid, lists tensors with non-negative
// dimensions, and its canonical encoding parses back to the same config.
// Seeds live in testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"arch":"bag","token":{"buckets":131072,"bigrams":true},"dim":64,"hidden":64,"layers":1,"classes":2}`))
	f.Add([]byte(`{"arch":"mlp","features":4,"input_scale":0.125,"dim":128,"hidden":128,"layers":2,"classes":3}`))
	f.Add([]byte(`{"arch":"encoder","token":{"buckets":32768,"max_len":64},"dim":64,"hidden":128,"layers":2,"heads":4,"seq_len":64,"classes":2}`))
	f.Add([]byte(`{"arch":"encoder","dim":64,"heads":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		for _, s := range c.Specs() {
			for _, d := range s.Shape {
				if d < 0 {
					t.Fatalf("tensor %s has shape %v", s.Name, s.Shape)
				}
			}
		}
		again, err := ParseConfig([]byte(c.Encode()))
		if err != nil || again.Encode() != c.Encode() {
			t.Fatalf("config does not round-trip: %s, %v; want %s", again.Encode(), err, c.Encode())
		}
	})
}
