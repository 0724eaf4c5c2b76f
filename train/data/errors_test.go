package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (name -> content) under a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const twoClasses = `{"text":"good film","label":"pos"}
{"text":"bad film","label":"neg"}
{"text":"great film","label":"pos"}
{"text":"awful film","label":"neg"}
`

type errCase struct {
	name  string
	files map[string]string
	path  string // relative to the directory; "" loads the directory
	opt   func(*Options)
	want  error
	where string // the location the message must start with, relative to the directory
	msg   string // a fragment the message must contain
}

var errCases = []errCase{
	{name: "invalid JSON", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"p\"}\n{\"text\": \"y\", \"label\": \n"},
		path: "a.jsonl", want: ErrSyntax, where: "a.jsonl:2:", msg: "unexpected end"},
	{name: "not an object", files: map[string]string{"a.jsonl": "[1,2]\n"},
		path: "a.jsonl", want: ErrSyntax, where: "a.jsonl:1:"},
	{name: "null line", files: map[string]string{"a.jsonl": "null\n"},
		path: "a.jsonl", want: ErrSyntax, where: "a.jsonl:1:", msg: "not a JSON object"},
	{name: "missing label", files: map[string]string{"a.jsonl": twoClasses + "{\"text\":\"x\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:5:", msg: `missing field "label"`},
	{name: "neither text nor features", files: map[string]string{"a.jsonl": "{\"label\":\"p\",\"txt\":\"x\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: `need "text" or "features"`},
	{name: "both text and features", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"features\":[1],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: "both"},
	{name: "text not a string", files: map[string]string{"a.jsonl": "{\"text\":5,\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: `"text" must be a string, got 5`},
	{name: "text null", files: map[string]string{"a.jsonl": "{\"text\":null,\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: "got null"},
	{name: "features not numbers", files: map[string]string{"a.jsonl": "{\"features\":[1,\"2\"],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: "array of numbers"},
	{name: "label a bool", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":true}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:1:", msg: "string or a number"},
	{name: "empty label", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"\"}\n"},
		path: "a.jsonl", want: ErrLabel, where: "a.jsonl:1:", msg: "empty label"},
	{name: "label not in labels.json", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `["neg","pos"]`,
		"test.jsonl": "{\"text\":\"x\",\"label\":\"pos\"}\n{\"text\":\"y\",\"label\":\"meh\"}\n"},
		want: ErrLabel, where: "test.jsonl:2:", msg: `label "meh" is not one of the 2 classes of`},
	{name: "test label unseen in train", files: map[string]string{"train.jsonl": twoClasses,
		"test.jsonl": "{\"text\":\"y\",\"label\":\"meh\"}\n"},
		want: ErrLabel, where: "test.jsonl:1:", msg: "classes of train"},
	{name: "label not in Options.Labels", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.Labels = []string{"pos", "other"} },
		want: ErrLabel, where: "a.jsonl:2:", msg: "Options.Labels"},
	{name: "empty file", files: map[string]string{"a.jsonl": ""},
		path: "a.jsonl", want: ErrEmpty, where: "a.jsonl:", msg: "no examples"},
	{name: "blank line", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"p\"}\n  \n{\"text\":\"y\",\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrEmpty, where: "a.jsonl:2:", msg: "blank line"},
	{name: "empty test file", files: map[string]string{"train.jsonl": twoClasses, "test.jsonl": ""},
		want: ErrEmpty, where: "test.jsonl:", msg: "no examples"},
	{name: "split leaves test empty", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"p\"}\n{\"text\":\"y\",\"label\":\"q\"}\n"},
		path: "a.jsonl", want: ErrEmpty, where: "a.jsonl:", msg: "test split empty"},
	{name: "invalid UTF-8", files: map[string]string{"a.jsonl": "{\"text\":\"ok\",\"label\":\"p\"}\n{\"text\":\"caf\xe9\",\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrEncoding, where: "a.jsonl:2:", msg: "at byte 12"},
	{name: "class without training example", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `["neg","pos","neutral"]`},
		want: ErrClass, where: "train.jsonl:", msg: `class "neutral"`},
	{name: "inconsistent feature width", files: map[string]string{"a.jsonl": "{\"features\":[1,2],\"label\":\"p\"}\n{\"features\":[1,2,3],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrFeatures, where: "a.jsonl:2:", msg: "3 features, but line 1 has 2"},
	{name: "dev width differs from train", files: map[string]string{"train.jsonl": "{\"features\":[1,2],\"label\":\"p\"}\n",
		"dev.jsonl": "{\"features\":[1],\"label\":\"p\"}\n"},
		want: ErrFeatures, where: "dev.jsonl:1:", msg: "1 features, but"},
	{name: "feature overflows float32", files: map[string]string{"a.jsonl": "{\"features\":[1,1e39],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrFeatures, where: "a.jsonl:1:", msg: "feature 1: 1e39 is not a finite float32"},
	{name: "feature overflows float64", files: map[string]string{"a.jsonl": "{\"features\":[1e400],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrFeatures, where: "a.jsonl:1:", msg: "not a finite"},
	{name: "empty features", files: map[string]string{"a.jsonl": "{\"features\":[],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrFeatures, where: "a.jsonl:1:", msg: "is empty"},
	{name: "text then features", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"p\"}\n{\"features\":[1],\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrField, where: "a.jsonl:2:", msg: "line has features but line 1 has text"},
	{name: "test kind differs from train", files: map[string]string{"train.jsonl": twoClasses,
		"test.jsonl": "{\"features\":[1],\"label\":\"pos\"}\n"},
		want: ErrField, where: "test.jsonl:1:", msg: "examples have features but"},
	{name: "line too long", files: map[string]string{"a.jsonl": "{\"text\":\"x\",\"label\":\"p\"}\n{\"text\":\"" + strings.Repeat("a", MaxLine) + "\",\"label\":\"p\"}\n"},
		path: "a.jsonl", want: ErrSyntax, where: "a.jsonl:2:", msg: "longer than"},
	{name: "CSV missing label column", files: map[string]string{"a.csv": "text,class\nhello,p\n"},
		path: "a.csv", want: ErrColumn, where: "a.csv:1:", msg: `no label column "label"`},
	{name: "CSV missing named text column", files: map[string]string{"a.csv": "text,label\nhello,p\n"},
		path: "a.csv", opt: func(o *Options) { o.TextColumn = "sentence" },
		want: ErrColumn, where: "a.csv:2:", msg: `needs column "sentence"`},
	{name: "CSV only a label column", files: map[string]string{"a.csv": "label\np\n"},
		path: "a.csv", want: ErrColumn, where: "a.csv:1:", msg: "no text column"},
	{name: "CSV duplicate column", files: map[string]string{"a.csv": "text,label,text\nx,p,y\n"},
		path: "a.csv", want: ErrColumn, where: "a.csv:1:", msg: "twice"},
	{name: "CSV wrong field count", files: map[string]string{"a.csv": "text,label\nx,p\ny,p,extra\n"},
		path: "a.csv", want: ErrSyntax, where: "a.csv:3:", msg: "number of fields"},
	{name: "CSV bad quote", files: map[string]string{"a.csv": "text,label\n\"x\"y,p\n"},
		path: "a.csv", want: ErrSyntax, where: "a.csv:2:"},
	{name: "CSV non-finite feature", files: map[string]string{"a.csv": "a,b,label\n1,2,p\n3,NaN,p\n"},
		path: "a.csv", want: ErrFeatures, where: "a.csv:3:", msg: `column "b"`},
	{name: "CSV no header", files: map[string]string{"a.csv": ""},
		path: "a.csv", want: ErrEmpty, where: "a.csv:", msg: "no header"},
	{name: "CSV header only", files: map[string]string{"a.csv": "text,label\n"},
		path: "a.csv", want: ErrEmpty, where: "a.csv:", msg: "no examples"},
	{name: "CSV invalid UTF-8", files: map[string]string{"a.csv": "text,label\n\xff,p\n"},
		path: "a.csv", want: ErrEncoding, where: "a.csv:2:", msg: `column "text"`},
	{name: "CSV empty label", files: map[string]string{"a.csv": "text,label\nx,\n"},
		path: "a.csv", want: ErrLabel, where: "a.csv:2:"},
	{name: "TSV wrong field count", files: map[string]string{"a.tsv": "text\tlabel\nx\tp\ny\n"},
		path: "a.tsv", want: ErrSyntax, where: "a.tsv:3:", msg: "1 fields, but the header has 2"},
	{name: "CSV blank line", files: map[string]string{"a.csv": "text,label\n\"multi\nline\",p\n\ny,p\n"},
		path: "a.csv", want: ErrEmpty, where: "a.csv:4:", msg: "blank line"},
	{name: "TSV blank line", files: map[string]string{"a.tsv": "text\tlabel\nx\tp\n\ny\tp\n"},
		path: "a.tsv", want: ErrEmpty, where: "a.tsv:3:"},
	{name: "labels.json invalid", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `["neg",`},
		want: ErrSyntax, where: "labels.json:", msg: "JSON array"},
	{name: "labels.json duplicate", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `["neg","neg"]`},
		want: ErrLabel, where: "labels.json:", msg: "twice"},
	{name: "labels.json empty", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `[]`},
		want: ErrEmpty, where: "labels.json:"},
	{name: "labels.json disagrees with options", files: map[string]string{"train.jsonl": twoClasses, "labels.json": `["neg","pos"]`},
		opt: func(o *Options) { o.Labels = []string{"pos", "neg"} }, want: ErrLabel, where: "labels.json:", msg: "disagrees"},
	{name: "unknown extension", files: map[string]string{"a.txt": twoClasses},
		path: "a.txt", want: ErrSource, where: "a.txt:", msg: `".txt"`},
	{name: "directory without train", files: map[string]string{"test.jsonl": twoClasses},
		want: ErrSource, msg: "no train.jsonl"},
	{name: "ambiguous train", files: map[string]string{"train.jsonl": twoClasses, "train.csv": "text,label\nx,p\n"},
		want: ErrSource, msg: "ambiguous"},
	{name: "bad test fraction", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.TestFraction = 1 }, want: ErrOptions, msg: "test fraction"},
	{name: "fractions leave nothing", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.TestFraction, o.DevFraction = 0.5, 0.5 }, want: ErrOptions, msg: "no training data"},
	{name: "same column twice", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.TextColumn = "label" }, want: ErrOptions},
	{name: "features as text column", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.TextColumn = "features" }, want: ErrOptions, msg: "reserved"},
	{name: "duplicate option label", files: map[string]string{"a.jsonl": twoClasses},
		path: "a.jsonl", opt: func(o *Options) { o.Labels = []string{"a", "a"} }, want: ErrLabel, msg: "twice"},
}

func TestLoadErrors(t *testing.T) {
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			opt := DefaultOptions()
			if c.opt != nil {
				c.opt(&opt)
			}
			task, err := Load(filepath.Join(dir, c.path), opt)
			if err == nil {
				t.Fatalf("loaded %s, want an error wrapping %v", Summary(task), c.want)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %q", err, c.want)
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.HasPrefix(msg, c.where) {
				t.Errorf("error %q does not start with %q", msg, c.where)
			}
			if !strings.Contains(msg, c.msg) {
				t.Errorf("error %q does not contain %q", msg, c.msg)
			}
		})
	}
}

// TestErrorLocation checks the *Error type carries the file and line.
func TestErrorLocation(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.jsonl": twoClasses + "{\"text\":1,\"label\":\"p\"}\n"})
	_, err := Load(filepath.Join(dir, "a.jsonl"), DefaultOptions())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Path != filepath.Join(dir, "a.jsonl") || e.Line != 5 {
		t.Errorf("location %s:%d, want a.jsonl:5", e.Path, e.Line)
	}
}

func TestLoadMissingPath(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.jsonl"), DefaultOptions())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}
