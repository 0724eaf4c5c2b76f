package p2p

import (
	"os"
	"testing"
)

// temporary: profile one path (PROF_PATH=libp2p|direct|direct-mem)
func BenchmarkProfPath(b *testing.B) {
	d := &directBench{data: randomBytes(benchSize, 9), seed: 1000}
	d.shipped = d.newSwarm(b, 1, 1, func() *Node { return newTestNode(b, nil) })
	if os.Getenv("PROF_PATH") == "direct-mem" {
		inMemory(b, d.shipped.dsts[0])
	}
	for b.Loop() {
		switch os.Getenv("PROF_PATH") {
		case "libp2p":
			if err := d.shipped.stream(0); err != nil {
				b.Fatal(err)
			}
		default:
			f := d.fetch(b, d.shipped, directFetch)
			if err := f(0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(benchSize)
}
