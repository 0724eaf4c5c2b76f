// Package token turns text into hashed feature ids with no vocabulary, so
// peers never need to agree on one.
//
// It owns the tokenization scheme only: no vocabulary, no model, no I/O.
//
// The scheme, which another implementation must follow exactly:
//  1. Lowercase the text with Unicode simple case mapping (Go's unicode.ToLower),
//     rune by rune, with no context rules (a final capital sigma becomes σ).
//     A byte that is not valid UTF-8 counts as U+FFFD.
//  2. Split into words: maximal runs of letters, digits and marks (Unicode
//     categories L, N, M); every other rune separates words and is dropped.
//  3. Emit, in order: every word; if Bigrams, every adjacent pair "w1 w2" (the
//     two words joined by one 0x20 byte); if CharMin > 0, for each word in
//     turn, for n = CharMin..CharMax, every n-rune substring of
//     "<" + word + ">" from left to right. Repeats are kept.
//     A unigram, a bigram and a character n-gram are told apart by a prefix
//     byte: 'w' (0x77), 'b' (0x62), 'c' (0x63).
//  4. The id of a feature is FNV-1a 64-bit over prefix byte + UTF-8 bytes,
//     reduced modulo Buckets. Ids are int32 in [0, Buckets).
//  5. If MaxLen > 0, only the first MaxLen ids are kept.
//
// Golden values (checked by the tests against an independent implementation):
// with DefaultConfig (2^18 buckets, bigrams), "Hello, World!" encodes to
// [183814 220282 242279] (w"hello", w"world", b"hello world"), and
// "It's 2023 — café naïve" to [82587 68319 136275 94212 256628 158617 230627
// 89418 209601]; with Config{Buckets: 1000, CharMin: 2, CharMax: 3}, "Go go"
// encodes to [804 804 407 440 163 448 34 407 440 163 448 34].
//
// Usage: validate a Config once (Encode assumes it is valid), then call
// Encode per text, reusing dst across calls to avoid allocation.
package token

import (
	"fmt"
	"strings"
	"unicode"
)

// Config is the tokenizer's definition; it travels with every model config.
type Config struct {
	Buckets int  `json:"buckets"`
	Bigrams bool `json:"bigrams"`
	CharMin int  `json:"char_min,omitempty"` // 0: no character n-grams
	CharMax int  `json:"char_max,omitempty"`
	MaxLen  int  `json:"max_len,omitempty"` // 0: no cap on ids per text
}

// DefaultConfig is 2^18 buckets of unigrams and bigrams.
func DefaultConfig() Config {
	return Config{Buckets: 1 << 18, Bigrams: true}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Buckets <= 0 || c.Buckets > 1<<30 {
		return fmt.Errorf("token: buckets %d out of range (1..2^30)", c.Buckets)
	}
	if c.CharMin < 0 || (c.CharMin > 0 && c.CharMax < c.CharMin) {
		return fmt.Errorf("token: char n-gram range %d..%d is invalid", c.CharMin, c.CharMax)
	}
	if c.MaxLen < 0 {
		return fmt.Errorf("token: max_len %d is negative", c.MaxLen)
	}
	return nil
}

// Words splits text as step 1-2 of the scheme describe.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.IsMark(r))
	})
}

// Encode appends the ids of text to dst and returns it.
func (c Config) Encode(text string, dst []int32) []int32 {
	words := Words(text)
	start := len(dst)
	for _, w := range words {
		dst = append(dst, c.id('w', w))
	}
	if c.Bigrams {
		for i := 1; i < len(words); i++ {
			dst = append(dst, c.id('b', words[i-1]+" "+words[i]))
		}
	}
	if c.CharMin > 0 {
		for _, w := range words {
			dst = c.charGrams(w, dst)
		}
	}
	if c.MaxLen > 0 && len(dst)-start > c.MaxLen {
		dst = dst[:start+c.MaxLen]
	}
	return dst
}

func (c Config) charGrams(word string, dst []int32) []int32 {
	rs := []rune("<" + word + ">")
	for n := c.CharMin; n <= c.CharMax; n++ {
		for i := 0; i+n <= len(rs); i++ {
			dst = append(dst, c.id('c', string(rs[i:i+n])))
		}
	}
	return dst
}

func (c Config) id(prefix byte, s string) int32 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h ^= uint64(prefix)
	h *= prime
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return int32(h % uint64(c.Buckets))
}
