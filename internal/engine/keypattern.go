package engine

import (
	"fmt"
	"strings"
)

// Event keys are segments separated by ".", such as `order.eu.paid`. A trigger
// names a key pattern: a literal segment matches itself, a `*` segment matches
// exactly one segment, and a final `**` segment matches one or more remaining
// segments (`order.**` matches `order.paid` and `order.eu.paid`, not `order`).
// A key's segments are what strings.Split(key, ".") returns, so a wildcard also
// matches an empty segment of a key such as `user.`; patterns have none.

// validateKeyPattern reports what is wrong with the structure of pattern p, or
// nil: no empty segments, `*` and `**` only as whole segments, `**` only last.
// The allowed characters and the length are checked by the API schema.
func validateKeyPattern(p string) error {
	segs := strings.Split(p, ".")
	for i, seg := range segs {
		var rule string
		switch {
		case seg == "":
			rule = "segments must not be empty"
		case seg == "**" && i < len(segs)-1:
			rule = "** must be the last segment"
		case seg != "*" && seg != "**" && strings.Contains(seg, "*"):
			rule = "* and ** must be whole segments"
		default:
			continue
		}
		return fmt.Errorf("segment %d %q: %s", i+1, seg, rule)
	}
	return nil
}

// keyIndex finds the values added under the key patterns that match an event
// key. Patterns without wildcards are found with one map lookup; the others in a
// trie over segments, so a match costs in proportion to the key's segments and
// the branches that match it, not to the number of patterns. The zero value is
// an empty index. add must not run concurrently with anything; match may run
// concurrently with itself.
type keyIndex[T any] struct {
	exact map[string][]keyEntry[T]
	wild  keyNode[T]
	adds  int
}

// keyEntry is a value added to a [keyIndex], numbered by its add call so that
// values found on different branches come out in the order they were added.
type keyEntry[T any] struct {
	seq int
	v   T
}

// keyNode is a node of the wildcard trie of a [keyIndex]; the path from the
// root spells the leading segments of the patterns below it.
type keyNode[T any] struct {
	children map[string]*keyNode[T] // by the next, literal segment
	star     *keyNode[T]            // the next segment is "*"
	end      []keyEntry[T]          // the pattern ends here
	rest     []keyEntry[T]          // the next and last segment is "**"
}

// add files v under pattern, which validateKeyPattern accepts.
func (ix *keyIndex[T]) add(pattern string, v T) {
	e := keyEntry[T]{seq: ix.adds, v: v}
	ix.adds++
	if !strings.Contains(pattern, "*") {
		if ix.exact == nil {
			ix.exact = make(map[string][]keyEntry[T])
		}
		ix.exact[pattern] = append(ix.exact[pattern], e)
		return
	}
	n := &ix.wild
	for {
		seg, tail, more := strings.Cut(pattern, ".")
		if seg == "**" {
			n.rest = append(n.rest, e)
			return
		}
		n = n.child(seg)
		if !more {
			n.end = append(n.end, e)
			return
		}
		pattern = tail
	}
}

// child returns the node for the next segment seg, creating it if needed.
func (n *keyNode[T]) child(seg string) *keyNode[T] {
	if seg == "*" {
		if n.star == nil {
			n.star = new(keyNode[T])
		}
		return n.star
	}
	c := n.children[seg]
	if c == nil {
		if n.children == nil {
			n.children = make(map[string]*keyNode[T])
		}
		c = new(keyNode[T])
		n.children[seg] = c
	}
	return c
}

// match returns the value of every add call whose pattern matches key, in the
// order of the calls: a value added under two matching patterns appears twice.
// The slice is the caller's; it is nil when nothing matches.
func (ix *keyIndex[T]) match(key string) []T {
	var buf [8][]keyEntry[T]
	found := buf[:0]
	if l := ix.exact[key]; len(l) > 0 {
		found = append(found, l)
	}
	found = ix.wild.collect(key, 0, found)
	return mergeEntries(found)
}

// collect appends to found the non-empty entry lists of n and of the nodes
// below it that match the segments of key from byte offset i on; i beyond the
// end of key means that no segment remains.
func (n *keyNode[T]) collect(key string, i int, found [][]keyEntry[T]) [][]keyEntry[T] {
	if i > len(key) {
		if len(n.end) > 0 {
			found = append(found, n.end)
		}
		return found
	}
	if len(n.rest) > 0 {
		found = append(found, n.rest)
	}
	seg, next := key[i:], len(key)+1
	if j := strings.IndexByte(seg, '.'); j >= 0 {
		seg, next = seg[:j], i+j+1
	}
	if c := n.children[seg]; c != nil {
		found = c.collect(key, next, found)
	}
	if n.star != nil {
		found = n.star.collect(key, next, found)
	}
	return found
}

// mergeEntries returns the values of lists, each in add order, merged into add
// order. It consumes lists. Few lists match one key, so each value is taken by
// a scan of their heads.
func mergeEntries[T any](lists [][]keyEntry[T]) []T {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	if total == 0 {
		return nil
	}
	out := make([]T, 0, total)
	for len(out) < total {
		first := -1
		for i, l := range lists {
			if len(l) > 0 && (first < 0 || l[0].seq < lists[first][0].seq) {
				first = i
			}
		}
		out = append(out, lists[first][0].v)
		lists[first] = lists[first][1:]
	}
	return out
}
