// `node bench/profile-diff.mjs a.cpuprofile callsA b.cpuprofile callsB [n]`: where two CPU
// profiles of the same process kind differ, per call: each function's self time in µs per call
// in A and in B, largest difference first. E.g. the bench's proxy.cpuprofile against
// proxy-no-record.cpuprofile (BENCH_PROFILE), each divided by the calls its profiled round served
// (that round's req/s × BENCH_SECONDS, 8 by default).
import { readFileSync } from 'node:fs';

const [fileA, callsA, fileB, callsB, n = '40'] = process.argv.slice(2);
if (!fileB) {
  console.error('usage: node bench/profile-diff.mjs a.cpuprofile callsA b.cpuprofile callsB [n]');
  process.exit(2);
}

const short = (url) => url.replace(/^.*node_modules\//, '~/').replace(/^.*\/dist\/apps\/[^/]+\//, '').replace(/^file:\/\//, '');

/** Self time in µs by function (name, file, line), from the samples' time deltas. */
function selfTime(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const us = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${short(url)}${url ? `:${lineNumber + 1}` : ''}`.trim();
    us.set(key, (us.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return us;
}

const a = selfTime(fileA);
const b = selfTime(fileB);
const rows = [...new Set([...a.keys(), ...b.keys()])]
  .map((key) => ({ key, a: (a.get(key) ?? 0) / Number(callsA), b: (b.get(key) ?? 0) / Number(callsB) }))
  .sort((x, y) => Math.abs(y.a - y.b) - Math.abs(x.a - x.b));
const busy = (m, calls) => [...m].filter(([k]) => !k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0) / Number(calls);
console.log(`busy µs per call: A ${busy(a, callsA).toFixed(1)}, B ${busy(b, callsB).toFixed(1)}`);
console.log('      A        B    A − B  function');
for (const r of rows.slice(0, Number(n))) console.log(`${r.a.toFixed(1).padStart(7)}  ${r.b.toFixed(1).padStart(7)}  ${(r.a - r.b).toFixed(1).padStart(7)}  ${r.key}`);
