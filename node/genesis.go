package node

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// InitOptions describe a new swarm.
type InitOptions struct {
	// Model is an architecture (bag, encoder, mlp) or the path of a model
	// config JSON file.
	Model string
	// Dataset, when set, sizes the model for its task (required for mlp).
	Dataset string
	// Task, when set, sizes the model instead of Dataset (in-memory tasks).
	Task *data.Task
	// Name labels the swarm; two swarms differing only in name have different IDs.
	Name string
	// Params are the protocol parameters; start from wire.DefaultParams.
	Params wire.Params
	// Seed seeds the initial body weights.
	Seed uint64
}

// DefaultInitOptions is a bag model with the protocol's default parameters.
func DefaultInitOptions() InitOptions {
	return InitOptions{Model: model.Bag, Name: "coldnode", Params: wire.DefaultParams(), Seed: 1}
}

// ParseAllow parses a comma-separated list of peer IDs into the sorted,
// duplicate-free form a genesis requires.
func ParseAllow(list []string) ([]peer.ID, error) {
	seen := map[string]bool{}
	var out []peer.ID
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			if s = strings.TrimSpace(s); s == "" || seen[s] {
				continue
			}
			id, err := peer.Decode(s)
			if err != nil {
				return nil, fmt.Errorf("--allow: %q is not a peer ID: %w", s, err)
			}
			seen[s] = true
			out = append(out, id)
		}
	}
	sortPeers(out)
	return out, nil
}

// BuildGenesis makes the genesis of a new swarm and its initial body file
// (canonical safetensors). The genesis names the body by its UnixFS CID.
func BuildGenesis(opt InitOptions, weightsCID func([]byte) (string, error)) (*wire.Genesis, []byte, error) {
	if _, err := fusion.ParseRule(opt.Params.Rule); err != nil {
		return nil, nil, fmt.Errorf("--rule %q: %w", opt.Params.Rule, err)
	}
	if err := opt.Params.Validate(); err != nil {
		return nil, nil, fmt.Errorf("genesis parameters: %w", err)
	}
	cfg, err := modelConfig(opt.Model, opt.Dataset, opt.Task)
	if err != nil {
		return nil, nil, err
	}
	body, err := model.InitBody(cfg, opt.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("initial weights: %w", err)
	}
	b, err := checkpoint.Encode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("initial weights: %w", err)
	}
	c, err := weightsCID(b)
	if err != nil {
		return nil, nil, fmt.Errorf("initial weights: %w", err)
	}
	g := &wire.Genesis{Name: opt.Name, Model: cfg.Encode(), Params: opt.Params}
	if g.Weights, err = parseCID(c); err != nil {
		return nil, nil, err
	}
	return g, b, nil
}

// modelConfig resolves --model and --dataset into a body configuration
// (Classes 0: heads are per task).
func modelConfig(spec, dataset string, task *data.Task) (model.Config, error) {
	if spec != model.Bag && spec != model.MLP && spec != model.Encoder {
		b, err := os.ReadFile(spec)
		if err != nil {
			return model.Config{}, fmt.Errorf("--model %q is neither bag, encoder, mlp nor a readable config file: %w", spec, err)
		}
		cfg, err := model.ParseConfig(b)
		if err != nil {
			return cfg, fmt.Errorf("--model %s: %w", spec, err)
		}
		cfg.Classes = 0
		return cfg, nil
	}
	if task == nil {
		var err error
		if task, err = sizingTask(spec, dataset); err != nil {
			return model.Config{}, err
		}
	}
	cfg, err := model.DefaultConfig(spec, task)
	if err != nil {
		return cfg, fmt.Errorf("--model %q: %w", spec, err)
	}
	cfg.Classes = 0
	return cfg, nil
}

// sizingTask loads the dataset that sizes the model or, for text models
// without one, a stand-in text task (a text body does not depend on the task).
func sizingTask(arch, dataset string) (*data.Task, error) {
	if dataset != "" {
		t, err := data.Load(dataset, data.DefaultOptions())
		if err != nil {
			return nil, fmt.Errorf("--dataset: %w", err)
		}
		return t, nil
	}
	if arch == model.MLP {
		return nil, fmt.Errorf("--model mlp needs --dataset PATH to size its input layer")
	}
	return &data.Task{Name: "text", Kind: data.Text, Labels: []string{"a", "b"}}, nil
}

// Init creates a swarm in the repository at path: it makes the genesis and
// the initial body, stores both in the block store and records the swarm in
// the repository configuration. It returns the swarm ID (the genesis CID).
// A repository that already belongs to a swarm is refused.
func Init(ctx context.Context, path string, opt InitOptions) (string, error) {
	repo, err := Open(path)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	if cfg, err := repo.LoadConfig(); err == nil && cfg.Swarm != "" {
		return "", fmt.Errorf("repository %s already belongs to swarm %s: use another --repo", path, cfg.Swarm)
	}
	if _, err := p2p.LoadOrCreateIdentity(repo.IdentityPath()); err != nil {
		return "", err
	}
	bs, err := p2p.OpenBlocks(blocksDir(repo), nil)
	if err != nil {
		return "", err
	}
	defer bs.Close()
	swarm, err := createGenesis(ctx, bs, opt)
	if err != nil {
		return "", err
	}
	cfg := DefaultConfig().RepoConfig
	cfg.Swarm = swarm.String()
	if err := repo.SaveConfig(cfg); err != nil {
		return "", err
	}
	return cfg.Swarm, nil
}

func createGenesis(ctx context.Context, bs *p2p.Blocks, opt InitOptions) (cid.Cid, error) {
	importBody := func(b []byte) (string, error) {
		c, err := bs.ImportBytes(ctx, b)
		return c.String(), err
	}
	g, _, err := BuildGenesis(opt, importBody)
	if err != nil {
		return cid.Undef, err
	}
	gb, err := g.Encode()
	if err != nil {
		return cid.Undef, err
	}
	swarm := wire.CIDOf(gb)
	if err := bs.Put(ctx, swarm, gb); err != nil {
		return cid.Undef, fmt.Errorf("store genesis: %w", err)
	}
	return swarm, nil
}
