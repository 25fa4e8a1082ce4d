package server

import (
	"context"
	"net/http"
)

// restKey marks the context of a call that came in on a REST route. Vanguard
// hands such calls to the Connect handlers as Connect requests, so only this
// mark tells them apart (for logs and metrics).
type restKey struct{}

// markREST marks every request it passes on as a REST call.
func markREST(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), restKey{}, true)))
	})
}

// isREST reports whether the call of ctx came in on a REST route.
func isREST(ctx context.Context) bool {
	rest, _ := ctx.Value(restKey{}).(bool)
	return rest
}

// protocolOf names the protocol a call came in on: "rest" for the REST routes,
// else connect-go's name ("connect", "grpc", "grpcweb").
func protocolOf(ctx context.Context, peerProtocol string) string {
	if isREST(ctx) {
		return "rest"
	}
	return peerProtocol
}
