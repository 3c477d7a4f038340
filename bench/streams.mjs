// The streams scenario's client: N concurrent SSE chat-completion streams started over RAMP_MS,
// each timed from its request to its first event and between events, while the serving
// processes' RSS is sampled. Reports, never asserts.
import http from 'node:http';
import { readFileSync } from 'node:fs';

/** Resident set size (bytes) of a process. Linux /proc. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/**
 * Runs the streams against `ports` (stream i goes to ports[i % ports.length]) and samples the RSS
 * of `pids` together every 100 ms. `cpuMs(pid)` gives a process's CPU time.
 */
export async function driveStreams({ ports, pids, headers, body, path, streams, rampMs, cpuMs, probe = null, timeoutMs = 300_000 }) {
  const rssBefore = pids.reduce((n, p) => n + rssBytes(p), 0);
  const cpuBefore = pids.reduce((n, p) => n + cpuMs(p), 0);
  let peakRss = rssBefore;
  // `probe` (optional) reads a gauge of the serving side (upstream connections) now and then: its peak is reported
  let peakProbe = null;
  let probing = false;
  const sampler = setInterval(() => {
    const rss = pids.reduce((n, p) => n + rssBytes(p), 0);
    if (rss > peakRss) peakRss = rss;
    if (probe && !probing) {
      probing = true;
      probe().then(
        (v) => {
          if (peakProbe === null || v > peakProbe) peakProbe = v;
          probing = false;
        },
        () => (probing = false),
      );
    }
  }, 100);
  const firstChunk = [];
  const gaps = [];
  let completed = 0;
  let failed = 0;
  let open = 0;
  let maxOpen = 0;
  const t0 = performance.now();
  const one = (i) =>
    new Promise((resolve) => {
      const started = performance.now();
      let last = 0;
      let tail = '';
      let done = false;
      const finish = (ok) => {
        if (done) return;
        done = true;
        open--;
        if (ok) completed++;
        else failed++;
        resolve();
      };
      open++;
      if (open > maxOpen) maxOpen = open;
      const req = http.request(
        { host: '127.0.0.1', port: ports[i % ports.length], method: 'POST', path, agent: false, headers: { 'content-type': 'application/json', ...headers } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return res.on('end', () => finish(false));
          }
          res.on('data', (c) => {
            const now = performance.now();
            if (last === 0) firstChunk.push(now - started);
            else gaps.push(now - last);
            last = now;
            tail = (tail + c.toString('latin1')).slice(-32);
          });
          res.on('end', () => finish(tail.includes('[DONE]')));
          res.on('error', () => finish(false));
          res.on('close', () => finish(false));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy());
      req.on('error', () => finish(false));
      req.end(body);
    });
  const all = [];
  for (let i = 0; i < streams; i++) {
    const due = t0 + (rampMs * i) / streams;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    all.push(one(i));
  }
  await Promise.all(all);
  const elapsedMs = performance.now() - t0;
  clearInterval(sampler);
  const cpu = pids.reduce((n, p) => n + cpuMs(p), 0) - cpuBefore;
  firstChunk.sort((a, b) => a - b);
  gaps.sort((a, b) => a - b);
  return {
    streams,
    completed,
    failed,
    maxOpen,
    firstP50: quantile(firstChunk, 0.5),
    firstP99: quantile(firstChunk, 0.99),
    gapP99: quantile(gaps, 0.99),
    elapsedS: elapsedMs / 1000,
    rssBefore,
    peakRss,
    cpuSPer1000: (cpu / 1000) * (1000 / streams),
    peakProbe,
  };
}
