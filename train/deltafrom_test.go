package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// largestRead is an io.ReaderAt over b that remembers its largest read.
type largestRead struct {
	r   *bytes.Reader
	max int
}

func (l *largestRead) ReadAt(p []byte, off int64) (int, error) {
	l.max = max(l.max, len(p))
	return l.r.ReadAt(p, off)
}

func openCounted(t *testing.T, b []byte) (*checkpoint.Reader, *largestRead) {
	t.Helper()
	src := &largestRead{r: bytes.NewReader(b)}
	r, err := checkpoint.Open(src, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r, src
}

// The delta from a base read a chunk at a time has the bits of Delta, and
// no read takes a whole tensor of the base.
func TestDeltaInPlaceFromMatchesDelta(t *testing.T) {
	task := loadTask(t, "trec")
	base := smallBag(t, task)
	opt := small()
	opt.Epochs, opt.MaxTrain = 1, 300
	res, err := Finetune(context.Background(), base, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := encode(t, mustDelta(t, base, res.Body))
	largest := 0
	for _, tt := range base.Tensors {
		largest = max(largest, len(tt.Data))
	}
	if largest <= subtractChunk {
		t.Fatalf("the test body's largest tensor (%d bytes) fits one chunk (%d): nothing is streamed", largest, subtractChunk)
	}
	r, src := openCounted(t, encode(t, base))
	got, err := DeltaInPlaceFrom(r, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, got), want) {
		t.Error("DeltaInPlaceFrom differs from Delta")
	}
	if src.max > subtractChunk {
		t.Errorf("largest read of the base %d bytes, want at most %d", src.max, subtractChunk)
	}
}

// A base in another float type is converted as Delta converts it.
func TestDeltaInPlaceFromF64Base(t *testing.T) {
	task := loadTask(t, "trec")
	base := smallBag(t, task)
	wide := &checkpoint.File{Meta: base.Meta}
	for _, tt := range base.Tensors {
		v, err := tt.F32()
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(float64(x)+1e-9))
		}
		wide.Tensors = append(wide.Tensors, checkpoint.Tensor{Name: tt.Name, DType: checkpoint.F64, Shape: tt.Shape, Data: data})
	}
	tuned := smallBag(t, loadTask(t, "sst2"))
	want := encode(t, mustDelta(t, wide, tuned))
	r, _ := openCounted(t, encode(t, wide))
	got, err := DeltaInPlaceFrom(r, tuned)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, got), want) {
		t.Error("DeltaInPlaceFrom of an F64 base differs from Delta")
	}
}

func TestDeltaInPlaceFromRejectsOtherBody(t *testing.T) {
	task := loadTask(t, "trec")
	base := smallBag(t, task)
	other := smallBag(t, task)
	other.Tensors = other.Tensors[:1]
	r, _ := openCounted(t, encode(t, base))
	if _, err := DeltaInPlaceFrom(r, other); err == nil {
		t.Error("delta against a body with a missing tensor accepted")
	}
}
