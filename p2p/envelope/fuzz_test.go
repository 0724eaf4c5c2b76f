package envelope

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
)

func quote(b []byte) string { return strconv.Quote(string(b)) }

// FuzzDecode checks that Decode never panics, that whatever it accepts
// re-encodes to the same bytes, and that Open agrees with Decode+Verify.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 's', 1, 't', 0, 1, 'k', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := e.Encode()
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", b, enc)
		}
		_, idOpen, errOpen := Open(b)
		idVerify, errVerify := e.Verify()
		if fmt.Sprint(errOpen) != fmt.Sprint(errVerify) || idOpen != idVerify {
			t.Fatalf("Open (%s, %v) disagrees with Verify (%s, %v)", idOpen, errOpen, idVerify, errVerify)
		}
	})
}
