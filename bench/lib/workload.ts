/**
 * Workloads for the hit-quality bench: a replay sequence of prompts with ground truth. Each
 * request belongs to a meaning group; a cache hit is correct only when the answer it served was
 * stored for a request of the same group. Built from the project's own data/workloads/*.jsonl and,
 * when present, from shared/data (GPTCache paraphrases, QQP duplicates, STS-B graded pairs,
 * hh-rlhf first human turns as never-seen traffic). hh-rlhf text is never printed or written.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { normalizeText as lexicalKey } from './baselines.js';
import { readStsB, seededRandom, shuffled } from './datasets.js';

export interface WorkloadItem {
  /** Position in the replay sequence. */
  index: number;
  text: string;
  /** Ground-truth meaning class. */
  group: number;
  /** The earliest earlier request of the same group, or null when this request is new. */
  duplicateOf: number | null;
  /** original | paraphrase | exact-repeat | near-miss | unseen (for breakdowns). */
  kind: string;
  /** Whether the client asks for a stream (both paths of the gateway get exercised). */
  stream: boolean;
}

export interface Workload {
  name: string;
  description: string;
  /** May the text appear in reports? False for hh-rlhf (offensive red-team prompts). */
  printable: boolean;
  items: WorkloadItem[];
}

/** One prompt before sequencing: `after` names an entry that must be replayed earlier. */
export interface DraftEntry {
  key: string;
  text: string;
  groupKey: string;
  kind: string;
  after?: string;
}

/**
 * Orders drafts into a replay sequence with a seeded random interleave that keeps every entry
 * after the one it refers to, merges groups whose texts are equal up to case and punctuation
 * (those are the same question whatever the source says), and derives duplicateOf.
 */
export function sequence(name: string, description: string, drafts: DraftEntry[], seed: number, printable = true): Workload {
  const random = seededRandom(seed);
  const time = new Map<string, number>();
  for (const d of drafts) {
    const parent = d.after !== undefined ? time.get(d.after) : undefined;
    if (d.after !== undefined && parent === undefined) throw new Error(`${name}: ${d.key} refers to ${d.after}, which comes later or is missing`);
    // A dependent lands uniformly in the rest of the timeline after its parent.
    time.set(d.key, parent === undefined ? random() : parent + (1 - parent) * random());
  }
  const ordered = [...drafts].sort((a, b) => time.get(a.key)! - time.get(b.key)!);

  const groupOf = new Map<string, number>();
  const byText = new Map<string, number>();
  const parent: number[] = [];
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  for (const d of ordered) {
    let g = groupOf.get(d.groupKey);
    if (g === undefined) {
      g = parent.length;
      parent.push(g);
      groupOf.set(d.groupKey, g);
    }
    const lk = lexicalKey(d.text);
    const same = byText.get(lk);
    if (same !== undefined) parent[find(g)] = find(same);
    else byText.set(lk, g);
  }
  const firstOfGroup = new Map<number, number>();
  const items: WorkloadItem[] = ordered.map((d, index) => {
    const group = find(groupOf.get(d.groupKey)!);
    const first = firstOfGroup.get(group);
    if (first === undefined) firstOfGroup.set(group, index);
    return { index, text: d.text, group, duplicateOf: first ?? null, kind: d.kind, stream: random() < 0.5 };
  });
  return { name, description, printable, items };
}

/** A line of data/workloads/*.jsonl (see data/workloads/README.md). */
interface ProjectLine {
  id: string;
  text: string;
  kind: string;
  duplicateOf: string | null;
  nearMissOf?: string;
}

export function readProjectWorkload(file: string, seed: number): Workload {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ProjectLine);
  const drafts: DraftEntry[] = lines.map((l) => ({
    key: l.id,
    text: l.text,
    groupKey: l.duplicateOf ?? l.id,
    kind: l.kind,
    after: l.duplicateOf ?? l.nearMissOf,
  }));
  const name = path.basename(file, '.jsonl');
  const near = lines.filter((l) => l.kind === 'near-miss').length;
  return sequence(name, `project workload data/workloads/${name}.jsonl: ${lines.length} chat-assistant prompts, ${near} near-miss negatives`, drafts, seed);
}

interface OriginSimilar {
  origin: string;
  similar: string;
}

/**
 * Paraphrase pairs as traffic: each sampled pair's origin is asked, later its paraphrase; a
 * share of origins is asked again verbatim (exact repeats, the exact tier's traffic).
 */
