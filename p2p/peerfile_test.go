package p2p

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodePeers checks that a corrupt known-peers file is an error, never
// a panic, and that what decodes re-encodes to something that decodes to
// the same peers.
func FuzzDecodePeers(f *testing.F) {
	f.Add([]byte(`[{"id":"12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK","addrs":["/ip4/127.0.0.1/tcp/4001"]}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := decodePeers(b)
		if err != nil {
			return
		}
		again, err := decodePeers(mustJSON(t, encodePeers(infos)))
		if err != nil || len(again) != len(infos) {
			t.Fatalf("round trip: %d peers, %v; want %d", len(again), err, len(infos))
		}
	})
}

func TestKnownPeersFileCorruptIsIgnored(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "peers.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := newKnownPeers(peersFile(dir), nil)
	if err := k.load(); err == nil {
		t.Fatal("corrupt known-peers file loaded without error")
	}
	n := startNode(t, nil, testKey(t), dir) // starts anyway, with a warning
	if len(n.Peers()) != 0 {
		t.Fatal("peers from a corrupt file")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// KnownPeers reads what a closed node saved, without a host.
func TestKnownPeersOffline(t *testing.T) {
	if ps, err := KnownPeers(t.TempDir()); err != nil || len(ps) != 0 {
		t.Fatalf("fresh repository: %v %v", ps, err)
	}
	b := newTestNode(t, nil)
	repo := t.TempDir()
	a := startNode(t, nil, testKey(t), repo)
	connectAll(t, a, b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ps, err := KnownPeers(repo)
	if err != nil || len(ps) != 1 || ps[0].ID != b.ID() || len(ps[0].Addrs) == 0 {
		t.Fatalf("known peers %v, %v: want b with its addresses", ps, err)
	}
}
