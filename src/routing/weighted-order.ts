/**
 * The order to try targets in: by priority, and within one priority a weighted random order
 * (each pick proportional to weight among those not yet picked), so load spreads by weight and
 * every target of the group is still a fallback for the others.
 */
export function weightedOrder<T extends { weight: number; priority: number }>(targets: readonly T[], random: () => number = Math.random): T[] {
  const byPriority = new Map<number, T[]>();
  for (const t of targets) byPriority.set(t.priority, [...(byPriority.get(t.priority) ?? []), t]);
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const pool = [...byPriority.get(priority)!];
    while (pool.length > 0) {
      const total = pool.reduce((sum, t) => sum + t.weight, 0);
      let r = random() * total;
      let i = 0;
      while (i < pool.length - 1 && r >= pool[i]!.weight) {
        r -= pool[i]!.weight;
        i++;
      }
      out.push(pool.splice(i, 1)[0]!);
    }
  }
  return out;
}
