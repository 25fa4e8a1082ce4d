package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// loadServerTLS reads the certificate (with its chain) and key of --tls-cert and
// --tls-key, so that a bad file stops serve before it listens; it returns nil
// without them.
func loadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// loadCAFile reads the PEM CA certificates of --ca-file, which client commands
// then trust instead of the system's roots, as curl --cacert does.
func loadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// tlsHint says how to fix a connection that failed its TLS handshake, in terms
// of the client's flags, or returns "" for other errors.
func tlsHint(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return "the server's certificate was not issued by a CA this client trusts (those in --ca-file when given, the system's otherwise): " +
			"pass the certificate of the CA that issued it with --ca-file PATH (or SWITCHYARD_CA_FILE)"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the server's certificate is not for %s: use a --server host that the certificate names", hostname.Host)
	case errors.As(err, &invalid):
		return "the server's certificate is not valid now or not for servers: the server needs a new one"
	}
	return ""
}
