package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
)

func TestParseConfigErrors(t *testing.T) {
	cases := map[string]string{
		`{"arch":"bag","dim":8,"hidden":8,"layers":1,"classes":2}`:                                       "needs a token config",
		`{"arch":"rnn","dim":8,"hidden":8}`:                                                              "unknown arch",
		`{"arch":"bag","token":{"buckets":0},"dim":8,"hidden":8}`:                                        "buckets 0",
		`{"arch":"encoder","token":{"buckets":64},"dim":10,"hidden":8,"layers":1,"heads":4,"seq_len":8}`: "heads dividing dim",
		`{"arch":"mlp","features":0,"input_scale":1,"dim":8,"hidden":8}`:                                 "features > 0",
		`{"arch":"mlp","features":4,"input_scale":1,"dim":8,"hidden":8,"colour":"red"}`:                  "unknown field",
		`{"arch":"bag","token":{"buckets":64},"dim":-1,"hidden":8}`:                                      "dim -1",
		`not json`: "parse config",
	}
	for in, want := range cases {
		_, err := ParseConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s) = %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestConfigRoundTripsThroughCheckpoint(t *testing.T) {
	task := &data.Task{Name: "t", Kind: data.Text, Labels: []string{"a", "b", "c"}}
	for _, arch := range []string{Bag, Encoder} {
		c, err := DefaultConfig(arch, task)
		if err != nil {
			t.Fatal(err)
		}
		c.Token.Buckets = 256
		body, err := InitBody(c, 9)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromFile(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := SameBody(got, c); err != nil || got.Classes != 0 {
			t.Errorf("%s: body config %+v (classes %d), err %v", arch, got, got.Classes, err)
		}
		again, _ := InitBody(c, 9)
		a, _ := checkpoint.Encode(body)
		b, _ := checkpoint.Encode(again)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: InitBody is not deterministic", arch)
		}
	}
}

func TestDefaultConfigRejectsWrongTaskKind(t *testing.T) {
	feat := &data.Task{Name: "f", Kind: data.Features, NumFeatures: 4, Labels: []string{"a", "b"}}
	if _, err := DefaultConfig(Bag, feat); err == nil || !strings.Contains(err.Error(), "cannot read features") {
		t.Errorf("bag on a feature task: %v", err)
	}
	if _, err := DefaultConfig("lstm", feat); err == nil || !strings.Contains(err.Error(), "unknown architecture") {
		t.Errorf("unknown arch: %v", err)
	}
}
