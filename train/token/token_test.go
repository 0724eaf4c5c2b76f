package token

import (
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The golden ids below were computed by an independent Python implementation
// of the scheme in the package comment (unicodedata categories, per-rune
// lowercasing, FNV-1a by hand), not by this package.
var golden = []struct {
	text  string
	words []string
	ids   []int32 // DefaultConfig: 2^18 buckets, unigrams then bigrams
}{
	{"Hello, World!", []string{"hello", "world"}, []int32{183814, 220282, 242279}},
	{"It's 2023 \u2014 caf\u00e9 na\u00efve", []string{"it", "s", "2023", "café", "naïve"},
		[]int32{82587, 68319, 136275, 94212, 256628, 158617, 230627, 89418, 209601}},
	// A combining accent (category Mn) stays inside its word.
	{"cafe\u0301", []string{"cafe\u0301"}, []int32{35748}},
	// Han and katakana, with U+30FC (Lm) inside the word.
	{"\u6771\u4eac\u30bf\u30ef\u30fc", []string{"東京タワー"}, []int32{86345}},
	// Simple case mapping: final capital sigma becomes σ, not ς.
	{"\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3", []string{"σίσυφοσ"}, []int32{161993}},
	{"Stra\u00dfe", []string{"straße"}, []int32{44797}},
	// Symbols and emoji separate words and are dropped.
	{"I \u2764 Go \U0001F680", []string{"i", "go"}, []int32{79629, 260036, 90138}},
	{"x1_y2", []string{"x1", "y2"}, []int32{220129, 161565, 12749}},
	{"", nil, nil},
	// Roman numeral twelve (Nl) is a number and lowercases to U+217B.
	{"\u216b", []string{"\u217b"}, []int32{127872}},
	{"\u0661\u0662\u0663", []string{"١٢٣"}, []int32{243635}},
}

func TestGolden(t *testing.T) {
	c := DefaultConfig()
	for _, g := range golden {
		if w := Words(g.text); !slices.Equal(w, g.words) {
			t.Errorf("Words(%q) = %q, want %q", g.text, w, g.words)
		}
		if ids := c.Encode(g.text, nil); !slices.Equal(ids, g.ids) {
			t.Errorf("Encode(%q) = %v, want %v", g.text, ids, g.ids)
		}
	}
}

func TestGoldenCharGrams(t *testing.T) {
	cases := []struct {
		cfg  Config
		text string
		ids  []int32
	}{
		// "<go>" gives 2-grams <g go o> then 3-grams <go go>, once per word.
		{Config{Buckets: 1000, CharMin: 2, CharMax: 3}, "Go go",
			[]int32{804, 804, 407, 440, 163, 448, 34, 407, 440, 163, 448, 34}},
		{Config{Buckets: 1 << 18, Bigrams: true, CharMin: 1, CharMax: 1, MaxLen: 5}, "a b c d",
			[]int32{76149, 74844, 75279, 73974, 75794}},
		{Config{Buckets: 1 << 20, Bigrams: true, CharMin: 3, CharMax: 4}, "Héllo wörld",
			[]int32{913259, 876192, 78754, 953570, 57442, 1007342, 689687, 524387, 578890, 833482, 890163,
				128939, 43822, 964028, 52721, 289824, 119820, 208212, 979056, 873519, 243450}},
	}
	for _, c := range cases {
		if ids := c.cfg.Encode(c.text, nil); !slices.Equal(ids, c.ids) {
			t.Errorf("%+v Encode(%q) = %v, want %v", c.cfg, c.text, ids, c.ids)
		}
	}
}

// reference encodes by the package comment, step by step, with the
// standard library's FNV and a rune-by-rune word split.
func reference(c Config, text string) []int32 {
	var words []string
	var cur []rune
	for _, r := range text {
		r = unicode.ToLower(r)
		if unicode.In(r, unicode.L, unicode.N, unicode.M) {
			cur = append(cur, r)
			continue
		}
		if len(cur) > 0 {
			words = append(words, string(cur))
		}
		cur = nil
	}
	if len(cur) > 0 {
		words = append(words, string(cur))
	}
	var ids []int32
	id := func(p byte, s string) {
		h := fnv.New64a()
		h.Write(append([]byte{p}, s...))
		ids = append(ids, int32(h.Sum64()%uint64(c.Buckets)))
	}
	for _, w := range words {
		id('w', w)
	}
	for i := 1; c.Bigrams && i < len(words); i++ {
		id('b', words[i-1]+" "+words[i])
	}
	for _, w := range words {
		rs := []rune("<" + w + ">")
		for n := c.CharMin; c.CharMin > 0 && n <= c.CharMax; n++ {
			for i := 0; i+n <= len(rs); i++ {
				id('c', string(rs[i:i+n]))
			}
		}
	}
	if c.MaxLen > 0 && len(ids) > c.MaxLen {
		ids = ids[:c.MaxLen]
	}
	return ids
}

// randomText mixes ASCII, punctuation, accents, combining marks, CJK,
// digits of several scripts, emoji and invalid UTF-8.
func randomText(rng *rand.Rand) string {
	pieces := []string{"a", "Z", "é", "\u0301", " ", ",", "-", "東", "١", "Ⅻ", "🚀", "\xff", "İ", "Σ", "_", "'", "\t", "9"}
	var b strings.Builder
	for range rng.IntN(30) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

func TestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	configs := []Config{DefaultConfig(), {Buckets: 97, CharMin: 1, CharMax: 4}, {Buckets: 1 << 30, Bigrams: true, CharMin: 3, CharMax: 5, MaxLen: 7}}
	for range 3000 {
		text := randomText(rng)
		for _, c := range configs {
			got, want := c.Encode(text, nil), reference(c, text)
			if !slices.Equal(got, want) {
				t.Fatalf("%+v Encode(%q) = %v, reference %v", c, text, got, want)
			}
		}
	}
}

func TestEncodeAppends(t *testing.T) {
	c := Config{Buckets: 1 << 10, Bigrams: true, MaxLen: 2}
	dst := []int32{-1, -2}
	got := c.Encode("one two three", dst)
	if len(got) != 4 || got[0] != -1 || got[1] != -2 {
		t.Errorf("Encode onto %v = %v: want the prefix kept and only 2 new ids", dst, got)
	}
	for _, id := range got[2:] {
		if id < 0 || id >= 1<<10 {
			t.Errorf("id %d out of [0, buckets)", id)
		}
	}
}

func TestInvalidUTF8Separates(t *testing.T) {
	if w := Words("ab\xffcd"); !slices.Equal(w, []string{"ab", "cd"}) {
		t.Errorf("Words with an invalid byte = %q, want [ab cd]", w)
	}
	for _, w := range Words("x\xff\xfe y") {
		if !utf8.ValidString(w) {
			t.Errorf("word %q is not valid UTF-8", w)
		}
	}
}

func TestValidate(t *testing.T) {
	good := []Config{DefaultConfig(), {Buckets: 1}, {Buckets: 1 << 30, CharMin: 2, CharMax: 2}}
	bad := []Config{{}, {Buckets: -1}, {Buckets: 1<<30 + 1}, {Buckets: 8, CharMin: 3, CharMax: 2},
		{Buckets: 8, CharMin: -1}, {Buckets: 8, MaxLen: -1}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate accepted it", c)
		}
	}
}

