package p2p

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
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

// save writes the file only when its contents change: an unchanged peer
// set costs no file create and no fsync.
func TestKnownPeersSaveSkipsUnchanged(t *testing.T) {
	path := peersFile(t.TempDir())
	k := newKnownPeers(path, nil)
	a := peer.AddrInfo{ID: testPeerID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}}
	if err := k.save([]peer.AddrInfo{a}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatalf("first save wrote no file: %v", err)
	}
	if err := k.save([]peer.AddrInfo{a}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an unchanged peer set was written again (stat: %v)", err)
	}
	b := peer.AddrInfo{ID: testPeerID(t), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4002")}}
	if err := k.save([]peer.AddrInfo{b}); err != nil {
		t.Fatal(err)
	}
	ps, err := KnownPeers(filepath.Dir(path))
	if err != nil || len(ps) != 2 {
		t.Fatalf("after a new peer: %v, %v; want both peers saved", ps, err)
	}
}

func testPeerID(t *testing.T) peer.ID {
	id, err := peer.IDFromPrivateKey(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}
