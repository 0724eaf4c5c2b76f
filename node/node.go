package node

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// Option sets an optional dependency of a Node.
type Option func(*Node)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(n *Node) { n.log = l } }

// WithMetrics sets the metrics (default: a fresh registry served at /metrics).
func WithMetrics(m *Metrics) Option { return func(n *Node) { n.metrics = m } }

// WithProgress sets the progress display (default: none).
func WithProgress(p *Progress) Option { return func(n *Node) { n.progress = p } }

// WithOutput sets where one line per round event goes (default: discard).
func WithOutput(w io.Writer) Option { return func(n *Node) { n.out = w } }

// WithTask gives the node its task in memory instead of loading Config.Dataset.
func WithTask(t *data.Task) Option { return func(n *Node) { n.task = t } }

// WithEvents calls fn, from the node's loop goroutine, for every round event.
func WithEvents(fn func(Event)) Option { return func(n *Node) { n.onEvent = fn } }

// WithTrainOptions overrides the local finetuning options.
func WithTrainOptions(o train.Options) Option { return func(n *Node) { n.trainOpt = &o } }

// Event is one thing that happened to the node's view of the swarm, in the
// order it happened.
type Event struct {
	Kind          string // head, final, built, proposed, trained, rejected, equivocation
	Round         uint64
	Record        string
	Base          string
	Contributions int
	Text          string
}

// Node is one peer of a swarm: it owns an open repository and, while Run
// runs, the network host, the consensus state machine and the API.
type Node struct {
	repo     *Repo
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	progress *Progress
	out      io.Writer
	task     *data.Task
	onEvent  func(Event)
	trainOpt *train.Options

	mu    sync.Mutex // guards the fields below, read by API goroutines
	net   *network
	ready chan struct{}
}

// New prepares a node on an open repository; Run starts it.
func New(repo *Repo, cfg Config, opts ...Option) (*Node, error) {
	n := &Node{repo: repo, cfg: cfg, out: io.Discard, ready: make(chan struct{})}
	for _, o := range opts {
		o(n)
	}
	if n.log == nil {
		n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if n.metrics == nil {
		n.metrics = NewMetrics()
	}
	if n.task != nil && cfg.Dataset == "" {
		cfg.Dataset = "(in memory)"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	merged, err := mergeRepoConfig(repo, cfg)
	if err != nil {
		return nil, err
	}
	n.cfg = merged
	return n, nil
}

// mergeRepoConfig combines the repository's saved settings with this run's
// flags: flags win, and are saved for the next run. A swarm ID that differs
// from the repository's is an error.
func mergeRepoConfig(repo *Repo, cfg Config) (Config, error) {
	if !repo.HasConfig() {
		if cfg.Swarm == "" {
			return cfg, fmt.Errorf("%w at %s: run `coldnode init` to create a swarm, or pass --swarm ID and --bootstrap ADDR to join one", ErrNoRepo, repo.Path)
		}
		return cfg, repo.SaveConfig(cfg.RepoConfig)
	}
	saved, err := repo.LoadConfig()
	if err != nil {
		return cfg, err
	}
	if cfg.Swarm != "" && cfg.Swarm != saved.Swarm {
		return cfg, fmt.Errorf("repository %s belongs to swarm %s, not %s: use another --repo for that swarm", repo.Path, saved.Swarm, cfg.Swarm)
	}
	cfg.Swarm = saved.Swarm
	if len(cfg.Bootstrap) == 0 {
		cfg.Bootstrap = saved.Bootstrap
	}
	return cfg, repo.SaveConfig(cfg.RepoConfig)
}

// loadTask loads the dataset unless a task was given, and checks it fits the
// swarm's model.
func (n *Node) loadTask(g *wire.Genesis) error {
	if n.task == nil {
		t, err := data.Load(n.cfg.Dataset, data.DefaultOptions())
		if err != nil {
			return fmt.Errorf("dataset %s: %w", n.cfg.Dataset, err)
		}
		n.task = t
	}
	if n.cfg.Task != "" {
		n.task.Name = n.cfg.Task
	}
	cfg, err := model.ParseConfig([]byte(g.Model))
	if err != nil {
		return fmt.Errorf("swarm model config: %w", err)
	}
	cfg.Classes = len(n.task.Labels)
	if err := cfg.CheckTask(n.task); err != nil {
		return fmt.Errorf("dataset %s does not fit this swarm's model: %w", n.cfg.Dataset, err)
	}
	return nil
}

func (n *Node) trainOptions() train.Options {
	opt := train.DefaultOptions()
	if n.trainOpt != nil {
		opt = *n.trainOpt
	}
	if n.cfg.Epochs > 0 {
		opt.Epochs = n.cfg.Epochs
	}
	if n.cfg.Limit > 0 {
		opt.MaxTrain = n.cfg.Limit
	}
	opt.Seed = uint64(n.cfg.Seed)
	// Early stopping's best epoch waits in a file in the repository, not
	// in a second body in memory beside the training.
	opt.SpillDir = n.repo.Path
	return opt
}

// Ready is closed once the node is connected and serving (Addrs works).
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Swarm returns the swarm ID.
func (n *Node) Swarm() string { return n.cfg.Swarm }

func (n *Node) emit(e Event) {
	if n.onEvent != nil {
		n.onEvent(e)
	}
}

// hint adds what a user can do about err.
func hint(err error, format string, args ...any) error {
	return fmt.Errorf("%w\n  hint: %s", err, fmt.Sprintf(format, args...))
}
