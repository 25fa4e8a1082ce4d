// Package dashboard holds the built Switchyard dashboard (the React app in web/,
// talking to the API over gRPC-Web with connect-web): its Vite build output in dist/
// is committed and embedded in the binary, so that `switchyard serve` needs no
// Node.js and no separate web server.
package dashboard

import (
	"embed"
	"io/fs"
)

// dist is the Vite build output; "all:" keeps files whose names begin with a
// dot or an underscore, which bundlers may emit.
//
//go:embed all:dist
var dist embed.FS

// Assets returns the built dashboard: index.html at its root and the hashed
// bundles under assets/, ready for the server's Dashboard option.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid directory name, and "dist" is valid.
		panic(err)
	}
	return sub
}
