// Loads pg (into Node's module cache) without its Cloudflare Workers probe.
//
// pg asks, once, when it loads, whether it runs on Cloudflare Workers: by
// `navigator.userAgent` where there is a navigator (Node ≥ 21), otherwise by
// constructing a `Response`. On Node 20 that first `Response` loads all of
// undici (fetch), which nothing of ours on the CLI path uses: about 15 ms and
// its garbage in every data command's start-up (README, Performance). So the
// global `Response` is hidden while pg loads, and pg takes its Node.js sockets,
// which is the truth here. The load is synchronous, so no other code runs in
// between, and the global's own descriptor (a lazy getter) is put back as it
// was, still unloaded. Imported only by ./pg.ts.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
if (response?.configurable) {
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    require('pg');
  } finally {
    Object.defineProperty(globalThis, 'Response', response);
  }
}
