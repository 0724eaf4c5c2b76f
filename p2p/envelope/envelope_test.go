package envelope

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testKey(t testing.TB, seed byte) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var t0 = time.Unix(1_800_000_000, 5)

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	b, err := Seal(k, "swarmA", "/coldnode/swarmA/heads", []byte("payload"), t0)
	if err != nil {
		t.Fatal(err)
	}
	e, id, err := Open(b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.IDFromPrivateKey(k)
	if id != want {
		t.Fatalf("signer %s, want %s", id, want)
	}
	if e.Swarm != "swarmA" || e.Topic != "/coldnode/swarmA/heads" || string(e.Payload) != "payload" || !e.SentAt().Equal(t0) {
		t.Fatalf("decoded %+v", e)
	}
	again, _ := e.Encode()
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs from the original bytes")
	}
}

func TestTamperedFieldsFailSignature(t *testing.T) {
	k := testKey(t, 2)
	b, err := Seal(k, "s", "t", []byte("hello"), t0)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := Decode(b)
	for name, mut := range map[string]func(*Envelope){
		"payload": func(e *Envelope) { e.Payload = []byte("hellp") },
		"swarm":   func(e *Envelope) { e.Swarm = "x" },
		"topic":   func(e *Envelope) { e.Topic = "u" },
		"time":    func(e *Envelope) { e.Time++ },
		"signer": func(e *Envelope) {
			e.Signer, _ = crypto.MarshalPublicKey(testKey(t, 3).GetPublic())
		},
	} {
		c := *e
		mut(&c)
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := Open(enc); !errors.Is(err, ErrSignature) {
			t.Errorf("tampered %s: err = %v, want ErrSignature", name, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	k := testKey(t, 4)
	good, _ := Seal(k, "s", "t", []byte("p"), t0)
	overlong := append([]byte{}, good[:9]...)
	overlong = append(overlong, 0x81, 0x00) // swarm length 1 as a two-byte varint
	overlong = append(overlong, good[10:]...)
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short header", good[:5], ErrMalformed},
		{"version 2", append([]byte{2}, good[1:]...), ErrVersion},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing byte", append(append([]byte{}, good...), 0), ErrMalformed},
		{"overlong varint", overlong, ErrMalformed},
		{"oversized", make([]byte, MaxSize+1), ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := Decode(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSealLimits(t *testing.T) {
	k := testKey(t, 5)
	if _, err := Seal(k, "s", "t", make([]byte, MaxSize), t0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized payload: err = %v, want ErrTooLarge", err)
	}
	if _, err := Seal(k, "", "t", nil, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty swarm: err = %v, want ErrMalformed", err)
	}
	if _, err := Seal(nil, "s", "t", nil, t0); err == nil {
		t.Fatal("nil key sealed")
	}
}

// TestWriteSeedCorpus keeps testdata/fuzz/FuzzDecode in step with the format:
// run with COLDNODE_WRITE_CORPUS=1 to regenerate.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("COLDNODE_WRITE_CORPUS") == "" {
		seeds, err := filepath.Glob("testdata/fuzz/FuzzDecode/*")
		if err != nil || len(seeds) == 0 {
			t.Fatalf("no seed corpus in testdata/fuzz/FuzzDecode (%v)", err)
		}
		return
	}
	k := testKey(t, 6)
	for i, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{7}, 300)} {
		b, err := Seal(k, "swarm", "/coldnode/swarm/heads", p, t0)
		if err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n[]byte(" + quote(b) + ")\n"
		name := filepath.Join("testdata", "fuzz", "FuzzDecode", "seed"+string(rune('0'+i)))
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
