package p2p

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// MaxKnownPeers bounds the known-peers file.
const MaxKnownPeers = 128

func peersFile(repoDir string) string { return filepath.Join(repoDir, "peers.json") }

// knownPeers is the set of peers remembered across restarts. Connected peers
// are merged in on every save, most recent first.
type knownPeers struct {
	path  string
	log   *slog.Logger
	mu    sync.Mutex
	peers []peer.AddrInfo
	saved []byte // the file's bytes as last written (nil: none); only save uses it
}

type peerRecord struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}

func newKnownPeers(path string, log *slog.Logger) *knownPeers {
	return &knownPeers{path: path, log: log}
}

func (k *knownPeers) list() []peer.AddrInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]peer.AddrInfo(nil), k.peers...)
}

func (k *knownPeers) load() error {
	b, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("known peers: %w", err)
	}
	infos, err := decodePeers(b)
	if err != nil {
		return fmt.Errorf("known peers %s: %w", k.path, err)
	}
	k.mu.Lock()
	k.peers = infos
	k.mu.Unlock()
	return nil
}

func decodePeers(b []byte) ([]peer.AddrInfo, error) {
	var recs []peerRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, err
	}
	infos := make([]peer.AddrInfo, 0, len(recs))
	for _, r := range recs {
		id, err := peer.Decode(r.ID)
		if err != nil {
			return nil, fmt.Errorf("peer %q: %w", r.ID, err)
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range r.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		infos = append(infos, ai)
	}
	return infos, nil
}

// save merges connected into the known set and writes it atomically,
// unless the file would not change (each write costs a file create and an
// fsync, every ReconnectEvery on every node).
// The discovery goroutine is the only caller.
func (k *knownPeers) save(connected []peer.AddrInfo) error {
	k.mu.Lock()
	merged := mergePeers(connected, k.peers)
	k.peers = merged
	k.mu.Unlock()
	b, err := json.MarshalIndent(encodePeers(merged), "", " ")
	if err != nil {
		return err
	}
	if k.saved != nil && bytes.Equal(b, k.saved) {
		return nil
	}
	if err := writeFileAtomic(k.path, b); err != nil {
		return err
	}
	k.saved = b
	return nil
}

func mergePeers(first, rest []peer.AddrInfo) []peer.AddrInfo {
	sort.Slice(first, func(i, j int) bool { return first[i].ID < first[j].ID })
	seen := map[peer.ID]bool{}
	var out []peer.AddrInfo
	for _, ai := range append(append([]peer.AddrInfo{}, first...), rest...) {
		if !seen[ai.ID] && len(out) < MaxKnownPeers {
			seen[ai.ID] = true
			out = append(out, ai)
		}
	}
	return out
}

func encodePeers(infos []peer.AddrInfo) []peerRecord {
	recs := make([]peerRecord, 0, len(infos))
	for _, ai := range infos {
		r := peerRecord{ID: ai.ID.String()}
		for _, a := range ai.Addrs {
			r.Addrs = append(r.Addrs, a.String())
		}
		sort.Strings(r.Addrs)
		recs = append(recs, r)
	}
	return recs
}

// writeFileAtomic writes b (mode 0600) to a temporary file next to path and
// renames it into place.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := writeSync(f, b); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// KnownPeers reads the known-peers file of the repository repoDir (the
// peers a node was connected to when it last saved it, most recent first),
// without starting a host. A repository without the file has none.
func KnownPeers(repoDir string) ([]peer.AddrInfo, error) {
	k := newKnownPeers(peersFile(repoDir), nil)
	if err := k.load(); err != nil {
		return nil, err
	}
	return k.list(), nil
}
