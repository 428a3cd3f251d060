import type { GuardCheck } from './policy.js';
import { maskLabel, piiSpans, type GuardDecision } from './checks.js';

/**
 * Output checks on a live stream, incrementally. Each choice's text is held back by HOLD_BACK
 * characters: a chunk's text goes out only once it is that far from the end of what has arrived,
 * so a deny term or a piece of personal data split over several chunks is seen whole before any
 * of it reaches the client. A match is acted on once SETTLE characters follow it (an e-mail
 * address or a number could still grow); at the end of the choice everything is settled.
 *
 * Per chunk the checks read only the held text plus the last HOLD_BACK characters already sent
 * (a match cannot be longer than that and still be caught whole), so the work per chunk is
 * bounded whatever the answer's length. The external moderation check does not run here: it
 * needs the whole answer (see the chat route, which runs it at the end of the stream).
 */

export const HOLD_BACK = 160;
const SETTLE = 8;

interface ChoiceState {
  /** Text received and not yet sent (masking already applied to settled matches). */
  pending: string;
  /** The last HOLD_BACK characters sent. */
  sentTail: string;
  /** Characters sent so far (in output coordinates). */
  sent: number;
  /** Characters received from the upstream. */
  received: number;
  /** Per check: the output position up to which matches have been handled. */
  handled: number[];
  truncated: boolean;
}

export interface StreamStep {
  /** Text to send now ('' when everything is held). */
  text: string;
  blocked?: GuardDecision;
  /** The choice was cut at the length limit (action mask): end it with finish_reason "length". */
  truncated?: boolean;
}

export class StreamModerator {
  private readonly choices = new Map<number, ChoiceState>();
  private readonly byCheck = new Map<number, GuardDecision>();
  private readonly holdBack: number;
  blocked?: GuardDecision;

  constructor(private readonly checks: GuardCheck[]) {
    const longestTerm = Math.max(0, ...checks.map((c) => (c.check === 'deny' ? c.deny.longest : 0)));
    this.holdBack = Math.max(HOLD_BACK, longestTerm + SETTLE * 2);
  }

  /** Decisions so far, one per check that fired (counts summed over the stream). */
  get decisions(): GuardDecision[] {
    return [...this.byCheck.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
  }

  private state(index: number): ChoiceState {
    let s = this.choices.get(index);
    if (!s) this.choices.set(index, (s = { pending: '', sentTail: '', sent: 0, received: 0, handled: this.checks.map(() => 0), truncated: false }));
    return s;
  }

  private note(k: number, check: GuardCheck, count: number, detail?: string[]): GuardDecision {
    const d = this.byCheck.get(k);
    if (d) {
      d.value = (d.value ?? 0) + count;
      if (detail) d.detail = [...new Set([...(d.detail ?? []), ...detail])].sort();
      return d;
    }
    const created: GuardDecision = { stage: 'output', check: check.check, action: check.action, value: count, ...(detail ? { detail: [...detail].sort() } : {}) };
    this.byCheck.set(k, created);
    return created;
  }

  push(index: number, delta: string): StreamStep {
    const s = this.state(index);
    if (this.blocked) return { text: '', blocked: this.blocked };
    if (s.truncated) return { text: '' };
    s.received += delta.length;
    let text = delta;
    for (let k = 0; k < this.checks.length; k++) {
      const c = this.checks[k]!;
      if (c.check !== 'length' || s.received <= c.maxChars) continue;
      const d = this.note(k, c, 0);
      d.value = s.received;
      if (c.action === 'block') return this.block(d);
      if (c.action === 'mask') {
        text = text.slice(0, Math.max(0, c.maxChars - (s.received - delta.length)));
        s.truncated = true;
      }
    }
    s.pending += text;
    const r = this.scan(s, s.truncated);
    if (r) return r;
    const cut = s.truncated ? s.pending.length : Math.max(0, s.pending.length - this.holdBack);
    return { text: this.send(s, cut), ...(s.truncated ? { truncated: true } : {}) };
  }

  /** The end of a choice: everything held is checked as settled and released. */
  finish(index: number): StreamStep {
    const s = this.state(index);
    if (this.blocked) return { text: '', blocked: this.blocked };
    const r = this.scan(s, true);
    if (r) return r;
    return { text: this.send(s, s.pending.length) };
  }

  private send(s: ChoiceState, n: number): string {
    const out = s.pending.slice(0, n);
    s.pending = s.pending.slice(n);
    s.sent += out.length;
    s.sentTail = (s.sentTail + out).slice(-this.holdBack);
    return out;
  }

  private block(d: GuardDecision): StreamStep {
    this.blocked = d;
    return { text: '', blocked: d };
  }

  /** Acts on settled matches in the window (sent tail + pending). Returns a step only when blocked. */
  private scan(s: ChoiceState, final: boolean): StreamStep | undefined {
    for (let k = 0; k < this.checks.length; k++) {
      const c = this.checks[k]!;
      if (c.check !== 'deny' && c.check !== 'pii') continue;
      const window = s.sentTail + s.pending;
      const base = s.sent - s.sentTail.length; // output position of window[0]
      const limit = final ? window.length : window.length - SETTLE;
      const found = c.check === 'deny' ? c.deny.find(window).map((x) => ({ ...x, label: maskLabel('DENIED'), kind: undefined as string | undefined })) : piiSpans(window, c.kinds).map((x) => ({ ...x, label: maskLabel(x.kind) }));
      const fresh = found.filter((x) => base + x.start >= s.handled[k]! && x.end <= limit);
      if (fresh.length === 0) continue;
      const d = this.note(k, c, fresh.length, c.check === 'pii' ? fresh.map((x) => x.kind!) : undefined);
      if (c.action === 'block') return this.block(d);
      let shift = 0;
      if (c.action === 'mask') {
        // Only what has not been sent can be masked; with HOLD_BACK >= any match, that is all of it.
        let pending = s.pending;
        for (const x of [...fresh].reverse()) {
          const start = x.start - s.sentTail.length;
          if (start < 0) continue;
          const end = x.end - s.sentTail.length;
          pending = pending.slice(0, start) + x.label + pending.slice(end);
          shift += x.label.length - (x.end - x.start);
        }
        s.pending = pending;
      }
      s.handled[k] = base + fresh[fresh.length - 1]!.end + shift;
    }
    return undefined;
  }
}
