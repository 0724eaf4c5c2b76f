package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// memBackend is an in-memory Backend for API tests.
type memBackend struct{ rounds []RoundInfo }

func (m memBackend) ID(context.Context) (IDInfo, error) {
	return IDInfo{Peer: "12D3KooWtest", Online: true}, nil
}
func (m memBackend) Peers(context.Context) ([]PeerInfo, error)   { return []PeerInfo{{Peer: "p1"}}, nil }
func (m memBackend) Rounds(context.Context) ([]RoundInfo, error) { return m.rounds, nil }
func (m memBackend) Round(_ context.Context, n int64) (RoundInfo, error) {
	if n < 1 || int(n) > len(m.rounds) {
		return RoundInfo{}, fmt.Errorf("round %d: %w", n, ErrNotFound)
	}
	return m.rounds[n-1], nil
}
func (m memBackend) Show(_ context.Context, c string) (Object, error) {
	return Object{}, fmt.Errorf("cid %q: %w", c, ErrBadRequest)
}
func (m memBackend) Export(_ context.Context, c string, head HeadMode, w io.Writer) error {
	if c != "good" {
		return fmt.Errorf("%s: %w", c, ErrNotFound)
	}
	_, err := fmt.Fprintf(w, "weights head=%d", head)
	return err
}

func startAPI(t *testing.T, b Backend, token string) *API {
	t.Helper()
	a, err := ListenAPI("127.0.0.1:0", b, token, NewMetrics().Registry, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a
}

func TestAPIClientRoundTrip(t *testing.T) {
	b := memBackend{rounds: []RoundInfo{{Round: 1, Record: "r1", Contributions: []ContributionInfo{{Peer: "p", Examples: 7}}}}}
	a := startAPI(t, b, "secret")
	c := NewClient(a.Addr(), "secret")
	ctx := context.Background()
	id, err := c.ID(ctx)
	if err != nil || id.Peer != "12D3KooWtest" || !id.Online {
		t.Fatalf("ID: %+v %v", id, err)
	}
	r, err := c.Round(ctx, 1)
	if err != nil || r.Record != "r1" || r.Contributions[0].Examples != 7 {
		t.Fatalf("Round: %+v %v", r, err)
	}
	if _, err := c.Round(ctx, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("Round(9): %v, want ErrNotFound", err)
	}
	if _, err := c.Show(ctx, "x"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Show: %v, want ErrBadRequest", err)
	}
	var buf bytes.Buffer
	for _, h := range []HeadMode{HeadNone, HeadSame, HeadLatest} {
		buf.Reset()
		want := fmt.Sprintf("weights head=%d", h)
		if err := c.Export(ctx, "good", h, &buf); err != nil || buf.String() != want {
			t.Errorf("Export(%d): %q %v, want %q", h, buf.String(), err, want)
		}
	}
	if err := c.Export(ctx, "bad", HeadNone, &buf); !errors.Is(err, ErrNotFound) {
		t.Errorf("Export(bad): %v, want ErrNotFound", err)
	}
}

func TestAPIRejectsMissingOrWrongToken(t *testing.T) {
	a := startAPI(t, memBackend{}, "secret")
	for _, tok := range []string{"", "wrong", "secret2"} {
		_, err := NewClient(a.Addr(), tok).ID(context.Background())
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("token %q: %v, want 401", tok, err)
		}
	}
	resp, err := http.Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "coldnode_consensus_rounds_total") {
		t.Error("/metrics lacks coldnode_consensus_rounds_total")
	}
}

func TestAPIBusyPort(t *testing.T) {
	a := startAPI(t, memBackend{}, "t")
	_, err := ListenAPI(a.Addr(), memBackend{}, "t", nil, nil)
	if err == nil || !strings.Contains(err.Error(), a.Addr()) {
		t.Fatalf("second listen on %s: %v, want an error naming the address", a.Addr(), err)
	}
}
