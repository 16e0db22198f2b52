import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by the gateway at /console (CONSOLE_DIR); it calls the API on the same origin.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The gateway's Content-Security-Policy allows no inline script, and no data: module.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
