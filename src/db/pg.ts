// The pg driver, for every module of ours (biome.json forbids importing 'pg'
// anywhere else). The first import loads it without its Cloudflare probe;
// ES modules evaluate their imports in order, so pg is cached by then and the
// second one only re-exports it, with pg's own types.

import './pgWithoutCloudflareProbe.js';

export { default } from 'pg';
