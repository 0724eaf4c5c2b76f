package consensus

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
)

func TestValidate(t *testing.T) {
	c := startCluster(t, params(2, 2), "a")
	c.propose("a", false, false)
	swarm := c.nodes["a"].m.Swarm()
	good := c.outbox[0].payload
	if err := Validate(swarm, good); err != nil {
		t.Fatalf("valid announcement refused: %v", err)
	}
	if err := Validate(rawCID("other"), good); !errors.Is(err, ErrRejected) {
		t.Fatalf("announcement for another swarm accepted: %v", err)
	}
	a, _ := wire.DecodeAnnouncement(good)
	a.Kind = wire.KindRecord
	lying, _ := a.Encode()
	if err := Validate(swarm, lying); !errors.Is(err, ErrRejected) {
		t.Fatalf("contribution announced as a record accepted: %v", err)
	}
	if err := Validate(swarm, []byte{0xa0}); !errors.Is(err, ErrRejected) {
		t.Fatalf("garbage accepted: %v", err)
	}
}

// An unknown fusion rule in the genesis is a clear error when a genesis
// is encoded and when New decodes one: every fusion of the swarm would fail.
func TestUnknownRuleRejected(t *testing.T) {
	p := wire.DefaultParams()
	p.Rule = "average"
	g := wire.Genesis{Name: "x", Model: "{}", Weights: rawCID("w"), Params: p}
	if _, err := g.Encode(); err == nil || !strings.Contains(err.Error(), `rule "average"`) {
		t.Fatalf("genesis with rule %q encoded: %v", p.Rule, err)
	}
	g.Params.Rule = "clip:2,trimmed:0.2"
	b, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(DefaultConfig(b, nil), epoch); err != nil {
		t.Fatalf("valid rule %q: %v", g.Params.Rule, err)
	}
	// A genesis from elsewhere: the same bytes with the rule renamed.
	bad := bytes.Replace(b, []byte("clip:2,trimmed:0.2"), []byte("clip:2,trimmer:0.2"), 1)
	if _, err := New(DefaultConfig(bad, nil), epoch); err == nil || !strings.Contains(err.Error(), `rule "clip:2,trimmer:0.2"`) {
		t.Fatalf("genesis with an unknown rule accepted by New: %v", err)
	}
}
