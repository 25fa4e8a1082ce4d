package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoFile reads a file of the repository, by its path from the root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeGoInstall: the README's go install line names this command's
// import path (the module's path and cmd/switchyard).
func TestReadmeGoInstall(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(repoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod names no module")
	}
	want := "go install " + m[1] + "/cmd/switchyard@latest"
	if !strings.Contains(repoFile(t, "README.md"), "    "+want) {
		t.Errorf("README.md has no command line %q", want)
	}
}

var (
	mdLinkRe    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeadingRe = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
)

// mdAnchor is the anchor GitHub gives a heading.
func mdAnchor(heading string) string {
	a := strings.ToLower(strings.TrimSpace(heading))
	a = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`).ReplaceAllString(a, "")
	return strings.ReplaceAll(a, " ", "-")
}

// TestDocsLinks: every relative link of the README and docs/ reaches a file
// of the repository and, when it names one, a heading of that file.
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	files := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(docs) < 10 {
		t.Fatalf("docs/*.md: %d files (%v), want the README's topics", len(docs), err)
	}
	for _, d := range docs {
		files = append(files, "docs/"+filepath.Base(d))
	}
	anchors := func(rel string) map[string]bool {
		set := map[string]bool{}
		for _, m := range mdHeadingRe.FindAllStringSubmatch(repoFile(t, rel), -1) {
			set[mdAnchor(m[1])] = true
		}
		return set
	}
	links := 0
	for _, f := range files {
		for _, m := range mdLinkRe.FindAllStringSubmatch(repoFile(t, f), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			path, anchor, _ := strings.Cut(target, "#")
			rel := f
			if path != "" {
				rel = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(f), path)))
				if _, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(rel))); err != nil {
					t.Errorf("%s: link %s: no file %s", f, target, rel)
					continue
				}
			}
			if anchor != "" && !anchors(rel)[anchor] {
				t.Errorf("%s: link %s: %s has no heading #%s", f, target, rel, anchor)
			}
		}
	}
	if links < 30 {
		t.Errorf("%d relative links in the README and docs/, want the table of contents' and more", links)
	}
}
