/**
 * Do the shared terms keep their roles? Read from the alignment, not from word lists of verbs:
 *
 * - Reversal. Two aligned terms that appear in one order in the first prompt and in the other
 *   order in the second, with the same relation words between them in both ("[local machine] to
 *   [remote server]" / "[remote server] to [local machine]", "[A] than [B]", "[A], not [B]", "[A]
 *   influenced by [B]"), have swapped roles. Moving a clause ("In Go, how do I ..." / "How do I ...
 *   in Go?") changes what lies between the terms, and inverse wording ("A to B" / "B from A",
 *   passive / active) changes the relation word, so neither counts; "A or B" / "A vs B" carry no
 *   relation word and are symmetric.
 * - Attachment. A relation word links the term before it to the term after it ("landlord 's
 *   insurance"); when both terms are aligned and the other prompt links the same first term to a
 *   different aligned term with the same relation word, the term moved to another role.
 */
import type { Alignment, Reading } from './alignment.js';

export interface RoleReport {
  /** Aligned term pairs whose order is reversed with the same relation words between them. */
  reversed: number;
  /** Relation links (term, relation, term) kept on the other side. */
  kept: number;
  /** Relation links whose first term is linked by the same relation word to another aligned term. */
  moved: number;
  /** Description of the first reversal, for logs. */
  example?: string;
}

/** Relation words between two token positions (exclusive), or undefined across sentences. */
function between(r: Reading, from: number, to: number): string[] | undefined {
  if (r.sentenceOf[from] !== r.sentenceOf[to]) return undefined;
  const out: string[] = [];
  for (let i = from + 1; i < to; i++) if (r.tokens[i]!.cls === 'relation') out.push(r.tokens[i]!.norm);
  return out;
}

/** The relation word right before position `at` (only function words in between), if any. */
function introducer(r: Reading, at: number): string | undefined {
  for (let i = at - 1; i >= 0; i--) {
    const t = r.tokens[i]!;
    if (t.cls === 'relation') return t.norm;
    if (t.cls !== 'function') return undefined;
  }
  return undefined;
}

const same = (x: string[], y: string[]) => x.length === y.length && x.every((w, i) => w === y[i]);

/** Term units: aligned chunks, plus aligned words whose word occurs once on each side. */
interface Unit {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
  label: string;
}

function units(al: Alignment): Unit[] {
  const { a, b } = al;
  const out: Unit[] = [];
  a.chunks.forEach((ca, i) => {
    const j = al.chunkAtoB[i]!;
    if (j < 0) return;
    const cb = b.chunks[j]!;
    out.push({ aStart: ca.start, aEnd: ca.end - 1, bStart: cb.start, bEnd: cb.end - 1, label: a.tokens.slice(ca.start, ca.end).map((t) => t.raw).join(' ') });
  });
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  for (const t of a.tokens) countA.set(t.norm, (countA.get(t.norm) ?? 0) + 1);
  for (const t of b.tokens) countB.set(t.norm, (countB.get(t.norm) ?? 0) + 1);
  al.tokenAtoB.forEach((y, x) => {
    if (y < 0) return;
    const t = a.tokens[x]!;
    if (countA.get(t.norm) !== 1 || countB.get(b.tokens[y]!.norm) !== 1) return;
    out.push({ aStart: x, aEnd: x, bStart: y, bEnd: y, label: t.raw });
  });
  return out;
}

export function compareRoles(al: Alignment): RoleReport {
  const { a, b } = al;
  const report: RoleReport = { reversed: 0, kept: 0, moved: 0 };
  const list = units(al);
  const seen = new Set<string>();
  for (let p = 0; p < list.length; p++) {
    for (let q = 0; q < list.length; q++) {
      const u = list[p]!;
      const v = list[q]!;
      // u before v in a, v before u in b, disjoint.
      if (!(u.aEnd < v.aStart && v.bEnd < u.bStart)) continue;
      const sa = between(a, u.aEnd, v.aStart);
      const sb = between(b, v.bEnd, u.bStart);
      if (!sa || !sb || sa.length === 0) continue;
      // Same relation words between them, or the same relation word introducing the later term
      // ("[volume] on [host] to [folder] in [container]": "to" introduces the target both times).
      const ra = introducer(a, a.chunkOf[v.aStart]! >= 0 ? a.chunks[a.chunkOf[v.aStart]!]!.start : v.aStart);
      const rb = introducer(b, b.chunkOf[u.bStart]! >= 0 ? b.chunks[b.chunkOf[u.bStart]!]!.start : u.bStart);
      const sameBetween = sa.length <= 3 && same(sa, sb);
      if (!sameBetween && !(ra !== undefined && ra === rb)) continue;
      const key = `${u.aStart}:${v.aStart}`;
      if (seen.has(key)) continue;
      seen.add(key);
      report.reversed++;
      report.example ??= `${u.label} ${sameBetween ? sa.join(' ') : ra} ${v.label}`;
    }
  }
  // Links: relation word r with the chunk right before it (function words allowed in between,
  // nothing else) and the next chunk after it.
  const links = (r: Reading) => {
    const out: { left: number; rel: string; right: number }[] = [];
    r.tokens.forEach((t, i) => {
      if (t.cls !== 'relation') return;
      let l = i - 1;
      while (l >= 0 && r.tokens[l]!.cls === 'function') l--;
      let rt = i + 1;
      while (rt < r.tokens.length && (r.tokens[rt]!.cls === 'function' || r.tokens[rt]!.cls === 'relation')) rt++;
      if (l < 0 || rt >= r.tokens.length || r.chunkOf[l]! < 0 || r.chunkOf[rt]! < 0) return;
      if (r.sentenceOf[l] !== r.sentenceOf[rt]) return;
      out.push({ left: r.chunkOf[l]!, rel: t.norm, right: r.chunkOf[rt]! });
    });
    return out;
  };
  const la = links(a);
  const lb = links(b);
  for (const x of la) {
    const l = al.chunkAtoB[x.left]!;
    const r = al.chunkAtoB[x.right]!;
    if (l < 0 || r < 0) continue;
    if (lb.some((y) => y.rel === x.rel && y.left === l && y.right === r)) report.kept++;
    else if (lb.some((y) => y.rel === x.rel && y.left === l && y.right !== r && al.chunkBtoA[y.right]! >= 0)) report.moved++;
  }
  return report;
}
