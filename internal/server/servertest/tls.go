package servertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// CA is a certificate authority made for tests: it issues server certificates,
// and clients that trust it use Pool.
type CA struct {
	// Pool holds the CA certificate and nothing else.
	Pool *x509.CertPool
	// CertPEM is the CA certificate in PEM, as --ca-file and curl --cacert take
	// it.
	CertPEM []byte

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// TestCA is the CA that issues the certificates of test servers started with
// [Options].TLS; it is made once per process.
var TestCA = sync.OnceValue(func() *CA {
	ca, err := NewCA()
	if err != nil {
		panic(err)
	}
	return ca
})

// NewCA makes a certificate authority with a new key.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{Organization: []string{"Switchyard tests"}, CommonName: "Switchyard test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		Pool:    pool,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		cert:    cert,
		key:     key,
	}, nil
}

// Issue returns a server certificate for hosts (IP addresses or DNS names) and
// its key, both in PEM, as `switchyard serve --tls-cert --tls-key` read them.
func (ca *CA) Issue(hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("issue a certificate: no hosts")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{Organization: []string{"Switchyard tests"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("server key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// serverTLS returns the TLS config of a test server on 127.0.0.1, with a
// certificate from [TestCA]; the server's protocols add ALPN.
func serverTLS() (*tls.Config, error) {
	certPEM, keyPEM, err := TestCA().Issue("127.0.0.1")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func serialNumber() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// HTTP1TLSClient speaks HTTP/1.1 over TLS, trusting roots: it offers only
// http/1.1 in ALPN, as a browser or proxy without HTTP/2 does.
func HTTP1TLSClient(roots *x509.CertPool) *http.Client {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
		Protocols:           protocols,
		MaxIdleConnsPerHost: 64,
	}}
}

// HTTP2TLSClient speaks HTTP/2 over TLS, trusting roots: it offers only h2 in
// ALPN, as gRPC clients do.
func HTTP2TLSClient(roots *x509.CertPool) *http.Client {
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		Protocols:       protocols,
	}}
}

// ProtocolsTLS returns the protocols of [Protocols] over HTTPS to a server
// started with [Options].TLS, with clients that trust roots (such as
// TestCA().Pool): the h1 ones negotiate HTTP/1.1 and the h2 ones HTTP/2, by
// ALPN. Their names end in "+tls".
func ProtocolsTLS(roots *x509.CertPool) []Protocol {
	h1, h2 := HTTP1TLSClient(roots), HTTP2TLSClient(roots)
	return []Protocol{
		{Name: "connect-json/h1+tls", TLS: true, HTTP: h1, Options: []connect.ClientOption{connect.WithProtoJSON()}},
		{Name: "connect-json/h2+tls", TLS: true, HTTP: h2, Options: []connect.ClientOption{connect.WithProtoJSON()}},
		{Name: "connect-proto/h1+tls", TLS: true, HTTP: h1},
		{Name: "connect-proto/h2+tls", TLS: true, HTTP: h2},
		{Name: "grpc/h2+tls", TLS: true, HTTP: h2, Options: []connect.ClientOption{connect.WithGRPC()}},
		{Name: "grpc-web/h1+tls", TLS: true, HTTP: h1, Options: []connect.ClientOption{connect.WithGRPCWeb()}},
		{Name: "grpc-web/h2+tls", TLS: true, HTTP: h2, Options: []connect.ClientOption{connect.WithGRPCWeb()}},
		{Name: "rest/h1+tls", TLS: true, REST: true, HTTP: h1},
		{Name: "rest/h2+tls", TLS: true, REST: true, HTTP: h2},
	}
}
