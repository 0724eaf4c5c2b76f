package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/ipfs/go-cid"
)

func TestJournalSkipsTornLineAndDuplicates(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	j, cids, err := openJournal(r)
	if err != nil || len(cids) != 0 {
		t.Fatalf("fresh journal: %v %v", cids, err)
	}
	a, b := wire.CIDOf([]byte("a")), wire.CIDOf([]byte("b"))
	for _, c := range []string{a.String(), b.String(), a.String()} {
		c2, _ := parseCID(c)
		if err := j.append(c2); err != nil {
			t.Fatal(err)
		}
	}
	j.f.WriteString("bafyrei-torn") // a crash in the middle of a line
	j.close()
	_, cids, err = openJournal(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(cids) != 2 || !cids[0].Equals(a) || !cids[1].Equals(b) {
		t.Fatalf("replayed %v, want [a b]", cids)
	}
}

func TestCheckDelta(t *testing.T) {
	good := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{2}, []float32{3, 4})}}
	b, _ := checkpoint.Encode(good)
	if err := checkDelta(b, 0); err != nil {
		t.Fatalf("good delta: %v", err)
	}
	if err := checkDelta(b, 5); err != nil {
		t.Fatalf("norm 5 within bound 5: %v", err)
	}
	if err := checkDelta(b, 4.9); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("norm 5 over bound 4.9: %v", err)
	}
	nan := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{1}, []float32{float32(nanValue())})}}
	nb, _ := checkpoint.Encode(nan)
	if err := checkDelta(nb, 0); err == nil {
		t.Fatal("NaN delta accepted")
	}
	if err := checkDelta(b[:len(b)-1], 0); err == nil {
		t.Fatal("truncated delta accepted")
	}
	// Same tensors, header padded differently: not canonical.
	nc := append([]byte(nil), b...)
	nc = append(nc[:8], append([]byte("  "), nc[8:]...)...)
	if err := checkDelta(nc, 0); err == nil {
		t.Fatal("non-canonical delta accepted")
	}
}

func nanValue() float64 {
	var z float64
	return z / z
}

func TestMergeRepoConfig(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := DefaultConfig()
	if _, err := mergeRepoConfig(r, cfg); !errors.Is(err, ErrNoRepo) {
		t.Fatalf("no swarm, no repo: %v", err)
	}
	cfg.Swarm, cfg.Bootstrap = "bafyA", []string{"/ip4/1.2.3.4/tcp/1/p2p/x"}
	if _, err := mergeRepoConfig(r, cfg); err != nil {
		t.Fatal(err)
	}
	again := DefaultConfig() // a restart with no flags keeps swarm and bootstrap
	got, err := mergeRepoConfig(r, again)
	if err != nil || got.Swarm != "bafyA" || len(got.Bootstrap) != 1 {
		t.Fatalf("restart: %+v %v", got.RepoConfig, err)
	}
	again.Swarm = "bafyB"
	if _, err := mergeRepoConfig(r, again); err == nil || !strings.Contains(err.Error(), "belongs to swarm bafyA") {
		t.Fatalf("other swarm: %v", err)
	}
}

func TestBuildGenesisIsDeterministic(t *testing.T) {
	task := &data.Task{Name: "f", Kind: data.Features, Labels: []string{"a", "b"}, NumFeatures: 3,
		Train: []data.Example{{Features: []float32{1, 2, 4}}}}
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", task
	id := func(b []byte) (string, error) { return wire.CIDOf(b).String(), nil }
	g1, b1, err := BuildGenesis(opt, id)
	if err != nil {
		t.Fatal(err)
	}
	g2, b2, _ := BuildGenesis(opt, id)
	e1, _ := g1.Encode()
	e2, _ := g2.Encode()
	if string(b1) != string(b2) || string(e1) != string(e2) {
		t.Fatal("same options gave different genesis or weights")
	}
	if strings.Contains(g1.Model, `"classes":2`) {
		t.Errorf("genesis model carries the sizing task's classes: %s", g1.Model)
	}
	opt.Seed = 2
	_, b3, _ := BuildGenesis(opt, id)
	if string(b3) == string(b1) {
		t.Error("a different seed gave the same weights")
	}
	opt.Params.Rule = "bogus"
	if _, _, err := BuildGenesis(opt, id); err == nil {
		t.Error("bogus rule accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--dataset") {
		t.Fatalf("no dataset: %v", err)
	}
	c.Dataset = "x"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.API = "0.0.0.0:5011"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("public API address: %v", err)
	}
	c.API = "localhost:0"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseAllowSortsAndRejects(t *testing.T) {
	a := "12D3KooWSADS2KAigAacGnF9L99Tn5pSoo8S9jpcD6QGyEHRfR7C"
	b := "12D3KooWKBuagpVYiN4XhKHhk8bDCkQ8f4hoFd7B3Lk4cK1Bv8Kk"
	ids, err := ParseAllow([]string{a + "," + b, a})
	if err != nil || len(ids) != 2 || ids[0].String() != b {
		t.Fatalf("ParseAllow: %v %v", ids, err)
	}
	if _, err := ParseAllow([]string{"nope"}); err == nil {
		t.Fatal("bad peer ID accepted")
	}
}

func TestDecodeObjectKinds(t *testing.T) {
	w := wire.CIDOf([]byte("weights"))
	w1, _ := parseCID("bafkreiagkkkp573owsnbsxwagwxuznzraywt7cixcf7zjb4tfsvzayxqcm")
	g := &wire.Genesis{Name: "t", Model: "{}", Weights: w1, Params: wire.DefaultParams()}
	gb, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	swarm := wire.CIDOf(gb)
	ct := &wire.Contribution{Swarm: swarm, Round: 1, Base: w1, Delta: w1, Task: "x", Examples: 3}
	if err := ct.Sign(wire.SeededSigner("a")); err != nil {
		t.Fatal(err)
	}
	cb, _ := ct.Encode()
	rec := &wire.Record{Swarm: swarm, Round: 1, Parent: swarm, Base: w1, Contributions: []cid.Cid{wire.CIDOf(cb)}, Fused: w1}
	rb, err := rec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    []byte
		kind string
		key  string
	}{{gb, "genesis", "params"}, {cb, "contribution", "delta"}, {rb, "record", "fused"}} {
		o, err := decodeObject(wire.CIDOf(tc.b), tc.b)
		if err != nil || o.Kind != tc.kind {
			t.Fatalf("%s: kind %q, %v", tc.kind, o.Kind, err)
		}
		if _, ok := o.Body.(map[string]any)[tc.key]; !ok {
			t.Errorf("%s view lacks %q", tc.kind, tc.key)
		}
	}
	if _, err := decodeObject(w, []byte("weights")); err == nil {
		t.Error("garbage decoded")
	}
}
