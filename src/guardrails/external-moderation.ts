/**
 * An external moderation endpoint in OpenAI's /v1/moderations shape:
 *   POST {base_url}/moderations {"input": "...", "model": "..."} ->
 *   {"results": [{"flagged": bool, "categories": {...}, "category_scores": {...}}]}
 * with a timeout and an explicit choice when the call fails: `open` lets the text through (and
 * logs), `closed` treats it as flagged. The key comes from an env variable named in the config,
 * never from the file, and never appears in a log or an error.
 */

export interface ModerationTarget {
  baseUrl: string;
  apiKey?: string;
  model?: string;
  timeoutMs: number;
  onError: 'open' | 'closed';
  /** Only these categories count (default: the endpoint's own `flagged`). */
  categories?: string[];
}

export interface ModerationVerdict {
  flagged: boolean;
  /** Flagged categories, or `error:<kind>` when the call failed. */
  categories: string[];
  failed: boolean;
}

/** Texts longer than this are sent in their first part only (a moderation model reads a few thousand tokens). */
const MAX_INPUT_CHARS = 32_000;

export async function moderate(target: ModerationTarget, text: string): Promise<ModerationVerdict> {
  const fail = (kind: string): ModerationVerdict => ({ flagged: target.onError === 'closed', categories: [`error:${kind}`], failed: true });
  let res: Response;
  try {
    res = await fetch(`${target.baseUrl}/moderations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}) },
      body: JSON.stringify({ input: text.slice(0, MAX_INPUT_CHARS), ...(target.model ? { model: target.model } : {}) }),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (err) {
    return fail((err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable');
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return fail(`status_${res.status}`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fail('bad_body');
  }
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results) || results.length === 0) return fail('bad_body');
  const categories = new Set<string>();
  let flagged = false;
  for (const r of results as Array<{ flagged?: unknown; categories?: Record<string, unknown> }>) {
    const cats = Object.entries(r.categories ?? {}).filter(([, v]) => v === true).map(([k]) => k);
    if (target.categories) {
      const hit = cats.filter((c) => target.categories!.includes(c));
      hit.forEach((c) => categories.add(c));
      if (hit.length) flagged = true;
    } else {
      cats.forEach((c) => categories.add(c));
      if (r.flagged === true) flagged = true;
    }
  }
  return { flagged, categories: [...categories].sort(), failed: false };
}
