package model

import (
	"strings"
	"testing"
)

// A config (from a genesis or a checkpoint's metadata) must not be able to ask
// for tensors no machine can hold: an mlp's first layer (or, with layers 0,
// its head) is features x width, and Validate caps it at 2^28 weights.
func TestHostileConfigUnboundedFeatures(t *testing.T) {
	for _, js := range []string{
		`{"arch":"mlp","features":1000000000000,"input_scale":1,"dim":1,"hidden":1,"layers":0,"classes":2}`,
		`{"arch":"mlp","features":1048576,"input_scale":1,"dim":4096,"hidden":1,"layers":1,"classes":2}`,
	} {
		_, err := ParseConfig([]byte(js))
		if err == nil || !strings.Contains(err.Error(), "2^28") {
			t.Errorf("ParseConfig(%s) = %v, want the size cap", js, err)
		}
	}
	ok := `{"arch":"mlp","features":784,"input_scale":1,"dim":128,"hidden":128,"layers":2,"classes":10}`
	if _, err := ParseConfig([]byte(ok)); err != nil {
		t.Fatalf("control: an MNIST-sized mlp: %v", err)
	}
}
