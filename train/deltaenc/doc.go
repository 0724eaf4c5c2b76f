// Package deltaenc writes and reads the compact encodings of a delta file:
// only the rows a contributor touched, values in fp16, bf16 or int8 with a
// float32 scale per row, and the whole file optionally in one zstd frame.
//
// It owns the encoded format and its exact decoding to float32. It does
// not fuse (consensus/fusion decodes through Bind and fuses the decoded
// values), fetch or choose an encoding (the node's config does). It
// imports only train/checkpoint and the zstd codec.
//
// # Format
//
// An encoded delta is a safetensors file (the canonical bytes of
// checkpoint.Encode), optionally wrapped whole in one zstd frame
// (recognised by the frame magic 28 b5 2f fd; its decoded size is capped
// by Limit of the genesis layout). Its metadata key MetaKey holds the
// tensor encoding, "fp16", "bf16", "int8", "rows", "rows+fp16",
// "rows+bf16" or "rows+int8"; a file without the key is a plain float32
// delta. For every body tensor name of the base, with dense shape S
// (R rows = S[0] for rank >= 2, else 1 row; C = elements / R):
//
//   - name holds the values in the encoding's dtype (F32, F16, BF16 or
//     I8), of shape S, or, when name#rows is present, of shape
//     [k, S[1:]...];
//   - name#rows (only under "rows", only for rank >= 2): I32 [k], the
//     stored rows, strictly increasing, each in 0..R-1; rows not listed
//     decode to +0;
//   - name#scale (int8 only, required): F32 [rows stored], finite and
//     non-negative.
//
// Decoding to float32 is exact and the same on every processor: F16 and
// BF16 widen exactly; an int8 value q of stored row j is float32(q) *
// scale[j], one IEEE float32 multiply rounded to nearest even. Encoding
// rounds to nearest even: fp16 and bf16 from the float32 value (overflow
// is an error), int8 as round(x / s) clamped to ±127 with s = maxabs/127
// of the row in float32 (an all-zero row has s = 0). Under "rows" a
// rank-2+ tensor gets name#rows when some row is all +0 bits; the rest
// are stored whole.
//
// Because fusion reads the decoded float32 values, fusing encoded deltas
// gives the same bits as fusing their decoded float32 files, on every
// processor; the encoding is part of the delta's content and CID.
//
// # Usage
//
//	b, err := deltaenc.Encode(delta, deltaenc.Default) // node, publishing
//	r, err := deltaenc.Open(b, deltaenc.Limit(base))   // anyone, fusing
//	t, err := deltaenc.Bind(r, name, shape)            // nil: plain F32
//	err = t.Read(lo, dst)                              // dense values
package deltaenc
