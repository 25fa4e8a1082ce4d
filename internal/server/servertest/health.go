package servertest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
)

// The probes' clients, shared so that polling opens no connection per probe
// (gRPC) or keeps none open (HTTP).
var (
	grpcHealthClient = HTTP2Client()
	probeClient      = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
)

// GRPCHealth asks the server at url for the health of service ("" for the
// whole server) over gRPC, as a load balancer would, without a token.
func GRPCHealth(url, service string) (grpchealth.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := grpchealth.NewClient(grpcHealthClient, url, connect.WithGRPC()).Check(ctx, &grpchealth.CheckRequest{Service: service})
	if err != nil {
		return grpchealth.StatusUnknown, err
	}
	return res.Status, nil
}

// Probe GETs path (such as "/readyz") on the server at url without a token, as
// an orchestrator would, and returns the status and the trimmed body.
func Probe(url, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := probeClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(body)), err
}
