import type { GuardDecision } from './checks.js';
import { resolvePolicy, type GuardPolicy, type GuardrailsConfig } from './policy.js';

export type { GuardDecision } from './checks.js';

/** The response header (and stream trailer) that lists flagged checks, e.g. "input:injection,output:pii". */
export const FLAGGED_HEADER = 'x-gateway-flagged';

/** Picks the policy for each request (key, tenant, model alias, file default, env default). */
export class Guardrails {
  constructor(
    private readonly cfg: GuardrailsConfig | undefined,
    private readonly envDefault: GuardPolicy,
  ) {}

  policyFor(who: { tenant: string; key?: { id: string; name: string } }, model: string): GuardPolicy {
    return resolvePolicy(this.cfg, this.envDefault, { keyId: who.key?.id, keyName: who.key?.name, tenant: who.tenant, model });
  }
}

export function flaggedValue(decisions: GuardDecision[]): string | undefined {
  const flagged = [...new Set(decisions.filter((d) => d.action === 'flag').map((d) => `${d.stage}:${d.check}`))];
  return flagged.length ? flagged.join(',') : undefined;
}

/** The log field: one entry per decision, names and numbers only. */
export function decisionsForLog(decisions: GuardDecision[]): Array<Record<string, unknown>> | undefined {
  return decisions.length ? decisions.map((d) => ({ stage: d.stage, check: d.check, action: d.action, ...(d.value !== undefined ? { value: d.value } : {}), ...(d.detail?.length ? { detail: d.detail } : {}) })) : undefined;
}
