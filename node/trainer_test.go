package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/coldnode/coldnode/train/optim"
	"github.com/ipfs/go-cid"
)

// memStore is an in-memory weightStore. ReadFile hands out the stored slice
// itself, so a reader that wrote into it would corrupt the store, which
// TestTrainerContributesTheDelta checks does not happen.
type memStore struct {
	mu    sync.Mutex
	files map[cid.Cid][]byte
	reads int
}

func (s *memStore) ReadFile(_ context.Context, c cid.Cid, maxBytes int64) ([]byte, error) {
	return s.read(c, maxBytes)
}

// OpenFile opens a stored file for reading in place; it counts as a read.
func (s *memStore) OpenFile(_ context.Context, c cid.Cid, maxBytes int64) (storedFile, error) {
	b, err := s.read(c, maxBytes)
	if err != nil {
		return nil, err
	}
	return memFile{bytes.NewReader(b)}, nil
}

// read returns the stored bytes of c, counting the read.
func (s *memStore) read(c cid.Cid, maxBytes int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[c]
	if !ok {
		return nil, fmt.Errorf("no file %s", c)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("file %s is %d bytes, cap %d", c, len(b), maxBytes)
	}
	s.reads++
	return b, nil
}

// memFile is a stored file of memStore read in place.
type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func (s *memStore) ImportBytes(_ context.Context, b []byte) (cid.Cid, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := wire.CIDOf(b)
	s.files[c] = bytes.Clone(b)
	return c, nil
}

// The trainer's contribution (trained on the base, the base read again for
// an in-place delta, then encoded) is byte for byte what Finetune, Delta
// and Encode give on their own, and the stored base is left as it was.
func TestTrainerContributesTheDelta(t *testing.T) {
	task := tinyTask()
	_, baseBytes := tinyBase(t, task)
	opt := train.DefaultOptions()
	opt.Epochs, opt.Patience = 3, 0
	for _, enc := range []deltaenc.Encoding{deltaenc.Dense, deltaenc.Default} {
		t.Run(enc.String(), func(t *testing.T) {
			tr, store, baseCID := testTrainer(t, task, opt, enc, baseBytes)
			own, err := tr.contribute(context.Background(), trainJob{Round: 1, Base: baseCID})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(store.files[baseCID], baseBytes) {
				t.Fatal("training changed the stored base")
			}
			if store.reads != 2 {
				t.Fatalf("base read %d times, want 2 (before training and for the delta)", store.reads)
			}
			got := store.files[cid.MustParse(own.Delta)]
			want := expectedDelta(t, baseBytes, task, opt, enc)
			if !bytes.Equal(got, want) {
				t.Fatalf("contributed delta (%d bytes) differs from Finetune+Delta+Encode (%d bytes)", len(got), len(want))
			}
		})
	}
}

// tinyBase is a genesis body for task and its encoded file.
func tinyBase(t *testing.T, task *data.Task) (*checkpoint.File, []byte) {
	t.Helper()
	body, err := train.NewBody("mlp", task, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := checkpoint.Encode(body)
	if err != nil {
		t.Fatal(err)
	}
	return body, b
}

// testTrainer is a trainer of task over an in-memory store holding the
// base file baseBytes, with a repository in a temporary directory.
func testTrainer(t *testing.T, task *data.Task, opt train.Options, enc deltaenc.Encoding, baseBytes []byte) (*trainer, *memStore, cid.Cid) {
	t.Helper()
	store := &memStore{files: map[cid.Cid][]byte{}}
	baseCID, _ := store.ImportBytes(context.Background(), baseBytes)
	repo, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	tr := &trainer{repo: repo, store: store, task: task, opt: opt, maxDelta: 1 << 30, enc: enc,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: NewMetrics(), progress: NewProgress(io.Discard, false)}
	return tr, store, baseCID
}

func expectedDelta(t *testing.T, baseBytes []byte, task *data.Task, opt train.Options, enc deltaenc.Encoding) []byte {
	t.Helper()
	base, err := checkpoint.Decode(baseBytes)
	if err != nil {
		t.Fatal(err)
	}
	opt.Seed = opt.Seed*1_000_003 + 1
	res, err := train.Finetune(context.Background(), base, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := train.Delta(base, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := deltaenc.Encode(delta, enc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With AutoMoments the trainer trains each round with the most precise
// moments whose estimated training fits the memory budget beside the live
// heap, says so when even int8 does not fit, and keeps the options' own
// precision without a budget or the setting.
func TestTrainerPicksMomentsForTheBudget(t *testing.T) {
	base, _ := tinyBase(t, tinyTask())
	const live = 1000
	n := parameters(base)
	var want int64
	for _, ten := range base.Tensors {
		v := int64(1)
		for _, d := range ten.Shape {
			v *= int64(d)
		}
		want += v
	}
	if n != want || n == 0 {
		t.Fatalf("parameters = %d, want %d (the shapes' products)", n, want)
	}
	for _, c := range []struct {
		auto   bool
		budget int64
		want   optim.Precision
		warns  bool
	}{
		{true, 0, optim.FP32, false}, {false, 1, optim.FP32, false},
		{true, live + train.PeakBytes(n, optim.FP32), optim.FP32, false},
		{true, live + train.PeakBytes(n, optim.FP32) - 1, optim.BF16, false},
		{true, live + train.PeakBytes(n, optim.INT8), optim.INT8, false},
		{true, live + train.PeakBytes(n, optim.INT8) - 1, optim.INT8, true},
	} {
		var log bytes.Buffer
		tr := &trainer{autoMoments: c.auto, budget: c.budget, log: slog.New(slog.NewTextHandler(&log, nil))}
		if got := tr.moments(trainJob{Round: 2}, n, live, optim.FP32); got != c.want {
			t.Errorf("auto %v, budget %d: moments %s, want %s", c.auto, c.budget, got, c.want)
		}
		if warned := strings.Contains(log.String(), "may not fit"); warned != c.warns {
			t.Errorf("auto %v, budget %d: warned %v, want %v: %q", c.auto, c.budget, warned, c.warns, log.String())
		}
	}
}

// The precision picked reaches training: a budget that fits only int8
// moments contributes the delta of an int8 training, not of an fp32 one.
func TestTrainerTrainsWithPickedMoments(t *testing.T) {
	task := tinyTask()
	body, baseBytes := tinyBase(t, task)
	defer func(f func() int64) { liveHeap = f }(liveHeap)
	liveHeap = func() int64 { return 0 }
	opt := train.DefaultOptions()
	opt.Epochs, opt.Patience = 2, 0
	tr, store, baseCID := testTrainer(t, task, opt, deltaenc.Dense, baseBytes)
	tr.autoMoments, tr.budget = true, train.PeakBytes(parameters(body), optim.INT8)
	own, err := tr.contribute(context.Background(), trainJob{Round: 1, Base: baseCID})
	if err != nil {
		t.Fatal(err)
	}
	got := store.files[cid.MustParse(own.Delta)]
	int8Opt := opt
	int8Opt.Moments = optim.INT8
	if !bytes.Equal(got, expectedDelta(t, baseBytes, task, int8Opt, deltaenc.Dense)) {
		t.Fatal("the delta is not that of an int8-moment training")
	}
	if bytes.Equal(got, expectedDelta(t, baseBytes, task, opt, deltaenc.Dense)) {
		t.Fatal("int8 and fp32 trainings gave the same delta: the test cannot tell them apart")
	}
}
