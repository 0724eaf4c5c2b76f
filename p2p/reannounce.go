package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reannounce republishes, every period, each payload what returns (for
// example the announcements of everything this node holds for the current
// round), so peers that joined late or missed a message catch up. Each
// republish is a fresh envelope, hence a new message ID. It runs until the
// topic closes; a topic has at most one re-announcer.
func (t *Topic) Reannounce(period time.Duration, what func() [][]byte) error {
	if period <= 0 || what == nil {
		return errors.New("p2p reannounce: need a positive period and a payload function")
	}
	if !t.reannouncing.CompareAndSwap(false, true) {
		return fmt.Errorf("p2p reannounce %s: already running", t.full)
	}
	t.wg.Add(1)
	go t.reannounceLoop(period, what)
	return nil
}

func (t *Topic) reannounceLoop(period time.Duration, what func() [][]byte) {
	defer t.wg.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
			t.republish(what())
		}
	}
}

func (t *Topic) republish(payloads [][]byte) {
	for _, p := range payloads {
		ctx, cancel := context.WithTimeout(t.ctx, t.n.cfg.Gossip.PublishWait)
		err := t.Publish(ctx, p)
		cancel()
		if err != nil {
			t.n.log.Debug("re-announce failed", "topic", t.full, "err", err)
		}
	}
}
