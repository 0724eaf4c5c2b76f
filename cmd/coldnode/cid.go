package main

import (
	"fmt"
	"os"

	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/p2p/ufs"
)

func init() {
	register(&cli.Command{
		Name:      "cid",
		Usage:     "print a file's UnixFS CID (CIDv1, raw leaves, 1 MiB chunks, 1024 links, balanced) or check it",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "check", Usage: "exit non-zero unless the file's CID equals `CID`"},
		},
		Action: cidAction,
	})
}

func cidAction(c *cli.Context) error {
	args, err := positional(c) // flags may follow FILE
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("cid: want exactly one FILE argument, got %d (usage: coldnode cid FILE [--check CID])", len(args))
	}
	want := cid.Undef
	if c.IsSet("check") {
		if want, err = cid.Decode(c.String("check")); err != nil {
			return fmt.Errorf("cid: --check %q is not a CID: %w", c.String("check"), err)
		}
	}
	got, err := fileCIDOf(args[0])
	if err != nil {
		return err
	}
	if !want.Defined() {
		fmt.Fprintln(c.App.Writer, got)
		return nil
	}
	if !got.Equals(want) {
		return fmt.Errorf("cid: %s has CID %s, not %s", args[0], got, want)
	}
	fmt.Fprintf(c.App.Writer, "%s %s OK\n", got, args[0])
	return nil
}

func fileCIDOf(path string) (cid.Cid, error) {
	f, err := os.Open(path)
	if err != nil {
		return cid.Undef, fmt.Errorf("cid: %w", err)
	}
	defer f.Close()
	got, err := ufs.CID(f)
	if err != nil {
		return cid.Undef, fmt.Errorf("cid: %s: %w", path, err)
	}
	return got, nil
}
