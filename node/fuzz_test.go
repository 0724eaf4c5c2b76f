package node

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"
)

// The repository's files are bytes a user (or a crash, or a disk) can
// corrupt. These fuzzers feed arbitrary bytes to every decoder that reads
// them: config.json, state.json, the round index, the block journal and the
// verdicts journal. None may panic; what they accept must round-trip.
// Seeds live in testdata/fuzz/<target>.

// fuzzRepo is one repository directory per fuzzing process, rewritten by
// every input.
func fuzzRepo(f *testing.F) *Repo {
	r := &Repo{Path: f.TempDir()}
	if err := os.MkdirAll(filepath.Join(r.Path, roundsDir), 0o700); err != nil {
		f.Fatal(err)
	}
	return r
}

func writeRepoFile(t *testing.T, r *Repo, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(r.File(name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzRepoConfig: config.json. An accepted config saves and loads back
// equal, and validating a node configuration built on it does not panic.
func FuzzRepoConfig(f *testing.F) {
	f.Add([]byte(`{"swarm":"bafyreigpapavaht35wxvz74fndxdctehm3mxgft7y24kvhopisjjxqutyy","listen":["/ip4/0.0.0.0/tcp/4011"],"api":"127.0.0.1:5011"}`))
	f.Add([]byte(`{"bootstrap":["/ip4/127.0.0.1/tcp/1/p2p/12D3KooWApCbVUnopADBV896sNdEC26yNfLU23wWbQijaHg8GAZH"],"no_mdns":true}`))
	f.Add([]byte(`{"api":"[::1]:0"}`))
	r := fuzzRepo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		writeRepoFile(t, r, configFile, data)
		c, err := r.LoadConfig()
		if err != nil {
			return
		}
		cfg := DefaultConfig()
		cfg.RepoConfig, cfg.Dataset = c, "d"
		_ = cfg.Validate()
		if err := r.SaveConfig(c); err != nil {
			t.Fatalf("save an accepted config: %v", err)
		}
		again, err := r.LoadConfig()
		if err != nil || !reflect.DeepEqual(normConfig(c), normConfig(again)) {
			t.Fatalf("config does not round-trip: %+v, %v; want %+v", again, err, c)
		}
	})
}

// normConfig treats an empty list like a missing one (omitempty drops it).
func normConfig(c RepoConfig) RepoConfig {
	if len(c.Listen) == 0 {
		c.Listen = nil
	}
	if len(c.Bootstrap) == 0 {
		c.Bootstrap = nil
	}
	return c
}

// FuzzIndex: state.json and a round file. Reading the state, a round, all
// rounds and the keep policy built on them must not panic; an accepted
// state round-trips.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"head":"bafyreigpapavaht35wxvz74fndxdctehm3mxgft7y24kvhopisjjxqutyy","height":1,"base":"bafkqaaa","finality":2}`),
		[]byte(`{"round":1,"record":"bafyreigpapavaht35wxvz74fndxdctehm3mxgft7y24kvhopisjjxqutyy","base":"bafkqaaa","fused":"bafkqaaa","contributions":[{"cid":"bafkqaaa","peer":"p","task":"t","delta":"bafkqaaa","examples":3}]}`))
	f.Add([]byte(`{"height":-1,"finality":-9223372036854775808}`), []byte(`{"round":-1}`))
	r := fuzzRepo(f)
	x := r.Index()
	f.Fuzz(func(t *testing.T, state, round []byte) {
		writeRepoFile(t, r, stateFile, state)
		writeRepoFile(t, r, filepath.Join(roundsDir, "00000001.json"), round)
		_, _ = x.Round(1)
		_, _ = x.Rounds()
		_, _, _ = keepPolicy{repo: r}.chain(pinSet{}, cid.Undef)
		st, err := x.State()
		if err != nil {
			return
		}
		if err := x.SaveState(st); err != nil {
			t.Fatalf("save an accepted state: %v", err)
		}
		if again, err := x.State(); err != nil || again != st {
			t.Fatalf("state does not round-trip: %+v, %v; want %+v", again, err, st)
		}
	})
}

// FuzzJournal: the block journal and the verdicts journal. Malformed lines
// are skipped; the only error is a line longer than the scanner's buffer;
// the block CIDs come back defined, unique and in file order.
func FuzzJournal(f *testing.F) {
	f.Add([]byte("bafyreigpapavaht35wxvz74fndxdctehm3mxgft7y24kvhopisjjxqutyy\nbafkqaaa\nbafkq"))
	f.Add([]byte("check bafkqaaa\nfuse k bafkqaaa\nfuse k\n\x00\xff"))
	r := fuzzRepo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		writeRepoFile(t, r, journalFile, data)
		writeRepoFile(t, r, verdictsFile, data)
		cids, err := readJournal(r.File(journalFile))
		checkJournalErr(t, err)
		seen := map[cid.Cid]bool{}
		for _, c := range cids {
			if !c.Defined() || seen[c] {
				t.Fatalf("journal gave an undefined or repeated CID %q", c)
			}
			seen[c] = true
		}
		v := &verdicts{checked: map[cid.Cid]bool{}, fused: map[string]cid.Cid{}}
		checkJournalErr(t, v.load(r.File(verdictsFile)))
	})
}

func checkJournalErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, bufio.ErrTooLong) {
		t.Fatalf("journal error other than a too-long line: %v", err)
	}
}
