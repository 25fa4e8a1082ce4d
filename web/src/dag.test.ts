import { describe, expect, test } from "vitest";
import { layout, NODE_W } from "./dag";

describe("layout", () => {
  test("puts each task one column after its deepest parent", () => {
    const g = layout([
      { name: "validate", parents: [] },
      { name: "charge", parents: ["validate"] },
      { name: "reserve", parents: ["validate"] },
      { name: "ship", parents: ["charge", "reserve"] },
    ]);
    const layer = Object.fromEntries(g.nodes.map((n) => [n.name, n.layer]));
    expect(layer).toEqual({ validate: 0, charge: 1, reserve: 1, ship: 2 });
    expect(g.edges.map((e) => `${e.from}>${e.to}`)).toEqual([
      "validate>charge",
      "validate>reserve",
      "charge>ship",
      "reserve>ship",
    ]);
    const x = Object.fromEntries(g.nodes.map((n) => [n.name, n.x]));
    expect(x.charge).toBe(x.reserve);
    expect(x.ship).toBeGreaterThan(x.charge + NODE_W);
  });

  test("uses the longest path, not the shortest", () => {
    const g = layout([
      { name: "a", parents: [] },
      { name: "b", parents: ["a"] },
      { name: "c", parents: ["a", "b"] },
    ]);
    expect(g.nodes.find((n) => n.name === "c")?.layer).toBe(2);
  });

  test("ignores unknown parents and survives a cycle", () => {
    const g = layout([
      { name: "a", parents: ["b", "missing"] },
      { name: "b", parents: ["a"] },
    ]);
    expect(g.nodes).toHaveLength(2);
    expect(g.edges.every((e) => e.from !== "missing")).toBe(true);
  });
});
