#!/usr/bin/env node
// serve.js — a static file server for the seat-map page, on 127.0.0.1 only.
//
//   node examples/web/serve.js [PORT]     (PORT 0 or none: a free one)
//
// Serves the examples/ directory read-only (the page is /web/index.html; it
// imports the shared error catalogue from /node/lib/answers.js and
// postgrest-js from /web/node_modules), no bundler. Prints its page URL as the
// first line of stdout; stops on SIGTERM/SIGINT.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
                '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const file = path.join(ROOT, path.normalize(decodeURIComponent(url.pathname)));
  if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405);
  if (!file.startsWith(ROOT + path.sep)) return end(res, 403);
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return end(res, 404);
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
                         'Content-Length': st.size, 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  });
});

function end(res, status) {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(`${status}\n`);
}

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}/web/index.html`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
