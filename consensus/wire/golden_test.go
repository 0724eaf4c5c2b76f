package wire

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seeds in testdata")

// TestGolden pins the exact bytes and CIDs of the fixtures. The file is the
// reference a second implementation checks itself against; see its header.
func TestGolden(t *testing.T) {
	s := fixtures(t)
	var b strings.Builder
	b.WriteString(goldenHeader)
	for _, e := range []struct {
		name string
		data []byte
	}{{"genesis", s.genesis}, {"contribution", s.contribution}, {"record", s.record}, {"announcement", s.announcement}} {
		fmt.Fprintf(&b, "%s %s %d\n%s\n", e.name, CIDOf(e.data), len(e.data), hex.EncodeToString(e.data))
	}
	fmt.Fprintf(&b, "alice %s\nbob %s\n", SeededSigner("alice").ID(), SeededSigner("bob").ID())
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		writeSeeds(t, s)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Fatalf("encodings differ from %s (run with -update only if the format changed on purpose):\n%s", path, b.String())
	}
}

const goldenHeader = `# Golden dag-cbor encodings of consensus/wire, format version 1.
# Each entry: "<name> <CIDv1 dag-cbor sha2-256> <length>" then the block in hex.
# Keys: Ed25519, private seed = sha256("alice") and sha256("bob"); peer IDs at the end.
# UnixFS CIDs in the fixtures are raw-codec CIDs of the ASCII strings weights-0, delta-alice-1, fused-1.
# The contribution is signed by alice over "coldnode/contribution/v1\x00" + the block without "sig".
`

func writeSeeds(t *testing.T, s fixtureSet) {
	seeds := map[string][]byte{
		"FuzzDecodeGenesis": s.genesis, "FuzzDecodeContribution": s.contribution,
		"FuzzDecodeRecord": s.record, "FuzzDecodeAnnouncement": s.announcement,
	}
	for fuzz, data := range seeds {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, d := range map[string][]byte{"valid": data, "truncated": data[:len(data)/2], "empty-map": {0xa0}} {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", d)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
