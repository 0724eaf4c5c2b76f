package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

func TestRoundTrip(t *testing.T) {
	s := fixtures(t)
	g, err := DecodeGenesis(s.genesis)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, fixtureGenesis()) {
		t.Fatalf("genesis round trip changed it:\n%+v\n%+v", g, fixtureGenesis())
	}
	c, err := DecodeContribution(s.contribution)
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureContribution(t, CIDOf(s.genesis)); !reflect.DeepEqual(c, want) {
		t.Fatalf("contribution round trip changed it:\n%+v\n%+v", c, want)
	}
	r, err := DecodeRecord(s.record)
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureRecord(CIDOf(s.genesis), CIDOf(s.contribution)); !reflect.DeepEqual(r, want) {
		t.Fatalf("record round trip changed it:\n%+v\n%+v", r, want)
	}
	a, err := DecodeAnnouncement(s.announcement)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Block, s.contribution) || !a.CID.Equals(CIDOf(s.contribution)) {
		t.Fatal("announcement round trip lost its block")
	}
}

// TestIPLDPrimeAgrees checks the hand-written encoder against go-ipld-prime's
// dag-cbor codec: decoding our bytes there and encoding again gives the same
// bytes, so our output is canonical dag-cbor by the reference implementation.
func TestIPLDPrimeAgrees(t *testing.T) {
	s := fixtures(t)
	for name, b := range map[string][]byte{"genesis": s.genesis, "contribution": s.contribution, "record": s.record, "announcement": s.announcement} {
		nb := basicnode.Prototype.Any.NewBuilder()
		if err := dagcbor.Decode(nb, bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: go-ipld-prime cannot decode: %v", name, err)
		}
		var out bytes.Buffer
		if err := dagcbor.Encode(nb.Build(), &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(out.Bytes(), b) {
			t.Errorf("%s: go-ipld-prime re-encodes differently:\n%x\n%x", name, out.Bytes(), b)
		}
	}
}

func TestSignature(t *testing.T) {
	s := fixtures(t)
	c, err := DecodeContribution(s.contribution)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	c.Examples++
	if err := c.Verify(); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed contribution verified: %v", err)
	}
	c.Examples--
	c.Peer = SeededSigner("bob").ID()
	if err := c.Verify(); !errors.Is(err, ErrSignature) {
		t.Fatalf("signature verified under another peer: %v", err)
	}
}

func TestRejects(t *testing.T) {
	s := fixtures(t)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"trailing byte", append(append([]byte(nil), s.contribution...), 0), ErrMalformed},
		{"truncated", s.contribution[:len(s.contribution)-1], ErrMalformed},
		{"not a map", []byte{0x01}, ErrMalformed},
		{"indefinite map", []byte{0xbf, 0xff}, ErrMalformed},
		{"non-minimal int", []byte{0xa1, 0x61, 'v', 0x18, 0x01}, ErrNonCanonical},
		{"unsorted keys", []byte{0xa2, 0x62, 'a', 'a', 0x01, 0x61, 'v', 0x01}, ErrNonCanonical},
		{"duplicate keys", []byte{0xa2, 0x61, 'v', 0x01, 0x61, 'v', 0x01}, ErrNonCanonical},
		{"negative int", []byte{0xa1, 0x61, 'v', 0x20}, ErrMalformed},
		{"float32", []byte{0xa1, 0x61, 'v', 0xfa, 0, 0, 0, 0}, ErrMalformed},
		{"other tag", []byte{0xa1, 0x61, 'v', 0xc1, 0x01}, ErrMalformed},
		{"wrong version", replaceOnce(s.contribution, []byte{0x61, 'v', 0x01}, []byte{0x61, 'v', 0x02}), ErrVersion},
		{"unknown field", withExtraField(t, s.contribution), ErrMalformed},
		{"wrong type", replaceOnce(s.contribution, []byte{0x64, 't', 'a', 's', 'k', 0x64}, []byte{0x64, 't', 'a', 's', 'k', 0x44}), ErrMalformed},
		{"huge array", []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
		{"oversize", make([]byte, MaxBlock+1), ErrTooLarge},
	}
	for _, tc := range cases {
		_, err := DecodeContribution(tc.data)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func replaceOnce(b, old, new []byte) []byte {
	return bytes.Replace(append([]byte(nil), b...), old, new, 1)
}

// withExtraField re-encodes a valid contribution with one more key, in
// canonical order, so only the unknown-field check can refuse it.
func withExtraField(t *testing.T, b []byte) []byte {
	it, err := decodeCanonical(b, MaxBlock)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]item{"zz": uintItem(1)}
	for i, k := range it.keys {
		m[k] = it.vals[i]
	}
	return appendItem(nil, mapItem(m))
}

func TestRecordOrder(t *testing.T) {
	s := fixtures(t)
	r := fixtureRecord(CIDOf(s.genesis), CIDOf(s.contribution))
	r.Contributions = append(r.Contributions, r.Contributions[0])
	if _, err := r.Encode(); !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("duplicate contribution accepted: %v", err)
	}
	r.Contributions = nil
	if _, err := r.Encode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty record accepted: %v", err)
	}
}

func TestAnnouncementCIDMismatch(t *testing.T) {
	s := fixtures(t)
	a := Announce(CIDOf(s.genesis), KindRecord, s.record)
	a.CID = CIDOf(s.contribution)
	if _, err := a.Encode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("announcement with a block of another CID accepted: %v", err)
	}
}

func TestAllowlist(t *testing.T) {
	g := fixtureGenesis()
	if !g.Params.Allowed(SeededSigner("bob").ID()) || g.Params.Allowed(SeededSigner("eve").ID()) {
		t.Fatal("allowlist lookup wrong")
	}
	g.Params.Allow[0], g.Params.Allow[1] = g.Params.Allow[1], g.Params.Allow[0]
	if _, err := g.Encode(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unsorted allowlist accepted: %v", err)
	}
}
