package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the coldnode command inside scripts
// and the end-to-end test (testscript puts a copy named coldnode on $PATH).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"coldnode": func() { os.Exit(run(os.Args)) },
	})
}

// TestScripts runs the command-line scripts in testdata/script. Scripts see
// $DATASETS, the shared test datasets, and a $COLDNODE_PATH inside $WORK.
// Extra commands: `swarmid REPO` sets $SWARM from the repository's config;
// `waitapi REPO` waits for a node's API and sets $API, $APIPORT, $ADDR
// (its loopback TCP multiaddr) and $P2PPORT (that address's port); `waitround REPO N` waits until the running node
// on REPO reports round N.
func TestScripts(t *testing.T) {
	datasets, err := filepath.Abs("../../../shared/datasets")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("DATASETS", datasets)
			env.Setenv("COLDNODE_PATH", filepath.Join(env.WorkDir, "repo"))
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"swarmid":   cmdSwarmID,
			"waitapi":   cmdWaitAPI,
			"waitround": cmdWaitRound,
		},
	})
}

func cmdSwarmID(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: swarmid REPO")
	}
	var cfg node.RepoConfig
	b, err := os.ReadFile(filepath.Join(ts.MkAbs(args[0]), "config.json"))
	ts.Check(err)
	ts.Check(json.Unmarshal(b, &cfg))
	ts.Setenv("SWARM", cfg.Swarm)
}

func cmdWaitAPI(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitapi REPO")
	}
	repo := ts.MkAbs(args[0])
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := node.Dial(repo)
		if err == nil {
			if id, err := c.ID(context.Background()); err == nil {
				addr, _ := os.ReadFile(filepath.Join(repo, "api"))
				api := strings.TrimSpace(string(addr))
				ts.Setenv("API", api)
				ts.Setenv("APIPORT", api[strings.LastIndexByte(api, ':')+1:])
				for _, a := range id.Addrs {
					if port, ok := strings.CutPrefix(a, "/ip4/127.0.0.1/tcp/"); ok {
						ts.Setenv("ADDR", a)
						ts.Setenv("P2PPORT", port[:strings.IndexByte(port, '/')])
					}
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("no node API on %s within 60s", repo)
}

func cmdWaitRound(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitround REPO N")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	c, err := node.Dial(ts.MkAbs(args[0]))
	ts.Check(err)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Round(context.Background(), n); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("round %d did not close on %s within 60s", n, args[0])
}
