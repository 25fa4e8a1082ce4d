// A layered layout of a task DAG, left to right: each task sits one column
// after its deepest parent, and each column is ordered to keep edges short.

/** DagInput is one node: its name and its parents' names. */
export interface DagInput {
  name: string;
  parents: string[];
}

/** PlacedNode is a node with its box. */
export interface PlacedNode {
  name: string;
  x: number;
  y: number;
  layer: number;
}

/** Edge joins a parent's right side to a child's left side. */
export interface PlacedEdge {
  from: string;
  to: string;
  path: string;
}

/** Layout is the placed graph and the size of its drawing. */
export interface Layout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_W = 168;
export const NODE_H = 48;
const GAP_X = 64;
const GAP_Y = 20;
const PAD = 12;

/** layout places nodes in columns by depth; unknown parents are ignored and cycles are broken. */
export function layout(input: DagInput[]): Layout {
  const names = new Set(input.map((n) => n.name));
  const parents = new Map(input.map((n) => [n.name, n.parents.filter((p) => names.has(p) && p !== n.name)]));

  // Depth: the longest path from a root, computed with a visiting mark so
  // that a cycle (which the server refuses anyway) cannot loop forever.
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (n: string): number => {
    const known = depth.get(n);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(n)) {
      return 0;
    }
    visiting.add(n);
    let d = 0;
    for (const p of parents.get(n) ?? []) {
      d = Math.max(d, depthOf(p) + 1);
    }
    visiting.delete(n);
    depth.set(n, d);
    return d;
  };
  const layers: string[][] = [];
  for (const n of input) {
    const d = depthOf(n.name);
    (layers[d] ??= []).push(n.name);
  }
  for (let i = 0; i < layers.length; i++) {
    layers[i] ??= [];
  }

  // Order each column by the mean position of the node's parents (barycenter),
  // keeping the declared order among ties.
  const pos = new Map<string, number>();
  layers[0]?.forEach((n, i) => pos.set(n, i));
  for (let l = 1; l < layers.length; l++) {
    const keyed = layers[l].map((n, i) => {
      const ps = (parents.get(n) ?? []).filter((p) => pos.has(p));
      const bary = ps.length ? ps.reduce((s, p) => s + (pos.get(p) ?? 0), 0) / ps.length : i;
      return { n, bary, i };
    });
    keyed.sort((a, b) => a.bary - b.bary || a.i - b.i);
    layers[l] = keyed.map((k) => k.n);
    layers[l].forEach((n, i) => pos.set(n, i));
  }

  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const width = PAD * 2 + layers.length * NODE_W + Math.max(0, layers.length - 1) * GAP_X;
  const placed = new Map<string, PlacedNode>();
  layers.forEach((col, l) => {
    const colHeight = col.length * NODE_H + (col.length - 1) * GAP_Y;
    const top = (height - colHeight) / 2;
    col.forEach((name, i) => {
      placed.set(name, { name, layer: l, x: PAD + l * (NODE_W + GAP_X), y: top + i * (NODE_H + GAP_Y) });
    });
  });

  const edges: PlacedEdge[] = [];
  for (const n of input) {
    const to = placed.get(n.name)!;
    for (const p of parents.get(n.name) ?? []) {
      const from = placed.get(p)!;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      edges.push({ from: p, to: n.name, path: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}` });
    }
  }
  return { nodes: input.map((n) => placed.get(n.name)!), edges, width, height };
}
