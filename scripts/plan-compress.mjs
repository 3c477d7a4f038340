// Shortens EXPLAIN output over a partitioned table for reading: of a run of sibling plan nodes
// that differ only in their partition, numbers and aliases (one per day partition), the first
// and the last are kept and the ones between become one line that says how many.
//
//   node scripts/plan-compress.mjs < plans.md > shorter.md     (or import { compressPlan })

/** A node's lines: its `->` line and every line indented deeper, up to the next sibling. */
function blocks(lines, from, indent) {
  const out = [];
  let i = from;
  while (i < lines.length) {
    const m = /^(\s*)->  /.exec(lines[i]);
    if (!m || m[1].length !== indent) break;
    let j = i + 1;
    while (j < lines.length && /^(\s*)/.exec(lines[j])[1].length > indent) j++;
    out.push(lines.slice(i, j));
    i = j;
  }
  return { blocks: out, next: i };
}

const shape = (block) =>
  block
    .map((l) =>
      l
        .replace(/audit_log_(\d{8}|default)/g, 'audit_log_P')
        .replace(/\b(a|audit_log|r)_\d+\b/g, '$1_N')
        .replace(/\d+(\.\d+)?/g, '#'),
    )
    .join('\n');

export function compressPlan(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const m = /^(\s*)->  /.exec(lines[i]);
    if (!m) {
      out.push(lines[i++]);
      continue;
    }
    const { blocks: siblings, next } = blocks(lines, i, m[1].length);
    let k = 0;
    while (k < siblings.length) {
      let run = 1;
      while (k + run < siblings.length && shape(siblings[k + run]) === shape(siblings[k])) run++;
      if (run >= 4) {
        out.push(...compressPlan(siblings[k]));
        const between = siblings.slice(k + 1, k + run - 1);
        const rows = between.reduce((n, b) => n + Number(/actual time=\S+ rows=(\d+)/.exec(b[0])?.[1] ?? 0), 0);
        const pruned = between.filter((b) => b[0].includes('(never executed)')).length;
        out.push(`${m[1]}   … ${run - 2} more partitions, the same plan (${pruned ? `${pruned} never executed, ` : ''}actual rows ${rows} in all) …`);
        out.push(...compressPlan(siblings[k + run - 1]));
      } else {
        for (let r = 0; r < run; r++) {
          const [head, ...rest] = siblings[k + r];
          out.push(head, ...compressPlan(rest));
        }
      }
      k += run;
    }
    i = next;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c) => (text += c));
  process.stdin.on('end', () => process.stdout.write(compressPlan(text.split('\n')).join('\n')));
}
