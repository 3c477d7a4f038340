// A slow OpenAI-like upstream for the streams scenario: every chat completion is an SSE stream of
// CHUNKS content events GAP_MS apart (then the usage event when asked, then [DONE]), like a model
// generating. Same stub for both paths. Usage: node bench/stream-stub.mjs <port> <chunks> <gapMs>
// [<cert.pem> <key.pem>]: with a certificate it serves TLS, offering HTTP/2 and HTTP/1.1 (ALPN).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
const [port = 19010, chunks = 20, gapMs = 100] = process.argv.slice(2, 5).map(Number);
const [certFile, keyFile] = process.argv.slice(5);
const usage = { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks };
const handler = (req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    let body = {};
    try { body = JSON.parse(Buffer.concat(parts).toString() || '{}'); } catch {}
    if (req.url === '/__ready') return res.end('ok');
    const withUsage = body.stream_options?.include_usage === true;
    const event = (choices, extra = {}) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: body.model ?? 'gpt-4o-mini', choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let sent = 0;
    const next = () => {
      if (res.destroyed) return;
      if (sent < chunks) {
        res.write(event([{ index: 0, delta: sent === 0 ? { role: 'assistant', content: 'tok ' } : { content: 'tok ' }, finish_reason: null }]));
        sent++;
        return void setTimeout(next, gapMs);
      }
      res.write(event([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      if (withUsage) res.write(event([], { usage }));
      res.end('data: [DONE]\n\n');
    };
    next();
  });
};
const server = certFile
  ? http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true, settings: { maxConcurrentStreams: 1000 } }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log('stream stub on', port));
