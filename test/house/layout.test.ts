/**
 * The house rules, checked: folders of src/ import one way only (each from the folders below it
 * in LAYERS), so there is no cycle between folders; and every folder's README names each of its
 * source files and no file that is not there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = path.join(ROOT, 'src');

/** Bottom to top: a folder may import from the folders before it, never after. */
const LAYERS = ['core', 'physics', 'io', 'synth', 'data', 'engine', 'scan', 'evaluate', 'web', 'monitor', 'train', 'study', 'queue', 'cli'];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Folder-to-folder imports of src/: `from`, dynamic `import(...)` and worker URLs. */
export function folderEdges(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const f of tsFiles(SRC)) {
    const from = path.relative(SRC, f).split(path.sep)[0]!;
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(f), m[1]!);
      if (!target.startsWith(SRC + path.sep)) continue;
      const to = path.relative(SRC, target).split(path.sep)[0]!;
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }
  return edges;
}

test('every folder of src/ is a layer, and imports point one way (down the layers): no cycle between folders', () => {
  const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.deepEqual(folders, [...LAYERS].sort(), 'a new folder needs a place in LAYERS');
  const edges = folderEdges();
  const upward: string[] = [];
  for (const [from, tos] of edges) {
    for (const to of tos) if (LAYERS.indexOf(to) >= LAYERS.indexOf(from)) upward.push(`${from} -> ${to}`);
  }
  assert.deepEqual(upward, [], 'imports that point up or sideways');
  // The graph is a DAG (implied by the order; checked directly so a broken LAYERS list cannot hide a cycle).
  const state = new Map<string, 0 | 1 | 2>();
  const visit = (n: string, trail: string[]): void => {
    if (state.get(n) === 2) return;
    assert.notEqual(state.get(n), 1, `import cycle: ${[...trail, n].join(' -> ')}`);
    state.set(n, 1);
    for (const m of edges.get(n) ?? []) visit(m, [...trail, n]);
    state.set(n, 2);
  };
  for (const n of LAYERS) visit(n, []);
  // The graph is not trivially empty: the CLI reaches the library.
  assert.ok((edges.get('cli')?.size ?? 0) >= 5);
});

test("every folder's README names each of its files, and only files that exist", () => {
  const dirs = [...LAYERS.map((l) => path.join(SRC, l)), path.join(ROOT, 'bench'), path.join(ROOT, 'tools'), path.join(ROOT, 'test', 'helpers')];
  for (const dir of dirs) {
    const readme = path.join(dir, 'README.md');
    assert.ok(fs.existsSync(readme), `${path.relative(ROOT, dir)} has no README.md`);
    const text = fs.readFileSync(readme, 'utf8');
    const files = tsFiles(dir).map((f) => path.relative(dir, f).split(path.sep).join('/'));
    for (const f of files) {
      const base = path.basename(f);
      assert.ok(text.includes(base) || text.includes(f), `${path.relative(ROOT, readme)} does not name ${f}`);
    }
    const named = new Set([...text.matchAll(/`?([\w./-]+\.ts)`?/g)].map((m) => m[1]!).filter((n) => !n.includes('/') || !n.startsWith('.')));
    const all = new Set(files.flatMap((f) => [f, path.basename(f)]));
    for (const n of named) {
      if (n.includes('/') && !all.has(n) && fs.existsSync(path.join(ROOT, n))) continue; // a path from the repo root
      assert.ok(all.has(n) || all.has(path.basename(n)) || fs.existsSync(path.join(SRC, n)), `${path.relative(ROOT, readme)} names ${n}, which is not there`);
    }
  }
});