// sentences returns real text for benchmarks: the sst2 training sentences.
func sentences(b *testing.B) []string {
	data, err := os.ReadFile("../../../shared/datasets/sst2/train.jsonl")
	if err != nil {
		b.Fatalf("benchmark data: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 2000 {
		lines = lines[:2000]
	}
	return lines // whole JSON lines: the text plus a little punctuation
}

func benchEncode(b *testing.B, c Config) {
	texts := sentences(b)
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	b.SetBytes(n)
	dst := make([]int32, 0, 1024)
	for b.Loop() {
		for _, s := range texts {
			dst = c.Encode(s, dst[:0])
		}
	}
}

func BenchmarkEncodeDefault(b *testing.B) { benchEncode(b, DefaultConfig()) }

func BenchmarkEncodeCharGrams(b *testing.B) {
	benchEncode(b, Config{Buckets: 1 << 18, Bigrams: true, CharMin: 3, CharMax: 5})
}

// BenchmarkBaselineFieldsFNV is the floor to compare against: split on
// white space and hash each field with the standard library's FNV-1a.
func BenchmarkBaselineFieldsFNV(b *testing.B) {
	texts := sentences(b)
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	b.SetBytes(n)
	dst := make([]int32, 0, 1024)
	for b.Loop() {
		for _, s := range texts {
			dst = dst[:0]
			for _, w := range strings.Fields(s) {
				h := fnv.New64a()
				h.Write([]byte(w))
				dst = append(dst, int32(h.Sum64()%(1<<18)))
			}
		}
	}
}
