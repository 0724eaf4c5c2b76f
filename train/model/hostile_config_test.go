package model

import "testing"

// FINDING (issue 7): Validate bounds dim, hidden, classes and the
// embedding but not an mlp's features, so a config (from a genesis or a
// checkpoint's metadata) can ask for tensors no machine can hold. With
// layers 0 the head is features x classes; InitHead allocates it at once,
// and a joiner runs out of memory instead of getting an error. This test
// pins today's behaviour without allocating; when Validate bounds
// features (or every tensor's size), make it expect an error.
func TestHostileConfigUnboundedFeatures(t *testing.T) {
	c, err := ParseConfig([]byte(`{"arch":"mlp","features":1000000000000,"input_scale":1,"dim":1,"hidden":1,"layers":0,"classes":2}`))
	if err != nil {
		t.Fatalf("ParseConfig now rejects 10^12 features (%v): the finding is fixed; update this test", err)
	}
	var elems float64
	for _, s := range c.Specs() {
		n := 1.0
		for _, d := range s.Shape {
			n *= float64(d)
		}
		elems += n
	}
	if elems < 2e12 {
		t.Fatalf("the accepted config has %g weights; expected the 2e12 of the finding", elems)
	}
}
