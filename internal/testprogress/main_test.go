package main

import (
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		in         string
		wantStatus int
		want       []string
		wantNot    []string
	}{
		{
			name: "pass",
			in: `{"Action":"start","Package":"p/a"}
{"Action":"run","Package":"p/a","Test":"TestOne"}
{"Action":"output","Package":"p/a","Test":"TestOne","Output":"=== RUN   TestOne\n"}
{"Action":"pass","Package":"p/a","Test":"TestOne","Elapsed":0.1}
{"Action":"skip","Package":"p/a","Test":"TestTwo","Elapsed":0}
{"Action":"output","Package":"p/a","Output":"ok  \tp/a\t0.2s\n"}
{"Action":"pass","Package":"p/a","Elapsed":0.2}
{"Action":"skip","Package":"p/b","Elapsed":0}
`,
			want:    []string{"ok   p/a", "1 passed, 0 failed, 1 skipped  [1 done", "--   p/b", "PASS: 2 packages"},
			wantNot: []string{"=== RUN"},
		},
		{
			name: "a failed test",
			in: `{"Action":"output","Package":"p/a","Test":"TestBad","Output":"    bad_test.go:9: got 1, want 2\n"}
{"Action":"fail","Package":"p/a","Test":"TestBad","Elapsed":0.1}
{"Action":"output","Package":"p/a","Output":"FAIL\n"}
{"Action":"fail","Package":"p/a","Elapsed":0.3}
{"Action":"pass","Package":"p/b","Elapsed":0.2}
`,
			wantStatus: 1,
			want:       []string{"--- FAIL: TestBad (p/a)\n    bad_test.go:9: got 1, want 2\n", "FAIL p/a", "ok   p/b", "FAIL (1 of 2 packages failed"},
		},
		{
			name: "a build error",
			in: `{"ImportPath":"p/c","Action":"build-output","Output":"p/c/x.go:3:1: syntax error\n"}
{"ImportPath":"p/c","Action":"build-fail"}
{"Action":"output","Package":"p/c","Output":"FAIL\tp/c [build failed]\n"}
{"Action":"fail","Package":"p/c","Elapsed":0}
`,
			wantStatus: 1,
			want:       []string{"p/c/x.go:3:1: syntax error", "FAIL\tp/c [build failed]", "FAIL p/c"},
		},
		{
			name:       "no results",
			in:         "go: no packages to test\n",
			wantStatus: 1,
			want:       []string{"go: no packages to test", "no package results"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			status := run(strings.NewReader(tc.in), &out, time.Now())
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
