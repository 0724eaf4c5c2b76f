package lab

import (
	"context"
	"strings"
	"testing"
)

// An encoding that stores every value exactly (rows: touched embedding
// rows in float32, zstd) publishes other, smaller delta files, yet every
// fused base (and so every score) is the dense run's; a lossy encoding
// (int8) publishes far smaller files and moves the bases.
func TestDeltaEncodingRuns(t *testing.T) {
	runs := map[string]*Result{}
	for _, enc := range []string{"", "rows+zstd", "rows+int8+zstd"} {
		cfg := quick(t, 2)
		cfg.NoBaselines, cfg.Protocols, cfg.DeltaEncoding = true, []string{Probe}, enc
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%q: %v", enc, err)
		}
		runs[enc] = res
	}
	dense, rows, int8 := runs[""].Seeds[0].Rounds, runs["rows+zstd"].Seeds[0].Rounds, runs["rows+int8+zstd"].Seeds[0].Rounds
	for i := range dense {
		if rows[i].Fused != dense[i].Fused {
			t.Errorf("round %d: rows+zstd fused %s, dense %s; an exact encoding must not change the base", i+1, rows[i].Fused, dense[i].Fused)
		}
		if int8[i].Fused == dense[i].Fused {
			t.Errorf("round %d: int8 fused the dense base; the encoding was not used", i+1)
		}
		for j, c := range dense[i].Contributions {
			r, q := rows[i].Contributions[j], int8[i].Contributions[j]
			if r.Delta == c.Delta || r.Bytes >= c.Bytes || q.Bytes >= r.Bytes || c.Bytes == 0 {
				t.Errorf("round %d %s: delta files %s %d B, rows %s %d B, int8 %d B", i+1, c.Task, c.Delta, c.Bytes, r.Delta, r.Bytes, q.Bytes)
			}
		}
	}
}

func TestDeltaEncodingValidated(t *testing.T) {
	cfg := quick(t, 1)
	cfg.DeltaEncoding = "rows+fp8"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--delta-encoding") {
		t.Fatalf("Validate = %v", err)
	}
}
