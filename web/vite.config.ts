import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and passes the API's gRPC-Web
// calls (/switchyard.v1.*) to the server at SWITCHYARD_SERVER, so that the
// page and the API share an origin as they do when the server embeds the build.
declare const process: { env: Record<string, string | undefined> };
const apiServer = process.env.SWITCHYARD_SERVER ?? "http://127.0.0.1:8080";

// The build goes to internal/dashboard/dist, committed and embedded in the Go binary
// (internal/dashboard/embed.go). It must be deterministic: the same lockfile and sources give
// byte-identical files (make checkweb), and it carries no source maps.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "../internal/dashboard/dist",
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    port: 5173,
    proxy: {
      "^/switchyard\\.v1\\.": { target: apiServer, changeOrigin: true },
    },
  },
});
