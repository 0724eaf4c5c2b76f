package wire

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// rawCID is a CIDv1 raw-codec identifier of s, standing in for UnixFS roots.
func rawCID(s string) cid.Cid {
	h, _ := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, h)
}

func fixtureGenesis() *Genesis {
	p := DefaultParams()
	p.Quorum, p.Window, p.NormBound = 2, 1500*time.Millisecond, 12.5
	p.Allow = sortedPeers(SeededSigner("alice").ID(), SeededSigner("bob").ID())
	return &Genesis{Name: "golden", Model: `{"arch":"mlp","hidden":64}`, Weights: rawCID("weights-0"), Params: p}
}

func fixtureContribution(t testing.TB, swarm cid.Cid) *Contribution {
	t.Helper()
	c := &Contribution{
		Swarm: swarm, Round: 1, Base: rawCID("weights-0"), Delta: rawCID("delta-alice-1"),
		Task: "sst2", Examples: 6920, Metrics: map[string]float64{"accuracy": 0.8125, "loss": 0.4375},
	}
	if err := c.Sign(SeededSigner("alice")); err != nil {
		t.Fatal(err)
	}
	return c
}

func fixtureRecord(swarm, contrib cid.Cid) *Record {
	return &Record{
		Swarm: swarm, Round: 1, Parent: swarm, Base: rawCID("weights-0"),
		Contributions: []cid.Cid{contrib}, Fused: rawCID("fused-1"),
	}
}

type fixtureSet struct {
	genesis, contribution, record, announcement []byte
}

func fixtures(t testing.TB) fixtureSet {
	t.Helper()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var s fixtureSet
	s.genesis = must(fixtureGenesis().Encode())
	swarm := CIDOf(s.genesis)
	s.contribution = must(fixtureContribution(t, swarm).Encode())
	s.record = must(fixtureRecord(swarm, CIDOf(s.contribution)).Encode())
	a := Announce(swarm, KindContribution, s.contribution)
	s.announcement = must(a.Encode())
	return s
}
