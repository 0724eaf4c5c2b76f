package demo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// digitsCSV is scikit-learn's copy of the UCI optical handwritten digits test
// set (1,797 8x8 images, 64 pixel counts in 0..16 then the label per row),
// taken from Debian's python3-sklearn 1.2.1 package
// (sklearn/datasets/data/digits.csv.gz). scikit-learn is BSD-3-Clause
// licensed; see NOTICE.md in this directory.
//
//go:embed digits.csv.gz
var digitsCSV []byte

// Image is one 8x8 digit: its 64 pixel counts (0..16, row by row) and the digit.
type Image struct {
	Pixels []float32
	Digit  int
}

// Digits decodes the embedded data set.
func Digits() ([]Image, error) {
	zr, err := gzip.NewReader(bytes.NewReader(digitsCSV))
	if err != nil {
		return nil, fmt.Errorf("demo digits: %w", err)
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = 65
	var out []Image
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("demo digits line %d: %w", line, err)
		}
		img, err := parseImage(rec)
		if err != nil {
			return nil, fmt.Errorf("demo digits line %d: %w", line, err)
		}
		out = append(out, img)
	}
}

func parseImage(rec []string) (Image, error) {
	img := Image{Pixels: make([]float32, 64)}
	for i := range 64 {
		v, err := strconv.Atoi(rec[i])
		if err != nil || v < 0 || v > 16 {
			return img, fmt.Errorf("pixel %d: %q is not an integer in 0..16", i, rec[i])
		}
		img.Pixels[i] = float32(v)
	}
	d, err := strconv.Atoi(rec[64])
	if err != nil || d < 0 || d > 9 {
		return img, fmt.Errorf("label %q is not a digit", rec[64])
	}
	img.Digit = d
	return img, nil
}
