package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
)

// countConn records the size of every write to the socket.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// newTLSSide is a batched TLS transport with a fresh key, and its peer ID.
func newTLSSide(t *testing.T) (*batchedTLS, peer.ID) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newBatchedTLS(libp2ptls.ID, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return tr, id
}

// A write of several TLS records reaches the socket in one system call,
// and the other side, a TLS connection that batches nothing, reads the
// same bytes: the wire is the records crypto/tls writes.
func TestBatchedTLSSendsAWriteAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, _ := newTLSSide(t)
	serverKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	server, err := libp2ptls.New(libp2ptls.ID, serverKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	serverID, _ := peer.IDFromPrivateKey(serverKey)
	msg := make([]byte, 200<<10)
	rand.Read(msg)
	got := make(chan []byte, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		sc, err := server.SecureInbound(context.Background(), raw, "")
		if err != nil {
			got <- nil
			return
		}
		defer sc.Close()
		b := make([]byte, len(msg))
		_, err = io.ReadFull(sc, b)
		if err != nil {
			b = nil
		}
		got <- b
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countConn{Conn: raw}
	sc, err := client.SecureOutbound(context.Background(), cc, serverID)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	before := cc.count()
	for off := 0; off < len(msg); off += 64 << 10 {
		if _, err := sc.Write(msg[off:min(off+64<<10, len(msg))]); err != nil {
			t.Fatal(err)
		}
	}
	if writes := cc.count() - before; writes != 4 {
		t.Errorf("four writes of up to 64 KiB (five TLS records each) made %d socket writes, want 4", writes)
	}
	if b := <-got; !bytes.Equal(b, msg) {
		t.Fatal("the unbatched side did not read the bytes written")
	}
}

// Outside a write (the handshake, alerts), the socket is written at once.
func TestBatchConnPassesThroughWhenNotHeld(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	bc := &batchConn{Conn: a}
	done := make(chan []byte)
	go func() {
		buf := make([]byte, 3)
		io.ReadFull(b, buf)
		done <- buf
	}()
	if _, err := bc.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if got := <-done; string(got) != "abc" {
		t.Fatalf("read %q through an unheld batchConn", got)
	}
	bc.hold(8)
	bc.Write([]byte("de"))
	bc.Write([]byte("fg"))
	go func() {
		buf := make([]byte, 4)
		io.ReadFull(b, buf)
		done <- buf
	}()
	if err := bc.flush(); err != nil {
		t.Fatal(err)
	}
	if got := <-done; string(got) != "defg" {
		t.Fatalf("read %q after a flush, want the held writes in order", got)
	}
}