export function pairsWorkload(
  name: string,
  description: string,
  pairs: OriginSimilar[],
  opts: { pairs: number; repeatShare: number; seed: number },
): Workload {
  const random = seededRandom(opts.seed + 1);
  const valid = pairs.filter((p) => p.origin.trim() && p.similar.trim());
  // Ground truth from the whole dataset: a question paired as a duplicate anywhere is one group.
  const comps = new Components();
  for (const p of valid) comps.union(p.origin, p.similar);
  const filter = new AmbiguityFilter();
  const drafts: DraftEntry[] = [];
  let taken = 0;
  let skipped = 0;
  for (const p of shuffled(valid, random)) {
    if (taken >= opts.pairs) break;
    const group = comps.of(p.origin);
    if (!filter.accept(group, p.origin, p.similar)) {
      skipped++;
      continue;
    }
    const i = taken++;
    drafts.push({ key: `o${i}`, text: p.origin, groupKey: group, kind: 'original' });
    drafts.push({ key: `s${i}`, text: p.similar, groupKey: group, kind: 'paraphrase', after: `o${i}` });
    if (random() < opts.repeatShare) drafts.push({ key: `r${i}`, text: p.origin, groupKey: group, kind: 'exact-repeat', after: `o${i}` });
  }
  return sequence(name, `${description}: ${taken} pairs (groups joined across the whole dataset; ${skipped} pairs left out whose content words match another group's)`, drafts, opts.seed);
}

/** Words that do not change what is asked; used only to spot ambiguous samples, never to merge groups. */
const FILLER_WORDS = new Set(
  'a an the is are am was were be been do does did can could would should will shall may might i me my you your we our it its to of for in on at by with and or how what which who why when where there this that these those please just some any so really his her their them he she they something someone one'.split(' '),
);

/**
 * Sorted content words. Two texts of different groups with the same key ("A man is playing a
 * guitar." / "The man is playing the guitar.") have no trustworthy ground truth in a pair
 * dataset (each pair was labelled alone), so samplers leave the second one out.
 */
export function contentKey(text: string): string {
  const words = lexicalKey(text)
    .split(' ')
    .filter((w) => w && !FILLER_WORDS.has(w))
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
  return [...new Set(words)].sort().join(' ');
}

/** Connected components of a dataset's positive pairs, over texts equal up to case and punctuation. */
export class Components {
  private readonly parent = new Map<string, string>();

  private find(x: string): string {
    const p = this.parent.get(x);
    if (p === undefined) {
      this.parent.set(x, x);
      return x;
    }
    if (p === x) return x;
    const root = this.find(p);
    this.parent.set(x, root);
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(lexicalKey(a));
    const rb = this.find(lexicalKey(b));
    if (ra !== rb) this.parent.set(ra, rb);
  }

  of(text: string): string {
    return this.find(lexicalKey(text));
  }
}

/** Skips samples whose content words equal those of a sample from another group. */
class AmbiguityFilter {
  private readonly owner = new Map<string, string>();

  /** True (and remembered) when every text is new or belongs to `group` already. */
  accept(group: string, ...texts: string[]): boolean {
    const keys = texts.map(contentKey);
    if (keys.some((k) => this.owner.has(k) && this.owner.get(k) !== group)) return false;
    for (const k of keys) this.owner.set(k, group);
    return true;
  }
}

function readJson<T>(file: string): T | null {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : null;
}

export function gptCacheWorkload(dataDir: string, pairs: number, seed: number): Workload | null {
  const raw = readJson<OriginSimilar[]>(path.join(dataDir, 'gptcache-bench', 'mock_data.json'));
  return raw && pairsWorkload('gptcache-paraphrase', 'GPTCache LLM-written paraphrase pairs, origin then paraphrase, 10% exact repeats', raw, { pairs, repeatShare: 0.1, seed });
}

export function qqpWorkload(dataDir: string, pairs: number, seed: number): Workload | null {
  const raw = readJson<OriginSimilar[]>(path.join(dataDir, 'gptcache-bench', 'similiar_qqp.json'));
  // Quora's terms allow internal use only: the questions are replayed but never quoted in results.
  const w = raw && pairsWorkload('qqp-duplicates', 'QQP duplicate question pairs, first then duplicate, 10% exact repeats (text not shown)', raw, { pairs, repeatShare: 0.1, seed });
  return w && { ...w, printable: false };
}

