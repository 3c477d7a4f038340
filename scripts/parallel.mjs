#!/usr/bin/env node
// Runs shell commands at once and fails if any fails: `npm run build` compiles the api, the
// proxy and the CLI (one single-threaded tsc program each) and the console side by side, and
// `npm test` type-checks while it builds. Each command's output is printed whole when it ends,
// so the outputs do not interleave.
//   node scripts/parallel.mjs "nest build api" "nest build proxy" ...
import { spawn } from 'node:child_process';

const commands = process.argv.slice(2);
if (commands.length === 0) {
  process.stderr.write('usage: node scripts/parallel.mjs "<command>" ["<command>" ...]\n');
  process.exit(2);
}

const run = (command) =>
  new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('error', (err) => out.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString();
      if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      if (code !== 0) process.stderr.write(`failed (${signal ?? `exit ${code}`}): ${command}\n`);
      resolve(code === 0);
    });
  });

const results = await Promise.all(commands.map(run));
process.exit(results.every(Boolean) ? 0 : 1);
