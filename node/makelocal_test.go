package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coldnode/coldnode/p2p"
)

// MakeLocal fetches a file the node lacks from a connected peer once;
// asked again, with the file stored whole, it fetches nothing (before, it
// streamed the whole file from the peer a second time).
func TestMakeLocalFetchesNothingStored(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	pm, err := p2p.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := testHost(t, t.TempDir(), nil, p2p.WithMetrics(pm))
	b := testHost(t, t.TempDir(), nil)
	data := make([]byte, 3<<20+7)
	rand.NewChaCha8([32]byte{9}).Read(data)
	st, c := fetchingStore(t, a, b, data)
	for i := range 2 {
		if n, err := st.MakeLocal(ctx, c, 1<<30); err != nil || n != int64(len(data)) {
			t.Fatalf("MakeLocal %d = %d, %v; want %d", i, n, err, len(data))
		}
		if got := fetchedBytes(t, reg); got != float64(len(data)) {
			t.Fatalf("after MakeLocal %d: %v bytes fetched in all, want the file's %d once", i, got, len(data))
		}
	}
	if _, err := st.MakeLocal(ctx, c, 1<<20); !errors.Is(err, p2p.ErrTooLarge) {
		t.Fatalf("a stored file over the cap: %v, want ErrTooLarge", err)
	}
}

// fetchingStore imports data into b's store, connects a to b, and returns
// a's store, which fetches from b, and data's CID.
func fetchingStore(t *testing.T, a, b *p2p.Node, data []byte) (store, cid.Cid) {
	t.Helper()
	ctx := context.Background()
	c, err := b.Blocks().ImportBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, b.Addrs()[0].String()+"/p2p/"+b.ID().String()); err != nil {
		t.Fatal(err)
	}
	return store{blocks: a.Blocks(), host: a, metrics: NewMetrics(), timeout: time.Minute,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}, c
}

// fetchedBytes reads coldnode_p2p_fetch_bytes_total from reg.
func fetchedBytes(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "coldnode_p2p_fetch_bytes_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no coldnode_p2p_fetch_bytes_total")
	return 0
}
