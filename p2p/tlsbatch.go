package p2p

import (
	"context"
	"net"
	"sync"

	pool "github.com/libp2p/go-buffer-pool"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
)

// batchedTLS is libp2p's TLS security transport with the records of one
// write sent to the socket in one system call. crypto/tls writes each
// record of at most 16 KiB with its own write, so one 64 KiB yamux frame
// costs five; the bytes on the wire are the same, so peers cannot tell.
type batchedTLS struct{ inner *libp2ptls.Transport }

var _ sec.SecureTransport = (*batchedTLS)(nil)

func newBatchedTLS(id protocol.ID, key crypto.PrivKey, muxers []tptu.StreamMuxer) (*batchedTLS, error) {
	t, err := libp2ptls.New(id, key, muxers)
	if err != nil {
		return nil, err
	}
	return &batchedTLS{inner: t}, nil
}

func (t *batchedTLS) ID() protocol.ID { return t.inner.ID() }

func (t *batchedTLS) SecureInbound(ctx context.Context, insecure net.Conn, p peer.ID) (sec.SecureConn, error) {
	bc := &batchConn{Conn: insecure}
	sc, err := t.inner.SecureInbound(ctx, bc, p)
	if err != nil {
		return nil, err
	}
	return &batchedConn{SecureConn: sc, raw: bc}, nil
}

func (t *batchedTLS) SecureOutbound(ctx context.Context, insecure net.Conn, p peer.ID) (sec.SecureConn, error) {
	bc := &batchConn{Conn: insecure}
	sc, err := t.inner.SecureOutbound(ctx, bc, p)
	if err != nil {
		return nil, err
	}
	return &batchedConn{SecureConn: sc, raw: bc}, nil
}

// batchedConn is a secured connection whose Write holds back the raw
// writes of its records and sends them together.
type batchedConn struct {
	sec.SecureConn
	raw *batchConn
	mu  sync.Mutex // one Write at a time, so each flush sends whole writes
}

func (c *batchedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Room for p in records of 16 KiB, each with its 22 bytes of header,
	// content type and AEAD tag.
	c.raw.hold(len(p) + (len(p)/(16<<10)+1)*22)
	n, err := c.SecureConn.Write(p)
	if ferr := c.raw.flush(); err == nil {
		err = ferr
	}
	return n, err
}

// batchConn is the socket under the TLS connection: while held, writes
// gather in a buffer that flush sends in one write and returns to the
// pool, so an idle connection keeps none.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     []byte
}

// hold starts gathering writes in a pooled buffer of size bytes.
func (b *batchConn) hold(size int) {
	b.mu.Lock()
	b.holding = true
	b.buf = pool.Get(size)[:0]
	b.mu.Unlock()
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holding {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	var err error
	if len(b.buf) > 0 {
		_, err = b.Conn.Write(b.buf)
	}
	pool.Put(b.buf)
	b.buf = nil
	return err
}
