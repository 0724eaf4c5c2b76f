package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// rows yields the rows of a delimited file with their 1-based line numbers;
// io.EOF ends it.
type rows interface {
	next() (fields []string, line int, err error)
}

// csvRows reads RFC 4180 CSV: quoted fields may hold commas and newlines.
// encoding/csv skips blank lines; csvRows reports them instead, by checking
// each record starts on the line after the previous one ended.
type csvRows struct {
	r       *csv.Reader
	lastEnd int // the line the previous record ended on
}

func (c *csvRows) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Line, problem(ErrSyntax, "%v", pe.Err)
		}
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	if line > c.lastEnd+1 {
		return nil, c.lastEnd + 1, problem(ErrEmpty, "blank line")
	}
	c.lastEnd = line
	for _, f := range rec {
		c.lastEnd += strings.Count(f, "\n")
	}
	return rec, line, nil
}

// tsvRows reads tab-separated values with no quoting: a field is everything
// between tabs, so text may hold quotes freely but never a tab or newline.
type tsvRows struct {
	sc   *bufio.Scanner
	line int
}

func (t *tsvRows) next() ([]string, int, error) {
	if !t.sc.Scan() {
		if errors.Is(t.sc.Err(), bufio.ErrTooLong) {
			return nil, t.line + 1, problem(ErrSyntax, "line longer than %d bytes", MaxLine)
		}
		if t.sc.Err() != nil {
			return nil, t.line + 1, t.sc.Err()
		}
		return nil, t.line, io.EOF
	}
	t.line++
	return strings.Split(string(bytes.TrimSuffix(t.sc.Bytes(), []byte{'\r'})), "\t"), t.line, nil
}

func newRows(src io.Reader, tsv bool) rows {
	if tsv {
		sc := bufio.NewScanner(src)
		sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
		return &tsvRows{sc: sc}
	}
	r := csv.NewReader(src)
	r.ReuseRecord = true
	return &csvRows{r: r}
}

// layout says which columns of a delimited file hold what.
type layout struct {
	width    int   // columns per row
	label    int   // index of the label column
	text     int   // index of the text column, -1 for a features file
	features []int // indexes of the feature columns
	names    []string
	textName string // the text column's name, for messages
}

// readDelimited reads a CSV (tsv false) or TSV file with a header row.
func readDelimited(path string, tsv bool, f fields) (*table, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer fh.Close()
	return scanDelimited(path, newRows(fh, tsv), f)
}

func scanDelimited(path string, rs rows, f fields) (*table, error) {
	header, line, err := rs.next()
	if err == io.EOF {
		return nil, at(path, 0, problem(ErrEmpty, "no header row"))
	}
	if err != nil {
		return nil, at(path, line, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], bom)
	}
	lay, err := parseHeader(header, f)
	if err != nil {
		return nil, at(path, line, err)
	}
	t := &table{path: path}
	if err := scanRows(rs, lay, t); err != nil {
		return nil, err
	}
	if len(t.recs) == 0 {
		return nil, at(path, 0, problem(ErrEmpty, "no examples after the header"))
	}
	return t, nil
}

func scanRows(rs rows, lay layout, t *table) error {
	for {
		row, line, err := rs.next()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			err = lay.addRow(t, row, line)
		}
		if err != nil {
			return at(t.path, line, err)
		}
	}
}

// parseHeader finds the label and text columns; without a text column every
// other column is a feature.
func parseHeader(header []string, f fields) (layout, error) {
	lay := layout{width: len(header), label: -1, text: -1, names: append([]string(nil), header...), textName: f.text}
	seen := make(map[string]bool, len(header))
	for i, name := range header {
		if !utf8.ValidString(name) {
			return lay, problem(ErrEncoding, "header column %d is not valid UTF-8", i+1)
		}
		if seen[name] {
			return lay, problem(ErrColumn, "header names column %q twice", name)
		}
		seen[name] = true
		lay.assign(i, name, f)
	}
	if lay.label < 0 {
		return lay, problem(ErrColumn, "header has no label column %q (columns: %s)", f.label, strings.Join(header, ", "))
	}
	if lay.text < 0 && len(lay.features) == 0 {
		return lay, problem(ErrColumn, "header has no text column %q and no feature columns", f.text)
	}
	if lay.text >= 0 {
		lay.features = nil
	}
	return lay, nil
}

func (l *layout) assign(i int, name string, f fields) {
	switch name {
	case f.label:
		l.label = i
	case f.text:
		l.text = i
	default:
		l.features = append(l.features, i)
	}
}

// addRow decodes one data row into t.
func (l layout) addRow(t *table, row []string, line int) error {
	if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
		return problem(ErrEmpty, "blank line")
	}
	if len(row) != l.width {
		return problem(ErrSyntax, "%d fields, but the header has %d", len(row), l.width)
	}
	for i, v := range row {
		if !utf8.ValidString(v) {
			return problem(ErrEncoding, "column %q is not valid UTF-8", l.names[i])
		}
	}
	r, err := l.decode(row)
	if err != nil {
		return err
	}
	r.line = line
	return t.add(r)
}

func (l layout) decode(row []string) (record, error) {
	r := record{label: row[l.label]}
	if err := checkLabel(r.label); err != nil {
		return r, err
	}
	if l.text >= 0 {
		r.kind, r.text = Text, row[l.text]
		return r, nil
	}
	r.kind, r.features = Features, make([]float32, len(l.features))
	for i, col := range l.features {
		v, err := parseFeature(strings.TrimSpace(row[col]), i)
		if err != nil {
			return r, fmt.Errorf("column %q: %w; %w: a text file needs column %q", l.names[col], err, ErrColumn, l.textName)
		}
		r.features[i] = v
	}
	return r, nil
}
