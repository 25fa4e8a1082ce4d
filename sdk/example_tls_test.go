package sdk_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"os"

	"github.com/switchyard/switchyard/sdk"
)

func ExampleWithTLSConfig() {
	// exampleTLSServerURL is such as "https://switchyard.internal:8443", whose
	// certificate a private CA issued; exampleCAFile holds that CA's
	// certificate, such as ca.crt.
	pem, err := os.ReadFile(exampleCAFile)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("no certificate in %s", exampleCAFile)
	}
	c := sdk.NewClient(exampleTLSServerURL, sdk.WithToken(exampleToken),
		sdk.WithTLSConfig(&tls.Config{RootCAs: roots}))

	res, err := c.Push(context.Background(), "invoice.paid", map[string]any{"invoice": "i1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored over TLS:", res.GetEvent().GetKey())
	// Output:
	// stored over TLS: invoice.paid
}
