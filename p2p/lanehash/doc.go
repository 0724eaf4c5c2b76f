// Package lanehash computes the SHA-256 digests of several messages at once.
//
// A node hashes many independent blocks of the same size: the 1 MiB leaves of
// every fused base it imports and of every checkpoint it fetches. On amd64
// processors with the SHA extensions one message's rounds form a chain of
// SHA256RNDS2 instructions, each waiting for the one before it, and on a
// core whose instruction takes four cycles to finish but can start every
// cycle (AMD Zen 4, for one) that chain leaves most of the unit idle. Sum256
// runs up to Lanes() messages of equal length side by side, one chain each,
// and hashes the rest with crypto/sha256.
//
// The package owns the digest arithmetic only: it gives the bytes
// crypto/sha256 gives, for any inputs, on every processor. Where the
// extensions are missing (and on other architectures) Lanes is 1 and Sum256
// is crypto/sha256 message by message.
//
// Usage:
//
//	sums := make([][32]byte, len(leaves))
//	lanehash.Sum256(sums, leaves)
package lanehash
