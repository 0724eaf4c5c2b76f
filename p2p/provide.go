package p2p

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"
)

// provideTimeout bounds one DHT provide.
const provideTimeout = time.Minute

// startProvider announces new roots on the DHT from one goroutine owned by
// the node. Announcements are best effort: when the queue is full the root
// is skipped (peers already connected find it over bitswap anyway).
func (n *Node) startProvider() {
	queue := make(chan cid.Cid, 256)
	n.blocks.provide = func(c cid.Cid) {
		select {
		case queue <- c:
		default:
			n.log.Debug("provide queue full; skipped", "cid", c)
		}
	}
	n.goFunc(func() {
		for {
			select {
			case <-n.ctx.Done():
				return
			case c := <-queue:
				n.provideOne(c)
			}
		}
	})
}

func (n *Node) provideOne(c cid.Cid) {
	ctx, cancel := context.WithTimeout(n.ctx, provideTimeout)
	defer cancel()
	if err := n.dht.Provide(ctx, c, true); err != nil {
		n.log.Debug("DHT provide failed", "cid", c, "err", err)
	}
}
