// Package checkpoint reads and writes model weights as safetensors files.
//
// It owns the byte format of every checkpoint coldnode moves: bases, deltas and
// task heads. It does not know about models, training or the network, and it
// imports nothing of the module, so the fusion math and the wire formats may
// depend on it.
//
// Invariants:
//   - Encode writes tensors in ascending name order, the JSON header with sorted
//     top-level keys ("__metadata__" and the tensor names; each tensor entry's
//     fields in the fixed order dtype, shape, data_offsets) and no
//     insignificant white space, padded with spaces to a multiple of 8 bytes.
//     Identical tensors and metadata therefore give identical bytes, and so
//     one content identifier on every peer. Encode refuses what could not be
//     read back unchanged: duplicate or reserved names, non-UTF-8 names or
//     metadata, data that does not match dtype and shape.
//   - Decode accepts any well-formed safetensors file, including those written
//     by PyTorch (which may order tensors differently), and rejects hostile or
//     corrupt input with an error wrapping ErrCorrupt that names the tensor and
//     the problem: duplicate keys at any level, missing or unknown entry
//     fields, unknown dtypes, negative or oversized shapes, byte ranges that
//     overlap, leave gaps or stop short of the end. It never panics on any
//     input (FuzzDecode checks this).
//
// Streaming: Open gives a Reader over any io.ReaderAt; Tensor copies one
// tensor out, ReadInto and ReadRangeInto fill a caller's buffer (whole or a
// byte range) without allocating, and a Reader from OpenBytes can View data
// in place. Header gives the bytes Encode writes before the tensor data, so
// a writer that produces tensors piece by piece (fusion) still writes
// Encode's exact bytes.
//
// Tensor names follow the convention "body.<...>" for weights the swarm shares
// and "head.<...>" for per-task heads that are never fused (see IsHead).
package checkpoint
