/**
 * Request bodies for the latency and throughput parts: base prompts (stored once, then exact
 * hits), variants of them that the gateway serves as semantic hits (checked, not assumed), and a
 * seeded source of never-repeating prompts for misses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from './datasets.js';

export const BASE_PROMPTS = [
  'How do I reverse a list in Python?',
  'What are some tips for falling asleep faster?',
  'Explain photosynthesis in simple terms.',
  'How do I center a div horizontally and vertically with CSS?',
  'What is the difference between HTTP and HTTPS?',
  'Give me a simple recipe for sourdough bread.',
  'How do I find duplicate rows in a SQL table?',
  'What is the time complexity of binary search?',
  'How often should I water a snake plant?',
  'Write a haiku about autumn leaves.',
  'How do I make a monthly budget?',
  'What is the capital of Australia?',
];

/** A rewording the exact tier cannot match (other bytes) but the semantic tier should. */
export function semanticVariant(prompt: string): string {
  return `Please, ${prompt.charAt(0).toLowerCase()}${prompt.slice(1)}`;
}

export function chatBody(model: string, text: string, stream = false): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: text }], stream });
}

/**
 * Prompts of random dictionary words plus a serial number: no two share a cache entry (the
 * words keep similarity low, the number makes the guard refuse whatever is left).
 */
export class MissPrompts {
  private readonly random: () => number;
  private readonly words: string[];
  private serial = 0;

  constructor(seed: number, modelsDir: string, model = 'static-wordnet-en') {
    this.random = seededRandom(seed);
    this.words = readVocabulary(path.join(modelsDir, model, 'tokenizer.json'));
  }

  next(): string {
    const n = 8 + Math.floor(this.random() * 8);
    const w: string[] = [];
    for (let i = 0; i < n; i++) w.push(this.words[Math.floor(this.random() * this.words.length)]!);
    return `Tell me about ${w.join(' ')} (case ${++this.serial}${Math.floor(this.random() * 1e6)})`;
  }
}

function readVocabulary(file: string): string[] {
  const fallback = 'river stone light paper garden window music engine forest market bridge silver winter coffee planet ladder'.split(' ');
  if (!fs.existsSync(file)) return fallback;
  try {
    const tok = JSON.parse(fs.readFileSync(file, 'utf8')) as { model?: { vocab?: Record<string, number> } };
    const words = Object.keys(tok.model?.vocab ?? {}).filter((w) => /^[a-z]{4,12}$/.test(w));
    return words.length >= 1000 ? words : fallback;
  } catch {
    return fallback;
  }
}

export interface ProbeSet {
  exact: string[];
  semantic: string[];
}

async function post(url: string, body: string): Promise<{ status: number; cacheStatus: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body });
  await res.arrayBuffer();
  return { status: res.status, cacheStatus: res.headers.get('x-cache-status') ?? 'none' };
}

/** Stores the base prompts in the gateway and keeps the variants it really serves as semantic hits. */
export async function prepareProbes(gatewayUrl: string, model: string): Promise<ProbeSet> {
  for (const p of BASE_PROMPTS) {
    const r = await post(gatewayUrl, chatBody(model, p));
    if (r.status !== 200) throw new Error(`seeding the cache failed with HTTP ${r.status}`);
  }
  const exact: string[] = [];
  const semantic: string[] = [];
  for (const p of BASE_PROMPTS) {
    if ((await post(gatewayUrl, chatBody(model, p))).cacheStatus === 'hit') exact.push(p);
    const v = semanticVariant(p);
    if ((await post(gatewayUrl, chatBody(model, v))).cacheStatus === 'semantic-hit') semantic.push(v);
  }
  if (exact.length === 0) throw new Error('no base prompt came back as an exact hit');
  if (semantic.length === 0) throw new Error('no variant came back as a semantic hit: is the threshold above their similarity?');
  return { exact, semantic };
}
