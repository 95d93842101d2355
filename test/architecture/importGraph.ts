// The import graph of src/ between folders, read from the source text: every
// static `import … from`, `export … from` and dynamic `import('…')` with a
// relative specifier. A file directly under src/ (errors.ts) is its own node.
//
// Rules: no cycle between folders (a dynamic import hiding one still counts),
// and the bottom layers import nothing above them: src/db only itself and
// errors.ts, src/engine only itself, db and errors.ts.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  from: string;
  to: string;
  /** file:line of one import that makes the edge, for the message. */
  at: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g;

export const LAYER_ALLOWED: Record<string, string[]> = {
  db: ['errors'],
  engine: ['db', 'errors'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.ts$/.test(entry) && !entry.endsWith('.d.ts') ? [full] : [];
  });
}

function nodeOf(srcDir: string, file: string): string | null {
  const relative = path.relative(srcDir, file);
  if (relative.startsWith('..')) return null;
  const [first, ...rest] = relative.split(path.sep);
  return rest.length === 0 ? first!.replace(/\.[jt]s$/, '') : first!;
}

/** Edges between different nodes, one per (from, to), each with the first place it occurs. */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges = new Map<string, ImportEdge>();
  for (const file of sourceFiles(srcDir)) {
    const from = nodeOf(srcDir, file)!;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const match of line.matchAll(SPECIFIER)) {
        const to = nodeOf(srcDir, path.resolve(path.dirname(file), match[1]!));
        if (to === null || to === from || edges.has(`${from}->${to}`)) continue;
        edges.set(`${from}->${to}`, { from, to, at: `${path.relative(srcDir, file)}:${index + 1}` });
      }
    });
  }
  return [...edges.values()].sort((a, b) => `${a.from}->${a.to}`.localeCompare(`${b.from}->${b.to}`));
}

/** Edges that lie on a cycle: both ends in one strongly connected component (Tarjan). */
export function cyclicEdges(edges: ImportEdge[]): ImportEdge[] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const component = new Map<string, number>();
  const stack: string[] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (!component.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        component.set(member, index.get(node)!);
        if (member === node) break;
      }
    }
  };
  for (const node of new Set(edges.flatMap((e) => [e.from, e.to]))) if (!index.has(node)) visit(node);
  return edges.filter((e) => component.get(e.from) === component.get(e.to));
}

/** Edges from a bottom layer to anything it may not use. */
export function layerViolations(edges: ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => LAYER_ALLOWED[e.from] !== undefined && !LAYER_ALLOWED[e.from]!.includes(e.to));
}

export function describeEdges(edges: ImportEdge[]): string[] {
  return edges.map((e) => `${e.from} -> ${e.to} (${e.at})`);
}
