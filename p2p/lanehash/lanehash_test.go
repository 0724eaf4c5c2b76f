package lanehash

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// messages returns count random messages with lengths from lengths, cycled.
func messages(r *rand.Rand, count int, lengths ...int) [][]byte {
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = make([]byte, lengths[i%len(lengths)])
		for j := range msgs[i] {
			msgs[i][j] = byte(r.Uint32())
		}
	}
	return msgs
}

func checkSums(t *testing.T, msgs [][]byte) {
	t.Helper()
	got := make([][Size]byte, len(msgs))
	Sum256(got, msgs)
	for i, m := range msgs {
		if want := sha256.Sum256(m); got[i] != want {
			t.Fatalf("message %d of %d (%d bytes): %x, want %x", i, len(msgs), len(m), got[i], want)
		}
	}
}

// Every length around the padding's edges, in groups of one to five, gives
// crypto/sha256's digest.
func TestSum256MatchesSHA256EveryLength(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 300; n++ {
		for count := 1; count <= 5; count++ {
			checkSums(t, messages(r, count, n))
		}
	}
}

// Mixed lengths are grouped by length; the odd ones out are still right.
func TestSum256MixedLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	checkSums(t, messages(r, 11, 1<<20, 1<<20, 1000, 1<<20, 55, 56, 1000))
	checkSums(t, messages(r, 40, 1<<20))
	checkSums(t, messages(r, 9, 64*1024+3, 64*1024+3, 7))
}

// Lanes that differ in a single byte give different digests: each lane
// reads its own message.
func TestSum256LanesAreIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	msgs := messages(r, 1, 4096)
	for i := 1; i < 4; i++ {
		m := append([]byte(nil), msgs[0]...)
		m[i*1000] ^= 1
		msgs = append(msgs, m)
	}
	checkSums(t, msgs)
}

func TestSum256PanicsOnMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for two digests of one message")
		}
	}()
	Sum256(make([][Size]byte, 2), [][]byte{nil})
}

func TestLanes(t *testing.T) {
	if got := Lanes(); got != 1 && got != lanes {
		t.Fatalf("Lanes() = %d", got)
	}
	t.Logf("lanes on this processor: %d", Lanes())
}

// BenchmarkLeaves hashes 1 MiB leaves with Sum256 and with crypto/sha256
// one by one, in the same loop: two, three, four, and a 40 MiB body's 40.
// "ratio" is Sum256's speed over crypto/sha256's.
func BenchmarkLeaves(b *testing.B) {
	for _, n := range []int{2, 3, 4, 40} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchLeaves(b, n) })
	}
}

func benchLeaves(b *testing.B, count int) {
	msgs := messages(rand.New(rand.NewPCG(7, 8)), count, 1<<20)
	sums := make([][Size]byte, len(msgs))
	var lane, one float64
	b.SetBytes(int64(count) << 20)
	for b.Loop() {
		start := time.Now()
		Sum256(sums, msgs)
		mid := time.Now()
		sumEach(sums, msgs)
		lane += mid.Sub(start).Seconds()
		one += time.Since(mid).Seconds()
	}
	mb := float64(b.N) * float64(count<<20) / 1e6
	b.ReportMetric(mb/lane, "lanes-MB/s")
	b.ReportMetric(mb/one, "sha256-MB/s")
	b.ReportMetric(one/lane, "ratio")
}
