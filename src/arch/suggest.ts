/**
 * "Did you mean" suggestions by edit distance, shared by the arch and policy layers.
 */

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Three rolling rows are enough for the adjacent-swap rule.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The candidates nearest to `name`, best first, at most `max` (default 3). Comparison ignores
 * case. A candidate qualifies when its edit distance is small for the name's length (up to a
 * third of it, at least 1, at most 3) or when one name contains the other (4+ characters, so
 * `fstatat` finds `newfstatat`). Ties prefer a longer common prefix, then the shorter name.
 * Returns [] when nothing is close: a wild guess is worse than no suggestion.
 */
export function suggest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const q = name.toLowerCase();
  if (q === '' || max <= 0) return [];
  const limit = Math.max(1, Math.min(3, Math.floor(q.length / 3)));
  const scored: { c: string; d: number; p: number }[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c)) continue;
    seen.add(c);
    const lc = c.toLowerCase();
    if (lc === q) continue;
    let d = editDistance(q, lc);
    const contains = Math.min(q.length, lc.length) >= 4 && (lc.includes(q) || q.includes(lc));
    if (d > limit && !contains) continue;
    if (d > limit) d = limit + 1; // a containment match ranks after every close edit
    scored.push({ c, d, p: commonPrefix(q, lc) });
  }
  scored.sort((x, y) => x.d - y.d || y.p - x.p || x.c.length - y.c.length || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0));
  return scored.slice(0, max).map((s) => s.c);
}
