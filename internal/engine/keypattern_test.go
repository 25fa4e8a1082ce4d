package engine

import (
	"fmt"
	"slices"
	"testing"
)

// TestKeyIndexMatch adds each case's patterns, with the pattern itself as the
// value, to a zero index and matches one key.
func TestKeyIndexMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		key      string
		want     []string
	}{
		{"empty index", nil, "user.created", nil},
		{"exact", []string{"user.created", "user.deleted"}, "user.created", []string{"user.created"}},
		{"exact is not a prefix", []string{"user"}, "user.created", nil},
		{"exact is not a suffix", []string{"user.created"}, "user", nil},
		{"star", []string{"user.*"}, "user.created", []string{"user.*"}},
		{"star needs a segment", []string{"user.*"}, "user", nil},
		{"star is one segment", []string{"user.*"}, "user.a.b", nil},
		{"star first", []string{"*.created"}, "order.created", []string{"*.created"}},
		{"star first, other last", []string{"*.created"}, "order.paid", nil},
		{"star alone", []string{"*"}, "user", []string{"*"}},
		{"star alone, two segments", []string{"*"}, "user.created", nil},
		{"star between", []string{"a.*.c"}, "a.b.c", []string{"a.*.c"}},
		{"star between, wrong last", []string{"a.*.c"}, "a.b.d", nil},
		{"star between, too many", []string{"a.*.c"}, "a.b.b.c", nil},
		{"stars", []string{"*.*"}, "a.b", []string{"*.*"}},
		{"rest, one segment", []string{"order.**"}, "order.paid", []string{"order.**"}},
		{"rest, two segments", []string{"order.**"}, "order.eu.paid", []string{"order.**"}},
		{"rest needs a segment", []string{"order.**"}, "order", nil},
		{"rest, other first", []string{"order.**"}, "user.created", nil},
		{"rest alone, one segment", []string{"**"}, "user", []string{"**"}},
		{"rest alone, three segments", []string{"**"}, "a.b.c", []string{"**"}},
		{"star then rest", []string{"a.*.**"}, "a.b.c", []string{"a.*.**"}},
		{"star then rest, four", []string{"a.*.**"}, "a.b.c.d", []string{"a.*.**"}},
		{"star then rest, too few", []string{"a.*.**"}, "a.b", nil},
		{"empty key segment", []string{"user.*"}, "user.", []string{"user.*"}},
		{
			"add order across exact, star and rest",
			[]string{"*.created", "user.created", "**", "user.*", "order.**", "user.**"},
			"user.created",
			[]string{"*.created", "user.created", "**", "user.*", "user.**"},
		},
		{
			"add order, exact last",
			[]string{"a.*.**", "a.b.*", "**", "a.*.c", "a.b.c"},
			"a.b.c",
			[]string{"a.*.**", "a.b.*", "**", "a.*.c", "a.b.c"},
		},
		{"same pattern twice", []string{"user.*", "user.created", "user.*"}, "user.x", []string{"user.*", "user.*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ix keyIndex[string]
			for _, p := range tt.patterns {
				if err := validateKeyPattern(p); err != nil {
					t.Fatalf("pattern %q: %v", p, err)
				}
				ix.add(p, p)
			}
			if got := ix.match(tt.key); !slices.Equal(got, tt.want) {
				t.Errorf("match(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

// TestKeyIndexMatchDuplicates adds one value under two matching patterns: it
// comes back once per add call.
func TestKeyIndexMatchDuplicates(t *testing.T) {
	t.Parallel()
	var ix keyIndex[int]
	ix.add("order.*", 1)
	ix.add("order.paid", 2)
	ix.add("order.**", 1)
	ix.add("order.paid", 3)
	if got, want := ix.match("order.paid"), []int{1, 2, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("match = %v, want %v", got, want)
	}
}

// TestKeyIndexMatchResultIsTheCallers changes a returned slice: the next match
// is unaffected.
func TestKeyIndexMatchResultIsTheCallers(t *testing.T) {
	t.Parallel()
	var ix keyIndex[int]
	ix.add("a.b", 1)
	ix.add("a.*", 2)
	for _, key := range []string{"a.b", "a.c"} {
		got := ix.match(key)
		got[0] = 0
		_ = append(got[:1], 0)
	}
	if got, want := ix.match("a.b"), []int{1, 2}; !slices.Equal(got, want) {
		t.Errorf("match after changing results = %v, want %v", got, want)
	}
	if got, want := ix.match("a.c"), []int{2}; !slices.Equal(got, want) {
		t.Errorf("match after changing results = %v, want %v", got, want)
	}
}

// TestKeyIndexMatchMissAllocatesNothing matches keys that share segments with
// the patterns but match none of them. It is not parallel: AllocsPerRun
// refuses to run in a parallel test.
func TestKeyIndexMatchMissAllocatesNothing(t *testing.T) {
	var ix keyIndex[int]
	for i, p := range []string{"user.created", "user.*.x", "a.*.**", "*.deleted"} {
		ix.add(p, i)
	}
	for _, key := range []string{"user.created.y", "user.b.y", "a.b", "x.created"} {
		if n := testing.AllocsPerRun(100, func() { ix.match(key) }); n != 0 {
			t.Errorf("match(%q) allocates %v times, want 0", key, n)
		}
	}
}

// TestValidateKeyPattern checks the accepted patterns and the message for each
// kind of mistake.
func TestValidateKeyPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		want    string // the error message; empty for a valid pattern
	}{
		{"user", ""},
		{"user.created", ""},
		{"order.eu.paid", ""},
		{"svc:a/b-c_d.evt", ""},
		{"*", ""},
		{"**", ""},
		{"user.*", ""},
		{"*.created", ""},
		{"a.*.c", ""},
		{"order.**", ""},
		{"a.*.**", ""},
		{"*.*.**", ""},
		{"", `segment 1 "": segments must not be empty`},
		{".a", `segment 1 "": segments must not be empty`},
		{"a.", `segment 2 "": segments must not be empty`},
		{"a..b", `segment 2 "": segments must not be empty`},
		{"user.us*er", `segment 2 "us*er": * and ** must be whole segments`},
		{"us*er", `segment 1 "us*er": * and ** must be whole segments`},
		{"a.**b", `segment 2 "**b": * and ** must be whole segments`},
		{"a.*b", `segment 2 "*b": * and ** must be whole segments`},
		{"a.***", `segment 2 "***": * and ** must be whole segments`},
		{"**.a", `segment 1 "**": ** must be the last segment`},
		{"a.**.b", `segment 2 "**": ** must be the last segment`},
		{"a.**.**", `segment 2 "**": ** must be the last segment`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			err := validateKeyPattern(tt.pattern)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validateKeyPattern(%q) = %v, want nil", tt.pattern, err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("validateKeyPattern(%q) = %v, want %q", tt.pattern, err, tt.want)
			}
		})
	}
}

// BenchmarkKeyIndexMatch matches a key that hits one exact pattern and one that
// misses, in indexes of 1 and 10,000 patterns: the time per match should not
// grow with the number of patterns.
func BenchmarkKeyIndexMatch(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		var ix keyIndex[int]
		for i, p := range benchKeyPatterns(n) {
			ix.add(p, i)
		}
		for _, key := range []struct{ name, key string }{
			{"hit", "svc0.evt0"},
			{"miss", "svc0.evt99999"},
		} {
			b.Run(fmt.Sprintf("patterns=%d/%s", n, key.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ix.match(key.key)
				}
			})
		}
	}
}

// benchKeyPatterns returns n trigger patterns: every 50th a `svcN.*` and the next
// a `svcN.**`, the others exact keys such as `svc123.evt1234`, ten per service.
func benchKeyPatterns(n int) []string {
	patterns := make([]string, n)
	for i := range patterns {
		switch i % 50 {
		case 1:
			patterns[i] = fmt.Sprintf("svc%d.*", i)
		case 2:
			patterns[i] = fmt.Sprintf("svc%d.**", i)
		default:
			patterns[i] = fmt.Sprintf("svc%d.evt%d", i/10, i)
		}
	}
	return patterns
}
