// The dashboard page: a Preact app built by Vite into ../dist/web, which the dashboard server
// (../src/server.ts) serves. It imports the client SDK and the protocol package through their
// `browser` export conditions (no TCP, no Node); the one Node module left on the way, node:crypto
// (protocol ids that the page never makes), is a stub that throws if it ever were called.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  build: { outDir: here('../dist/web'), emptyOutDir: true, chunkSizeWarningLimit: 1_500 },
  resolve: { alias: { 'node:crypto': here('./shims/node-crypto.ts') } },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  logLevel: 'warn',
});
