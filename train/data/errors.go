package data

import (
	"errors"
	"fmt"
)

// The kinds of problem a load can report. Every error Load returns wraps
// exactly one of them (test with errors.Is) inside an *Error naming the file
// and, where there is one, the line.
var (
	ErrSyntax   = errors.New("invalid syntax")         // malformed JSON or CSV, a line too long
	ErrField    = errors.New("bad field")              // missing, mistyped, or both/neither of text and features
	ErrLabel    = errors.New("bad label")              // a label outside the class list, a bad labels.json
	ErrEmpty    = errors.New("empty")                  // an empty file, blank line or split
	ErrEncoding = errors.New("invalid UTF-8")          // bytes that are not UTF-8
	ErrClass    = errors.New("class without examples") // a class with no training example
	ErrFeatures = errors.New("bad features")           // inconsistent width, non-finite values
	ErrColumn   = errors.New("missing column")         // a CSV/TSV header lacks a needed column
	ErrOptions  = errors.New("bad options")            // Options that fail Validate
	ErrSource   = errors.New("bad source")             // a path that is not a known layout
)

// Error locates a problem in a source file. Line is 1-based; 0 means the
// problem concerns the whole file.
type Error struct {
	Path string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// problem wraps a sentinel with detail: problem(ErrField, "no %q field", "label").
func problem(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// at attaches a location to err.
func at(path string, line int, err error) error {
	return &Error{Path: path, Line: line, Err: err}
}
