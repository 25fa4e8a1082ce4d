package service

import (
	"errors"
	"slices"
	"strings"
	"unicode"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

// Error messages and log lines quote what a client sent only in short
// excerpts: a rejected request may carry a secret (a token pasted into the
// wrong field, a signed payload), and neither the answer nor the server's logs
// should repeat it.
const (
	// MaxQuoted is the longest run of characters from a request that a message
	// keeps whole.
	MaxQuoted = 64
	// excerptLen is how much of a longer run is kept.
	excerptLen = 24
)

// Excerpt returns s with every run of more than [MaxQuoted] characters that
// holds no space, quote, bracket or separator cut to its first 24 characters
// and "…". Words, field paths, ids and patterns stay whole; a long opaque
// value does not.
func Excerpt(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && !delimits(rs[j]) {
			j++
		}
		switch {
		case j == i:
			b.WriteRune(rs[i])
			j++
		case j-i > MaxQuoted:
			b.WriteString(string(rs[i : i+excerptLen]))
			b.WriteString("…")
		default:
			b.WriteString(string(rs[i:j]))
		}
		i = j
	}
	return b.String()
}

func delimits(r rune) bool {
	if unicode.IsSpace(r) {
		return true
	}
	switch r {
	case '"', '\'', '`', '[', ']', '(', ')', '{', '}', '<', '>', ',', ';':
		return true
	}
	return false
}

// excerptError returns ce with its message, the messages and map keys of its
// violations and its error facts cut by [Excerpt]; ce itself when nothing is
// cut.
func excerptError(ce *connect.Error) *connect.Error {
	msg := Excerpt(ce.Message())
	changed := msg != ce.Message()
	details := slices.Clone(ce.Details())
	for i, d := range details {
		v, err := d.Value()
		if err != nil || !excerptDetail(v) {
			continue
		}
		if nd, err := connect.NewErrorDetail(v); err == nil {
			details[i], changed = nd, true
		}
	}
	if !changed {
		return ce
	}
	out := connect.NewError(ce.Code(), errors.New(msg))
	for k, vs := range ce.Meta() {
		out.Meta()[k] = vs
	}
	for _, d := range details {
		out.AddDetail(d)
	}
	return out
}

// excerptDetail cuts the quoted request text in an error detail in place and
// reports whether it cut anything.
func excerptDetail(v proto.Message) bool {
	cut := func(s *string) bool {
		e := Excerpt(*s)
		if e == *s {
			return false
		}
		*s = e
		return true
	}
	changed := false
	switch v := v.(type) {
	case *validate.Violations:
		for _, viol := range v.GetViolations() {
			if viol.Message != nil && cut(viol.Message) {
				changed = true
			}
			for _, el := range viol.GetField().GetElements() {
				if k, ok := el.GetSubscript().(*validate.FieldPathElement_StringKey); ok && cut(&k.StringKey) {
					changed = true
				}
			}
		}
	case *errdetails.ErrorInfo:
		for key, val := range v.GetMetadata() {
			if cut(&val) {
				v.Metadata[key], changed = val, true
			}
		}
	}
	return changed
}
