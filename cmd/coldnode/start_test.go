package main

import (
	"testing"

	"github.com/urfave/cli/v2"
)

// --moments defaults to auto (the node fits its moments to its memory
// budget); a precision named fixes it, and anything else is refused.
func TestStartMoments(t *testing.T) {
	var start *cli.Command
	for _, c := range commands {
		if c.Name == "start" {
			start = c
		}
	}
	if start == nil {
		t.Fatal("no start command")
	}
	for _, c := range []struct {
		args []string
		auto bool
		fail bool
	}{
		{nil, true, false}, {[]string{"--moments", "auto"}, true, false},
		{[]string{"--moments", "fp32"}, false, false}, {[]string{"--moments", "int8"}, false, false},
		{[]string{"--moments", "int4"}, false, true},
	} {
		var auto, ran bool
		cmd := *start
		cmd.Action = func(c *cli.Context) error {
			ran, auto = true, startConfig(c).AutoMoments
			return nil
		}
		app := &cli.App{Name: "coldnode", Commands: []*cli.Command{&cmd}}
		args := append([]string{"coldnode", "start", "--dataset", "d"}, c.args...)
		err := app.Run(args)
		if c.fail {
			if err == nil || ran {
				t.Errorf("%v: taken (err %v)", c.args, err)
			}
			continue
		}
		if err != nil || !ran || auto != c.auto {
			t.Errorf("%v: AutoMoments %v, want %v (ran %v, err %v)", c.args, auto, c.auto, ran, err)
		}
	}
}
