package data

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadDelimited: the CSV and TSV readers never panic on any file, every
// error is an *Error wrapping one of the package's sentinels, and every
// accepted table holds well-formed records of one kind and width.
// Seeds live in testdata/fuzz/FuzzReadDelimited.
func FuzzReadDelimited(f *testing.F) {
	f.Add([]byte("text,label\nhello world,pos\n\"a, b\",neg\n"), false)
	f.Add([]byte("x1,x2,label\n1,2.5,a\n-3e2,4,b\n"), false)
	f.Add([]byte("label\ttext\npos\tgood \"film\"\r\nneg\tbad\n"), true)
	f.Add([]byte("\ufefftext,label\n\"multi\nline\",pos\n"), false)
	f.Add([]byte("a\tlabel\nNaN\tx\n"), true)
	f.Fuzz(func(t *testing.T, file []byte, tsv bool) {
		tab, err := scanDelimited("fuzz", newRows(bytes.NewReader(file), tsv), fields{text: "text", label: "label"})
		if err != nil {
			checkLoadError(t, err)
			return
		}
		checkTable(t, tab)
	})
}

func checkLoadError(t *testing.T, err error) {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("error %q is not a located *Error", err)
	}
	if !wrapsSentinel(err) && !errors.Is(err, ErrColumn) {
		t.Fatalf("error %q wraps no sentinel", err)
	}
}

func checkTable(t *testing.T, tab *table) {
	t.Helper()
	if len(tab.recs) == 0 {
		t.Fatal("accepted a table without records")
	}
	for i, r := range tab.recs {
		checkRecord(t, r)
		if r.kind != tab.kind || len(r.features) != tab.width {
			t.Fatalf("record %d (%+v) differs from the table's kind %v width %d", i, r, tab.kind, tab.width)
		}
		if i > 0 && r.line <= tab.recs[i-1].line {
			t.Fatalf("record %d on line %d follows line %d", i, r.line, tab.recs[i-1].line)
		}
	}
}
