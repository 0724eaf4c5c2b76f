package lab

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

const datasets = "../../../shared/datasets/"

// quick is the CI preset on two small seen tasks and one unseen task.
func quick(t *testing.T, workers int) Config {
	t.Helper()
	cfg := QuickConfig()
	cfg.Seen = []string{datasets + "sst2", datasets + "trec"}
	cfg.Unseen = []string{datasets + "cr"}
	cfg.Workers = workers
	for _, p := range append(cfg.Seen, cfg.Unseen...) {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the lab tests read the shared datasets beside the repository: %v", err)
		}
	}
	return cfg
}

func TestQuickRunWritesWellFormedOutputs(t *testing.T) {
	cfg := quick(t, 2)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, res); err != nil {
		t.Fatal(err)
	}
	checkScores(t, filepath.Join(dir, FileScores), cfg)
	checkJSON(t, filepath.Join(dir, FileJSON), cfg)
	checkPNG(t, filepath.Join(dir, FileCurves))
	md, err := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Final models", "| ColD Fusion, round 2 |", "## Findings", "| cr | unseen |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	for _, f := range []string{FileCurve, FileTasks, FileRounds} {
		rows := readCSV(t, filepath.Join(dir, f))
		if len(rows) < 2 {
			t.Errorf("%s has %d rows, want a header and data", f, len(rows))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileSweep)); err == nil {
		t.Errorf("%s written without a sweep", FileSweep)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// checkScores wants one row per body, task and protocol plus the
// single-task rows, with accuracies and F1 in [0, 1].
func checkScores(t *testing.T, path string, cfg Config) {
	rows := readCSV(t, path)
	tasks := len(cfg.Seen) + len(cfg.Unseen)
	want := (1+cfg.Rounds+2)*tasks*2 + len(cfg.Seen)
	if len(rows)-1 != want {
		t.Fatalf("scores.csv has %d rows, want %d", len(rows)-1, want)
	}
	for _, r := range rows[1:] {
		for _, col := range []int{6, 7} {
			v, err := strconv.ParseFloat(r[col], 64)
			if err != nil || v < 0 || v > 1 {
				t.Errorf("row %v: column %d = %q, want a number in [0,1]", r, col, r[col])
			}
		}
		if n, err := strconv.Atoi(r[8]); err != nil || n <= 0 {
			t.Errorf("row %v: n = %q", r, r[8])
		}
	}
}

// checkJSON decodes the report and checks the round chain: every round
// has PerRound contributions, valid CIDs, and builds on the previous fused base.
func checkJSON(t *testing.T, path string, cfg Config) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Seeds) != cfg.Seeds || len(rep.Findings) != 4 {
		t.Fatalf("report has %d seeds and %d findings, want %d and 4", len(rep.Seeds), len(rep.Findings), cfg.Seeds)
	}
	for _, f := range rep.Findings {
		if !slices.Contains([]string{Holds, Partly, NotHolds}, f.Verdict) || len(f.Evidence) == 0 { // the quick run has every group
			t.Errorf("finding %d: verdict %q with %d lines of evidence", f.ID, f.Verdict, len(f.Evidence))
		}
	}
	s := rep.Seeds[0]
	base := s.Genesis
	for i, r := range s.Rounds {
		if r.Round != i+1 || r.Base != base || len(r.Contributions) != cfg.PerRound {
			t.Errorf("round %d: %+v, want base %s and %d contributions", i+1, r, base, cfg.PerRound)
		}
		for _, c := range append([]string{r.Record, r.Fused}, r.Contributions[0].CID, r.Contributions[0].Delta) {
			if _, err := cid.Decode(c); err != nil {
				t.Errorf("round %d: %q is not a CID: %v", r.Round, c, err)
			}
		}
		base = r.Fused
	}
}

func checkPNG(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("%s is %v, too small", path, b)
	}
}

// TestWorkersDoNotChangeResults runs the quick preset on one and two
// workers: every score, CID and record must be the same.
func TestWorkersDoNotChangeResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick preset twice")
	}
	var got [2]*Result
	for i, w := range []int{1, 2} {
		res, err := Run(context.Background(), quick(t, w))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Seeds {
			for k := range s.Rounds {
				s.Rounds[k].Seconds = 0 // wall time
			}
			s.OneRound.Seconds = 0
		}
		got[i] = res
	}
	a, _ := json.Marshal(struct{ S, R any }{got[0].Scores, got[0].Seeds})
	b, _ := json.Marshal(struct{ S, R any }{got[1].Scores, got[1].Seeds})
	if !bytes.Equal(a, b) {
		t.Fatal("results differ between 1 and 2 workers")
	}
}
