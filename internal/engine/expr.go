package engine

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
)

// An error shows an expression line of up to exprLineShown characters whole;
// of a longer line, exprSnippet characters on either side of the problem:
// enough to find it, not enough to repeat a long expression (or a secret
// pasted into it).
const (
	exprLineShown = 64
	exprSnippet   = 16
)

// exprError describes why an expression did not compile: each problem's line,
// column and message, then the expression around it with a caret under it.
func exprError(expr string, iss *cel.Issues) error {
	var b strings.Builder
	for i, e := range iss.Errors() {
		if i > 0 {
			b.WriteByte('\n')
		}
		line, col := e.Location.Line(), e.Location.Column()
		fmt.Fprintf(&b, "ERROR: <input>:%d:%d: %s", line, col+1, e.Message)
		lines := strings.Split(expr, "\n")
		if line < 1 || line > len(lines) {
			continue
		}
		src := []rune(strings.ReplaceAll(lines[line-1], "\t", " "))
		col = min(max(col, 0), len(src))
		from, to := 0, len(src)
		if len(src) > exprLineShown {
			from, to = max(col-exprSnippet, 0), min(col+exprSnippet+1, len(src))
		}
		snippet, caret := string(src[from:to]), strings.Repeat(".", col-from)+"^"
		if from > 0 {
			snippet, caret = "…"+snippet, "."+caret
		}
		if to < len(src) {
			snippet += "…"
		}
		b.WriteString("\n | " + snippet + "\n | " + caret)
	}
	return errors.New(b.String())
}
