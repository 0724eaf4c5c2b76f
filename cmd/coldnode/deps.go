package main

// Temporary: pins every dependency of the design card while packages are built.
import (
	_ "github.com/ipfs/boxo/bitswap"
	_ "github.com/ipfs/boxo/bitswap/network/bsnet"
	_ "github.com/ipfs/boxo/blockservice"
	_ "github.com/ipfs/boxo/blockstore"
	_ "github.com/ipfs/boxo/chunker"
	_ "github.com/ipfs/boxo/ipld/merkledag"
	_ "github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	_ "github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	_ "github.com/ipfs/boxo/ipld/unixfs/io"
	_ "github.com/ipfs/go-cid"
	_ "github.com/ipfs/go-datastore"
	_ "github.com/ipfs/go-ds-pebble"
	_ "github.com/ipfs/go-ipld-format"
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/multiformats/go-multiaddr"
	_ "github.com/multiformats/go-multihash"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/urfave/cli/v2"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gonum.org/v1/gonum/blas/blas32"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
)


