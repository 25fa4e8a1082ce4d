package servertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
)

// LogSink collects a server's JSON log lines; it is safe for concurrent use.
type LogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the lines logged.
func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything logged so far.
func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Logger logs JSON lines at level and above into s.
func (s *LogSink) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: level}))
}

// Lines returns every line logged with msg, decoded.
func (s *LogSink) Lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		if line["msg"] == msg {
			out = append(out, line)
		}
	}
	return out
}
