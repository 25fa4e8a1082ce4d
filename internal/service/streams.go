package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/auth"
)

// Long-lived streams are bounded per token on each server process, so that one
// credential cannot tie up a server's goroutines, memory and dispatch work.
const (
	// MaxListenStreamsPerToken bounds the workers that listen with one token on
	// one server. A worker's new Listen stream replaces its old one and takes
	// no second place.
	MaxListenStreamsPerToken = 64
	// MaxWatchStreamsPerToken bounds the WatchRun streams one token holds open
	// on one server.
	MaxWatchStreamsPerToken = 64
)

// streamLimit counts the open streams of one RPC per token. Streams are counted
// by key: streams with the same key (a worker's successive Listen streams)
// share one place.
type streamLimit struct {
	rpc string
	max int

	mu   sync.Mutex
	open map[string]map[string]int // token id → key → open streams
}

func newStreamLimit(rpc string, maxStreams int) *streamLimit {
	return &streamLimit{rpc: rpc, max: maxStreams, open: make(map[string]map[string]int)}
}

// acquire takes a place for a stream of key for the call's token, or returns
// resource_exhausted when the token's places are taken. release gives the
// place back.
func (l *streamLimit) acquire(ctx context.Context, key string) (release func(), err error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, errors.New("handler reached without an authenticated principal")
	}
	token := p.TokenID
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := l.open[token]
	if keys[key] == 0 && len(keys) >= l.max {
		return nil, connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("this token already holds %d %s streams on this server, the limit per token; close one first", l.max, l.rpc))
	}
	if keys == nil {
		keys = make(map[string]int)
		l.open[token] = keys
	}
	keys[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if keys[key]--; keys[key] == 0 {
				delete(keys, key)
			}
			if len(keys) == 0 {
				delete(l.open, token)
			}
		})
	}, nil
}
