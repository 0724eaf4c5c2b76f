package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// MaxLine is the longest source line accepted, in bytes.
const MaxLine = 16 << 20

// bom is the UTF-8 byte order mark some editors put at the start of a file.
const bom = "\ufeff"

// featuresField is the JSONL field holding numeric inputs.
const featuresField = "features"

// fields names the JSON fields of a line.
type fields struct{ text, label string }

// decodeLine parses one JSONL line into a record: exactly one of the text
// field and "features", and a label that is a string or a number. Other
// fields are ignored.
func decodeLine(line []byte, f fields) (record, error) {
	if err := checkLine(line); err != nil {
		return record{}, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return record{}, problem(ErrSyntax, "%v", err)
	}
	if obj == nil {
		return record{}, problem(ErrSyntax, "line is null, not a JSON object")
	}
	r, err := decodeInput(obj, f.text)
	if err != nil {
		return record{}, err
	}
	r.label, err = decodeLabel(obj, f.label)
	return r, err
}

// checkLine rejects blank lines and invalid UTF-8 (which encoding/json would
// silently replace).
func checkLine(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return problem(ErrEmpty, "blank line")
	}
	if !utf8.Valid(line) {
		return problem(ErrEncoding, "invalid UTF-8 at byte %d", badByte(line))
	}
	return nil
}

// badByte returns the offset of the first byte that is not valid UTF-8.
func badByte(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func decodeInput(obj map[string]json.RawMessage, textField string) (record, error) {
	text, hasText := obj[textField]
	feats, hasFeats := obj[featuresField]
	switch {
	case hasText && hasFeats:
		return record{}, problem(ErrField, "both %q and %q are present; give exactly one", textField, featuresField)
	case !hasText && !hasFeats:
		return record{}, problem(ErrField, "missing field: need %q or %q", textField, featuresField)
	case hasFeats:
		return decodeFeatures(feats)
	}
	r := record{kind: Text}
	if err := json.Unmarshal(text, &r.text); err != nil || isNull(text) {
		return record{}, problem(ErrField, "field %q must be a string, got %s", textField, clip(text))
	}
	return r, nil
}

// decodeFeatures reads a JSON array of numbers. raw is already valid JSON
// (the whole line was parsed), so splitting at commas is exact: a number
// holds no comma, and any other element type fails the number check.
func decodeFeatures(raw json.RawMessage) (record, error) {
	body := bytes.TrimSpace(raw)
	if len(body) < 2 || body[0] != '[' {
		return record{}, problem(ErrField, "field %q must be an array of numbers, got %s", featuresField, clip(raw))
	}
	body = bytes.TrimSpace(body[1 : len(body)-1])
	if len(body) == 0 {
		return record{}, problem(ErrFeatures, "field %q is empty", featuresField)
	}
	r := record{kind: Features, features: make([]float32, 0, bytes.Count(body, []byte{','})+1)}
	for i := 0; len(body) > 0; i++ {
		var num []byte
		num, body, _ = bytes.Cut(body, []byte{','})
		num = bytes.TrimSpace(num)
		if !isNumber(num) {
			return record{}, problem(ErrField, "field %q must be an array of numbers, element %d is %s", featuresField, i, clip(num))
		}
		v, err := parseFeature(string(num), i)
		if err != nil {
			return record{}, err
		}
		r.features = append(r.features, v)
	}
	return r, nil
}

// isNumber reports whether a valid JSON value is a number rather than a
// string, bool, null, array or object.
func isNumber(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}

func decodeLabel(obj map[string]json.RawMessage, field string) (string, error) {
	raw, ok := obj[field]
	if !ok {
		return "", problem(ErrField, "missing field %q", field)
	}
	var label string
	if err := json.Unmarshal(raw, &label); err == nil && !isNull(raw) {
		return label, checkLabel(label)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil && !isNull(raw) {
		return n.String(), nil
	}
	return "", problem(ErrField, "field %q must be a string or a number, got %s", field, clip(raw))
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// clip shortens a JSON value for an error message.
func clip(raw json.RawMessage) string {
	const max = 40
	s := string(bytes.TrimSpace(raw))
	if len(s) > max {
		return fmt.Sprintf("%s... (%d bytes)", s[:max], len(s))
	}
	return s
}

// readJSONL reads every line of a JSONL file into a table.
func readJSONL(path string, f fields) (*table, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer fh.Close()
	return scanJSONL(path, fh, f)
}

func scanJSONL(path string, src io.Reader, f fields) (*table, error) {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	t := &table{path: path}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte(bom))
		}
		r, err := decodeLine(b, f)
		if err == nil {
			r.line = line
			err = t.add(r)
		}
		if err != nil {
			return nil, at(path, line, err)
		}
	}
	if err := finishScan(path, line, sc.Err(), len(t.recs)); err != nil {
		return nil, err
	}
	return t, nil
}

// finishScan turns a scanner's end state into an error naming the line.
func finishScan(path string, line int, err error, n int) error {
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return at(path, line+1, problem(ErrSyntax, "line longer than %d bytes", MaxLine))
	case err != nil:
		return at(path, line+1, fmt.Errorf("read: %w", err))
	case n == 0:
		return at(path, 0, problem(ErrEmpty, "no examples"))
	}
	return nil
}
