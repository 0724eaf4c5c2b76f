package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadJSONLText(t *testing.T) {
	dir := writeFiles(t, map[string]string{"movies.jsonl": strings.Repeat(twoClasses, 5)})
	task, err := Load(filepath.Join(dir, "movies.jsonl"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if task.Name != "movies" || task.Kind != Text || !slices.Equal(task.Labels, []string{"neg", "pos"}) {
		t.Errorf("got %s labels %q", Summary(task), task.Labels)
	}
	if len(task.Train) != 16 || len(task.Test) != 4 || len(task.Dev) != 0 {
		t.Errorf("split sizes: %s, want train 16, dev 0, test 4", Summary(task))
	}
	if got := Counts(task.Test, 2); !slices.Equal(got, []int{2, 2}) {
		t.Errorf("test class counts %v, want [2 2] (stratified)", got)
	}
}

func TestLoadFieldForms(t *testing.T) {
	lines := "\ufeff{\"id\":7,\"text\":\"caf\u00e9 \\\"ok\\\"\",\"label\":3}\r\n" +
		"{\"text\":\"x\",\"label\":10,\"extra\":[1,{}]}\r\n" +
		"{\"text\":\"y\",\"label\":3}\r\n" + "{\"text\":\"z\",\"label\":10}\r\n"
	dir := writeFiles(t, map[string]string{"t.jsonl": lines, "t2.jsonl": lines})
	opt := DefaultOptions()
	opt.Labels = []string{"10", "3"}
	opt.TestFraction = 0.5
	opt.Name = "renamed"
	task, err := Load(filepath.Join(dir, "t.jsonl"), opt)
	if err != nil {
		t.Fatal(err)
	}
	if task.Name != "renamed" || !slices.Equal(task.Labels, opt.Labels) {
		t.Errorf("name %q labels %q", task.Name, task.Labels)
	}
	all := append(append([]Example(nil), task.Train...), task.Test...)
	if !slices.ContainsFunc(all, func(e Example) bool { return e.Text == "café \"ok\"" && e.Label == 1 }) {
		t.Errorf("no example decoded from line 1 (CRLF, escapes, numeric label): %+v", all)
	}
}

func TestLoadFeatures(t *testing.T) {
	lines := "{\"features\":[ 1 , -2.5e0 ],\"label\":\"a\"}\n{\"features\":[3,4],\"label\":\"b\"}\n" +
		"{\"features\":[5,6],\"label\":\"a\"}\n{\"features\":[7,8],\"label\":\"b\"}\n"
	dir := writeFiles(t, map[string]string{"train.jsonl": lines, "test.jsonl": lines})
	task, err := Load(dir, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if task.Kind != Features || task.NumFeatures != 2 || len(task.Train) != 4 || len(task.Test) != 4 {
		t.Fatalf("got %s", Summary(task))
	}
	if want := []float32{1, -2.5}; !slices.Equal(task.Train[0].Features, want) || task.Train[0].Text != "" {
		t.Errorf("first example %+v, want features %v", task.Train[0], want)
	}
	if s := Summary(task); s != filepath.Base(dir)+": features(2), 2 classes, train 4, dev 0, test 4" {
		t.Errorf("summary %q", s)
	}
}

func TestLoadCSV(t *testing.T) {
	csv := "\ufeffid,label,text\n1,pos,\"good, \"\"very\"\" good\"\n2,neg,\"bad\nfilm\"\n3,pos,fine\n4,neg,poor\n"
	tsv := "\ufefflabel\ttext\npos\t\"good\" film\nneg\tbad\npos\tfine\nneg\tpoor\n"
	dir := writeFiles(t, map[string]string{"a.csv": csv, "b.tsv": tsv})
	opt := DefaultOptions()
	opt.TestFraction = 0.5
	a, err := Load(filepath.Join(dir, "a.csv"), opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(filepath.Join(dir, "b.tsv"), opt)
	if err != nil {
		t.Fatal(err)
	}
	texts := func(task *Task) (out []string) {
		for _, e := range append(task.Train, task.Test...) {
			out = append(out, e.Text)
		}
		slices.Sort(out)
		return out
	}
	if got, want := texts(a), []string{"bad\nfilm", "fine", "good, \"very\" good", "poor"}; !slices.Equal(got, want) {
		t.Errorf("csv texts %q, want %q", got, want)
	}
	if got, want := texts(b), []string{"\"good\" film", "bad", "fine", "poor"}; !slices.Equal(got, want) {
		t.Errorf("tsv texts %q, want %q", got, want)
	}
}

func TestLoadCSVFeaturesAndColumns(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"f.csv": "x1,x2,y\n1, 2,a\n3,4e1,b\n5,6,a\n7,8,b\n",
		"s.csv": "sentence,class,noise\nhi,p,1\nyo,q,2\nhey,p,3\nsup,q,4\n",
	})
	opt := DefaultOptions()
	opt.LabelColumn = "y"
	opt.TestFraction = 0.5
	f, err := Load(filepath.Join(dir, "f.csv"), opt)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != Features || f.NumFeatures != 2 {
		t.Errorf("features csv: %s", Summary(f))
	}
	opt.TextColumn, opt.LabelColumn = "sentence", "class"
	s, err := Load(filepath.Join(dir, "s.csv"), opt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Text || !slices.Equal(s.Labels, []string{"p", "q"}) {
		t.Errorf("named columns: %s %q", Summary(s), s.Labels)
	}
}

func TestLoadDirectoryDevFraction(t *testing.T) {
	dir := writeFiles(t, map[string]string{"train.jsonl": strings.Repeat(twoClasses, 10), "labels.json": `["pos","neg"]`})
	opt := DefaultOptions()
	opt.DevFraction = 0.25
	task, err := Load(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(task.Labels, []string{"pos", "neg"}) {
		t.Errorf("labels %q, want labels.json order", task.Labels)
	}
	// 40 examples: 8 to test (4 per class), then 8 of the 32 left to dev.
	if len(task.Train) != 24 || len(task.Dev) != 8 || len(task.Test) != 8 {
		t.Errorf("sizes %s, want train 24, dev 8, test 8", Summary(task))
	}
}

// manifest is the part of ../shared/datasets/manifest.json the test reads.
type manifest struct {
	Tasks map[string]struct {
		Labels []string `json:"labels"`
		Files  map[string]struct {
			N           int            `json:"n"`
			LabelCounts map[string]int `json:"label_counts"`
		} `json:"files"`
	} `json:"tasks"`
}

const datasets = "../../../shared/datasets"

func TestRealDatasets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(datasets, "manifest.json"))
	if err != nil {
		t.Fatalf("the shared datasets are test data this package needs: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sst2", "trec", "digits"} {
		t.Run(name, func(t *testing.T) {
			task, err := Load(filepath.Join(datasets, name), DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			want := m.Tasks[name]
			if task.Name != name || !slices.Equal(task.Labels, want.Labels) {
				t.Errorf("name %q labels %q, want %q", task.Name, task.Labels, want.Labels)
			}
			splits := map[string][]Example{"train": task.Train, "dev": task.Dev, "test": task.Test}
			for split, ex := range splits {
				checkCounts(t, task, split, ex, want.Files[split].N, want.Files[split].LabelCounts)
			}
		})
	}
}

func checkCounts(t *testing.T, task *Task, split string, ex []Example, n int, byLabel map[string]int) {
	t.Helper()
	if len(ex) != n {
		t.Errorf("%s: %d examples, manifest says %d", split, len(ex), n)
	}
	for i, c := range Counts(ex, len(task.Labels)) {
		if c != byLabel[task.Labels[i]] {
			t.Errorf("%s: class %q has %d, manifest says %d", split, task.Labels[i], c, byLabel[task.Labels[i]])
		}
	}
}

func TestRealDigitsValues(t *testing.T) {
	task, err := Load(filepath.Join(datasets, "digits"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// First line of digits/train.jsonl: features start 0,2,15,13 and end 12,7,0; label "2".
	e := task.Train[0]
	if task.NumFeatures != 64 || task.Labels[e.Label] != "2" ||
		!slices.Equal(e.Features[:4], []float32{0, 2, 15, 13}) || !slices.Equal(e.Features[61:], []float32{12, 7, 0}) {
		t.Errorf("first example %v label %q", e.Features, task.Labels[e.Label])
	}
	again, err := Load(filepath.Join(datasets, "digits"), DefaultOptions())
	if err != nil || !reflect.DeepEqual(task, again) {
		t.Errorf("second load differs (err %v)", err)
	}
}
