package ufs

import (
	"context"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ctxDAG makes the builder's Add calls (which pass context.TODO) honour the
// caller's context, so a cancelled import stops at the next node.
type ctxDAG struct {
	ctx context.Context
	ipld.DAGService
}

func (d ctxDAG) Add(_ context.Context, n ipld.Node) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	return d.DAGService.Add(d.ctx, n)
}

func (d ctxDAG) AddMany(_ context.Context, ns []ipld.Node) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	return d.DAGService.AddMany(d.ctx, ns)
}

// discard is a DAG service that keeps nothing; CID builds through it.
type discard struct{}

func (discard) Add(context.Context, ipld.Node) error        { return nil }
func (discard) AddMany(context.Context, []ipld.Node) error  { return nil }
func (discard) Remove(context.Context, cid.Cid) error       { return nil }
func (discard) RemoveMany(context.Context, []cid.Cid) error { return nil }

func (discard) Get(_ context.Context, c cid.Cid) (ipld.Node, error) {
	return nil, ipld.ErrNotFound{Cid: c}
}

func (discard) GetMany(_ context.Context, cs []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cs))
	for _, c := range cs {
		out <- &ipld.NodeOption{Err: ipld.ErrNotFound{Cid: c}}
	}
	close(out)
	return out
}
