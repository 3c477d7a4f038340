// `node bench/profile-top.mjs file.cpuprofile [n]`: the functions where a CPU profile spent its
// time, by self time and by total (inclusive) time, as percentages of all samples.
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;

const short = (url) => url.replace(/^.*node_modules\//, '~/').replace(/^.*\/dist\/apps\/[^/]+\//, '').replace(/^file:\/\//, '');
const name = (node) => {
  const f = node.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
};
const self = new Map();
const inclusive = new Map();
for (const [id, count] of hits) {
  const key = name(nodes.get(id));
  self.set(key, (self.get(key) ?? 0) + count);
  // each function counted once per sample, however deep its recursion
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const k = name(nodes.get(at));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + count);
  }
}
const print = (title, map) => {
  console.log(`\n${title} (${total} samples)`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`${((100 * v) / total).toFixed(1).padStart(6)}%  ${k}`);
};
print('self time', self);
print('total time', inclusive);

// `... file n callee`: also who calls `callee` (the stacks leading to it, by share of its samples)
const callee = process.argv[4];
if (callee) {
  const stacks = new Map();
  for (const [id, c] of hits) {
    const chain = [];
    let at = id;
    while (at !== undefined && !name(nodes.get(at)).startsWith(callee)) at = parent.get(at);
    if (at === undefined) continue;
    for (let p = parent.get(at), depth = 0; p !== undefined && depth < 8; p = parent.get(p), depth++) chain.push(name(nodes.get(p)).split(' ')[0]);
    const k = chain.join(' < ');
    stacks.set(k, (stacks.get(k) ?? 0) + c);
  }
  console.log(`\ncallers of ${callee}`);
  for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${((100 * v) / total).toFixed(1).padStart(6)}%  ${k}`);
}
