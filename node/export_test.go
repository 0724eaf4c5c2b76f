package node

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// Export of the newest fused base, which this node has not trained on,
// carries no head by default and the node's most recent head with
// HeadLatest; a base it trained on gets that base's own head.
func TestExportNewestBaseWithLatestHead(t *testing.T) {
	o, rounds := exportFixture(t, 2)
	export := func(c string, mode HeadMode) *checkpoint.File { return exportOf(t, o, c, mode) }
	newest := rounds[1].Fused
	latest, err := o.repo.LatestOwn()
	if err != nil || latest.Round != 2 || latest.Base != rounds[0].Fused {
		t.Fatalf("latest own contribution %+v, %v: want round 2 on %s", latest, err, rounds[0].Fused)
	}
	if heads(export(newest, HeadSame)) != 0 || heads(export(newest, HeadNone)) != 0 {
		t.Fatal("the newest base got a head without --head")
	}
	with := export(newest, HeadLatest)
	own, _ := o.repo.OwnHead(latest.Base)
	if n := heads(with); n == 0 || n != len(own.Tensors) {
		t.Fatalf("HeadLatest export has %d head tensors, want the %d of the latest own head", n, len(own.Tensors))
	}
	for _, h := range own.Tensors {
		got, ok := with.Get(h.Name)
		if !ok || !bytes.Equal(got.Data, h.Data) {
			t.Fatalf("head tensor %s missing or different", h.Name)
		}
	}
	if heads(export(rounds[0].Fused, HeadSame)) == 0 {
		t.Fatal("a base the node trained on lost its own head")
	}
}

// exportFixture runs a one-node swarm (quorum 1, the default delta
// encoding) for the given rounds and opens its repository offline.
func exportFixture(t *testing.T, rounds int) (*Offline, []RoundInfo) {
	t.Helper()
	dir := t.TempDir()
	opt := DefaultInitOptions()
	opt.Model, opt.Task = "mlp", tinyTask()
	opt.Params = wire.DefaultParams()
	opt.Params.Quorum, opt.Params.Window = 1, 0
	if _, err := Init(context.Background(), dir, opt); err != nil {
		t.Fatal(err)
	}
	runNode(t, dir, rounds)
	infos := readRounds(t, dir)
	o, err := OpenOffline(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, infos
}

// exportOf exports c from o and decodes it as plain safetensors.
func exportOf(t *testing.T, o *Offline, c string, mode HeadMode) *checkpoint.File {
	t.Helper()
	var buf bytes.Buffer
	if err := o.Export(context.Background(), c, mode, &buf); err != nil {
		t.Fatalf("export %s mode %d: %v", c, mode, err)
	}
	f, err := checkpoint.Decode(buf.Bytes())
	if err != nil {
		t.Fatalf("export %s is not plain safetensors: %v", c, err)
	}
	return f
}

func heads(f *checkpoint.File) int {
	n := 0
	for _, t := range f.Tensors {
		if checkpoint.IsHead(t.Name) {
			n++
		}
	}
	return n
}

// Export of a delta in the default encoding (rows+int8+zstd) writes it
// decoded to plain float32 safetensors: with a quorum of one, the round's
// fused base is the base plus exactly those values.
func TestExportDecodesEncodedDelta(t *testing.T) {
	o, rounds := exportFixture(t, 1)
	own, err := o.repo.LatestOwn()
	if err != nil {
		t.Fatal(err)
	}
	export := func(c string) *checkpoint.File { return exportOf(t, o, c, HeadNone) }
	delta, base, fused := export(own.Delta), export(own.Base), export(rounds[0].Fused)
	if _, ok := delta.Meta[deltaenc.MetaKey]; ok || len(delta.Tensors) == 0 {
		t.Fatalf("exported delta still encoded (meta %v) or empty", delta.Meta)
	}
	for _, d := range delta.Tensors {
		b, _ := base.Get(d.Name)
		f, _ := fused.Get(d.Name)
		dv, err1 := d.F32()
		bv, err2 := b.F32()
		fv, err3 := f.F32()
		if err := errors.Join(err1, err2, err3); err != nil || len(bv) != len(dv) || len(fv) != len(dv) {
			t.Fatalf("%s: %v, sizes %d %d %d", d.Name, err, len(dv), len(bv), len(fv))
		}
		for i := range dv {
			if bv[i]+dv[i] != fv[i] {
				t.Fatalf("%s[%d]: base %v + exported delta %v = %v, fused %v", d.Name, i, bv[i], dv[i], bv[i]+dv[i], fv[i])
			}
		}
	}
}
