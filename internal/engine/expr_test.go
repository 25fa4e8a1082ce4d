package engine

import (
	"strings"
	"testing"
)

// TestExprErrorExcerpt: a compile error names the position and shows the
// expression around it, with a caret under the problem, but never the whole of
// a long expression.
func TestExprErrorExcerpt(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s3cr3t", 40)
	tests := []struct {
		expr string
		want string
	}{
		{`metadta.region == "eu"`, "ERROR: <input>:1:1: undeclared reference to 'metadta' (in container '')\n | metadta.region == \"eu\"\n | ^"},
		{`payload.amount > 100 && metadta.region == "eu"`, "ERROR: <input>:1:25: undeclared reference to 'metadta' (in container '')\n | payload.amount > 100 && metadta.region == \"eu\"\n | ........................^"},
		{`payload.amount > 100 && payload.currency == "EUR" && metadta.region == "eu"`, "ERROR: <input>:1:54: undeclared reference to 'metadta' (in container '')\n | …ncy == \"EUR\" && metadta.region ==…\n | .................^"},
		{"payload.token == '" + secret + "' &&", "ERROR: <input>:1:263: Syntax error: mismatched input '<EOF>' expecting"},
	}
	for _, tc := range tests {
		_, err := compileFilter(tc.expr)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("compile %.40q: %v\nwant it to start with %q", tc.expr, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret[:40]) {
			t.Errorf("compile %.40q: the error repeats the expression: %v", tc.expr, err)
		}
	}
}
