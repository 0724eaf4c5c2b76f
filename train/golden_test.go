package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"testing"

	"github.com/coldnode/coldnode/train/model"
)

// golden are the SHA-256 of body+head after short seeded runs, per GOARCH.
// Training is bit-reproducible on one processor architecture, not across
// them: gonum's pure-Go kernels and math.Exp are fused into multiply-adds on
// arm64 (checked with GOARCH=arm64 go test -exec qemu-aarch64-static). A
// change here means the numerics changed: if that was intended, update the
// hashes and say so in the change.
var golden = map[string]map[string]string{
	"amd64": {
		"bag":     "991b29dd8b45f0bac7af9e996f66fb7e84e305288cdaec1b27dd636e0db2be49",
		"mlp":     "41a3812e2d57e2fb7e37ec0814596c8bd66e9fbd06a740124816106345906326",
		"encoder": "64fc1b1cae766e4215abd9ec2989510029da52dda04642def7a2d455913f840a",
	},
	"arm64": {
		"bag":     "156091afb7127ea45cbda0f5b921bd043c777e2a6841dbe6f2743b4abfd0c2ad",
		"mlp":     "ffc776096f9d77147dc005e96b04471bfe4367dee67ebd1f28d732ecd97fda06",
		"encoder": "2956f3cd0a1952b707f2f995a962335294247e552da7110ebace59ae06e39cf2",
	},
}

func TestFinetuneGolden(t *testing.T) {
	want, ok := golden[runtime.GOARCH]
	if !ok {
		t.Skipf("no golden hashes recorded for GOARCH=%s", runtime.GOARCH)
	}
	for arch, task := range map[string]string{"bag": "trec", "mlp": "iris", "encoder": "trec"} {
		tk := loadTask(t, task)
		cfg, err := model.DefaultConfig(arch, tk)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Token != nil {
			cfg.Token.Buckets, cfg.Dim, cfg.Hidden = 1<<10, 16, 32
			cfg.Token.MaxLen, cfg.SeqLen = 12, 12
		}
		body, err := model.InitBody(cfg, 21)
		if err != nil {
			t.Fatal(err)
		}
		opt := small()
		opt.Epochs, opt.MaxTrain, opt.Batch = 1, 200, 16
		res, err := Finetune(context.Background(), body, tk, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(encode(t, Merge(res.Body, res.Head)))
		if got := hex.EncodeToString(sum[:]); got != want[arch] {
			t.Errorf("%s: weights hash %s, want %s", arch, got, want[arch])
		}
	}
}
