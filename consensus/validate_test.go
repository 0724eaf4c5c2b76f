package consensus

import (
	"errors"
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