/** STS-B: pairs scored >= 4 are one group (hard positives), <= 2 two groups (hard negatives). */
export function stsbWorkload(dataDir: string, pairs: number, seed: number): Workload | null {
  const set = readStsB(dataDir);
  if (!set) return null;
  const random = seededRandom(seed + 2);
  const comps = new Components();
  for (const p of set.pairs) if (p.label) comps.union(p.a, p.b);
  const filter = new AmbiguityFilter();
  const drafts: DraftEntry[] = [];
  let pos = 0;
  let neg = 0;
  // Alternating positives and negatives from one shuffled list keeps the mix near half and half.
  for (const p of shuffled(set.pairs, random)) {
    if (pos + neg >= pairs) break;
    if (p.label ? pos >= Math.ceil(pairs / 2) : neg >= Math.floor(pairs / 2)) continue;
    const ga = comps.of(p.a);
    const gb = comps.of(p.b);
    // A negative whose sentences are linked as paraphrases elsewhere in STS-B has no clear label.
    if (!p.label && ga === gb) continue;
    if (!filter.accept(ga, p.a) || !filter.accept(gb, p.b)) continue;
    const i = pos + neg;
    drafts.push({ key: `a${i}`, text: p.a, groupKey: ga, kind: 'original' });
    drafts.push({ key: `b${i}`, text: p.b, groupKey: gb, kind: p.label ? 'paraphrase' : 'near-miss', after: `a${i}` });
    if (p.label) pos++;
    else neg++;
  }
  return sequence('stsb-hard', `STS-B sentence pairs: ${pos} scored >= 4 as paraphrases, ${neg} scored <= 2 as near-miss negatives (sentences whose content words match another group's left out)`, drafts, seed);
}

/** The first human turn of each hh-rlhf conversation, in a seeded sample: traffic nobody asked before. */
export function hhRlhfWorkload(dataDir: string, count: number, seed: number): Workload | null {
  const file = path.join(dataDir, 'hh-rlhf-harmless-test', 'test.jsonl.gz');
  if (!fs.existsSync(file)) return null;
  const turns: string[] = [];
  for (const line of zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const chosen = (JSON.parse(line) as { chosen?: string }).chosen ?? '';
    const m = /Human:([\s\S]*?)(?:\n\nAssistant:|$)/.exec(chosen);
    const text = m?.[1]?.trim();
    if (text) turns.push(text);
  }
  // Conversations that open with the same text are kept (real traffic repeats itself; the
  // sequencer makes equal texts one group); near-identical wordings of one question are not, since
  // nothing labels them as duplicates or not.
  const filter = new AmbiguityFilter();
  const drafts: DraftEntry[] = [];
  for (const text of shuffled(turns, seededRandom(seed + 3))) {
    if (drafts.length >= count) break;
    if (!filter.accept(lexicalKey(text), text)) continue;
    drafts.push({ key: `h${drafts.length}`, text, groupKey: lexicalKey(text), kind: 'unseen' });
  }
  return sequence('hh-rlhf-unseen', `hh-rlhf first human turns (never-seen traffic, text not shown): ${drafts.length} prompts`, drafts, seed, false);
}

export interface WorkloadSizes {
  /** Pairs per pair-based workload. */
  pairs: number;
  /** Prompts of never-seen traffic. */
  unseen: number;
}

/** Every workload available: the project's own first, then those built from shared/data. */
export function loadWorkloads(opts: { repoRoot: string; dataDir: string; sizes: WorkloadSizes; seed: number }): { workloads: Workload[]; missing: string[] } {
  const workloads: Workload[] = [];
  const missing: string[] = [];
  const dir = path.join(opts.repoRoot, 'data', 'workloads');
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) workloads.push(readProjectWorkload(path.join(dir, f), opts.seed));
  }
  const builders: [string, () => Workload | null][] = [
    ['gptcache-bench/mock_data.json', () => gptCacheWorkload(opts.dataDir, opts.sizes.pairs, opts.seed)],
    ['gptcache-bench/similiar_qqp.json', () => qqpWorkload(opts.dataDir, opts.sizes.pairs, opts.seed)],
    ['stsbenchmark', () => stsbWorkload(opts.dataDir, opts.sizes.pairs, opts.seed)],
    ['hh-rlhf-harmless-test', () => hhRlhfWorkload(opts.dataDir, opts.sizes.unseen, opts.seed)],
  ];
  for (const [label, build] of builders) {
    const w = build();
    if (w) workloads.push(w);
    else missing.push(label);
  }
  return { workloads, missing };
}

/** The first `n` requests: a prefix of a replay is itself a valid replay (decisions depend only on the past). */
export function prefix(w: Workload, n: number): Workload {
  return n >= w.items.length ? w : { ...w, items: w.items.slice(0, n) };
}
