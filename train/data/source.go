package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// source is where a task's files are: paths are empty when absent.
type source struct {
	name                     string // default task name
	train, dev, test, labels string
}

// extensions a split file may have, and the reader of each.
var readers = map[string]func(path string, f fields) (*table, error){
	".jsonl": readJSONL,
	".csv":   func(p string, f fields) (*table, error) { return readDelimited(p, false, f) },
	".tsv":   func(p string, f fields) (*table, error) { return readDelimited(p, true, f) },
}

// splitExts is the order in which a directory is searched for a split file.
var splitExts = []string{".jsonl", ".csv", ".tsv"}

// locate says which files make up the task at path.
func locate(path string) (source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return source{}, fmt.Errorf("load dataset: %w", err)
	}
	if st.IsDir() {
		return locateDir(path)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if readers[ext] == nil {
		return source{}, at(path, 0, problem(ErrSource, "unknown extension %q: want a directory, .jsonl, .csv or .tsv", ext))
	}
	return source{name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), train: path}, nil
}

func locateDir(dir string) (source, error) {
	src := source{name: filepath.Base(filepath.Clean(dir))}
	var err error
	if src.train, err = findSplit(dir, "train"); err != nil {
		return src, err
	}
	if src.train == "" {
		return src, at(dir, 0, problem(ErrSource, "no train.jsonl, train.csv or train.tsv in the directory"))
	}
	if src.dev, err = findSplit(dir, "dev"); err != nil {
		return src, err
	}
	if src.test, err = findSplit(dir, "test"); err != nil {
		return src, err
	}
	src.labels, err = optionalFile(filepath.Join(dir, "labels.json"))
	return src, err
}

// findSplit returns the one file dir/<split>.<ext>, or "" if there is none.
func findSplit(dir, split string) (string, error) {
	var found []string
	for _, ext := range splitExts {
		p, err := optionalFile(filepath.Join(dir, split+ext))
		if err != nil {
			return "", err
		}
		if p != "" {
			found = append(found, p)
		}
	}
	if len(found) > 1 {
		return "", at(dir, 0, problem(ErrSource, "%s split is ambiguous: %s", split, strings.Join(found, ", ")))
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

// optionalFile returns path if it names an existing regular file, "" if it
// does not exist.
func optionalFile(path string) (string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load dataset: %w", err)
	}
	if st.IsDir() {
		return "", at(path, 0, problem(ErrSource, "is a directory, not a file"))
	}
	return path, nil
}

// readSplit reads one split file by its extension; "" gives nil.
func readSplit(path string, f fields) (*table, error) {
	if path == "" {
		return nil, nil
	}
	return readers[strings.ToLower(filepath.Ext(path))](path, f)
}
