import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PII_KIND_LABELS, type PiiKind } from '../policy/redaction.js';
import { DenyList, DenyListError, loadDenyFile } from './deny-list.js';
import type { ModerationTarget } from './external-moderation.js';
import { compileSafePattern, UnsafePatternError } from './safe-regex.js';
import { SCREENING_MODEL } from './screening.js';

/**
 * Guardrail policies: an ordered list of checks on the request (`input`) and on the answer
 * (`output`), each with an action. Defaults come from PROMPT_SCREENING / OUTPUT_MODERATION /
 * MODERATION_DENY_FILE; GATEWAY_CONFIG's `guardrails:` section names policies and assigns them to
 * gateway keys (by name or id), tenants and model aliases:
 *
 *   guardrails:
 *     policies:
 *       strict:
 *         input:
 *           - { check: injection, threshold: 0.4, action: block }
 *           - { check: deny, terms: [project falcon], patterns: ["/ticket-\\d{6}/i"], action: block }
 *         output:
 *           - { check: pii, kinds: [EMAIL, PHONE], action: mask }
 *           - { check: length, max_chars: 4000, action: block }
 *           - { check: moderation, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY,
 *               model: omni-moderation-latest, timeout_ms: 2000, on_error: closed, action: block }
 *     keys: { support-bot: strict }      # gateway key name or id
 *     tenants: {}                        # tenant id (key id, or the hash of a client's own key)
 *     models: { fast: strict }           # model alias
 *     default: strict                    # every other request (else the env defaults)
 *
 * Precedence: key, tenant, model, default, env. A policy that leaves out `input` or `output`
 * keeps the env default for that side, so a policy refines the defaults.
 */

export type GuardAction = 'log' | 'flag' | 'block' | 'mask';
export type GuardStage = 'input' | 'output';
export const GUARD_ACTIONS: readonly GuardAction[] = ['log', 'flag', 'block', 'mask'];

export type GuardCheck =
  | { check: 'injection'; action: GuardAction; threshold: number }
  | { check: 'deny'; action: GuardAction; deny: DenyList }
  | { check: 'pii'; action: GuardAction; kinds?: PiiKind[] }
  | { check: 'length'; action: GuardAction; maxChars: number }
  | { check: 'moderation'; action: GuardAction; target: ModerationTarget };

export interface GuardPolicy {
  name: string;
  input: GuardCheck[];
  output: GuardCheck[];
  /** Changes whenever the output checks change: a cached answer checked under another is re-checked. */
  outputFingerprint: string;
}

export interface GuardrailsConfig {
  policies: Map<string, GuardPolicy>;
  keys: Map<string, string>;
  tenants: Map<string, string>;
  models: Map<string, string>;
  default?: string;
}

export type EnvGuardMode = 'off' | 'flag' | 'block';

function fingerprint(checks: GuardCheck[]): string {
  if (checks.length === 0) return '';
  const desc = checks.map((c) => {
    switch (c.check) {
      case 'injection':
        return [c.check, c.action, c.threshold];
      case 'deny':
        return [c.check, c.action, c.deny.describe()];
      case 'pii':
        return [c.check, c.action, c.kinds ?? 'all'];
      case 'length':
        return [c.check, c.action, c.maxChars];
      case 'moderation':
        return [c.check, c.action, c.target.baseUrl, c.target.model ?? '', c.target.onError, c.target.categories ?? 'flagged'];
    }
  });
  return createHash('sha256').update(JSON.stringify(desc)).digest('hex').slice(0, 16);
}

export function makePolicy(name: string, input: GuardCheck[], output: GuardCheck[]): GuardPolicy {
  return { name, input, output, outputFingerprint: fingerprint(output) };
}

/** The env defaults: PROMPT_SCREENING screens for injection (and deny terms), OUTPUT_MODERATION checks answers for PII and deny terms. */
export function envPolicy(screening: EnvGuardMode, moderation: EnvGuardMode, deny?: DenyList): GuardPolicy {
  const input: GuardCheck[] = [];
  const output: GuardCheck[] = [];
  if (screening !== 'off') {
    input.push({ check: 'injection', action: screening, threshold: SCREENING_MODEL.threshold });
    if (deny && !deny.empty) input.push({ check: 'deny', action: screening, deny });
  }
  if (moderation !== 'off') {
    output.push({ check: 'pii', action: moderation });
    if (deny && !deny.empty) output.push({ check: 'deny', action: moderation, deny });
  }
  return makePolicy('env', input, output);
}

// ---- GATEWAY_CONFIG section

const action = z.enum(GUARD_ACTIONS as [GuardAction, ...GuardAction[]], { error: `action must be one of: ${GUARD_ACTIONS.join(', ')}` });
const PII_KINDS = Object.keys(PII_KIND_LABELS) as [PiiKind, ...PiiKind[]];

const CheckSchema = z.discriminatedUnion(
  'check',
  [
    z.strictObject({ check: z.literal('injection'), action, threshold: z.number().min(0).max(1).optional() }),
    z.strictObject({
      check: z.literal('deny'),
      action,
      terms: z.array(z.string().trim().min(1, 'a deny term cannot be empty').max(200)).optional(),
      patterns: z.array(z.string().min(1)).optional(),
      file: z.string().min(1).optional(),
    }),
    z.strictObject({ check: z.literal('pii'), action, kinds: z.array(z.enum(PII_KINDS, { error: `kinds must be among: ${PII_KINDS.join(', ')}` })).min(1).optional() }),
    z.strictObject({ check: z.literal('length'), action, max_chars: z.number().int().min(1) }),
    z.strictObject({
      check: z.literal('moderation'),
      action,
      base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }),
      api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'api_key_env must be the name of an environment variable').optional(),
      api_key: z.undefined({ error: 'keys never go in the file: put the key in an env variable and name it in api_key_env' }).optional(),
      model: z.string().min(1).optional(),
      timeout_ms: z.number().int().min(1).max(60_000).default(2000),
      on_error: z.enum(['open', 'closed'], { error: 'on_error must be open (let the text through) or closed (treat it as flagged): choose explicitly' }),
      categories: z.array(z.string().min(1)).min(1).optional(),
    }),
  ],
  { error: 'check must be one of: injection, deny, pii, length, moderation' },
);

const PolicySchema = z.strictObject({ input: z.array(CheckSchema).optional(), output: z.array(CheckSchema).optional() });

export const GuardrailsSectionSchema = z.strictObject({
  policies: z.record(z.string().regex(/^[\w.:-]{1,64}$/, 'policy names are 1-64 characters of letters, digits, _ . : -'), PolicySchema).default({}),
  keys: z.record(z.string().min(1), z.string()).default({}),
  tenants: z.record(z.string().min(1), z.string()).default({}),
  models: z.record(z.string().min(1), z.string()).default({}),
  default: z.string().optional(),
});
export type GuardrailsSection = z.infer<typeof GuardrailsSectionSchema>;

/** Which (check, action) pairs make sense on which side; everything else is refused at start. */
function actionProblem(stage: GuardStage, check: string, act: GuardAction): string | undefined {
  if (stage === 'output' && check === 'injection') return 'injection screens requests: put it under input';
  if (act !== 'mask') return undefined;
  if (check === 'injection' || check === 'moderation') return `${check} cannot mask: use log, flag or block`;
  if (stage === 'input' && check === 'pii') return 'pii on input cannot mask here: masking prompts is redaction (REDACTION=mask, or the key\'s redaction)';
  if (stage === 'input' && check === 'length') return 'length on input cannot mask: use log, flag or block';
  return undefined;
}

/**
 * Builds the policies of a parsed `guardrails:` section. Problems are pushed as "path: message"
 * (the caller prefixes the file). `inherit` is the env policy a policy refines.
 */
export function buildGuardrails(section: GuardrailsSection, env: Record<string, string | undefined>, inherit: GuardPolicy, problems: string[], baseDir: string, readDeny: (file: string) => DenyList = loadDenyFile): GuardrailsConfig {
  const policies = new Map<string, GuardPolicy>();
  for (const [name, p] of Object.entries(section.policies)) {
    const build = (stage: GuardStage, list: z.infer<typeof CheckSchema>[] | undefined): GuardCheck[] => {
      if (list === undefined) return inherit[stage];
      const out: GuardCheck[] = [];
      list.forEach((c, i) => {
        const at = `guardrails.policies.${name}.${stage}.${i}`;
        const problem = actionProblem(stage, c.check, c.action);
        if (problem) {
          problems.push(`${at}.action: ${problem}`);
          return;
        }
        switch (c.check) {
          case 'injection':
            out.push({ check: 'injection', action: c.action, threshold: c.threshold ?? SCREENING_MODEL.threshold });
            break;
          case 'pii':
            out.push({ check: 'pii', action: c.action, kinds: c.kinds });
            break;
          case 'length':
            out.push({ check: 'length', action: c.action, maxChars: c.max_chars });
            break;
          case 'deny': {
            const terms = [...(c.terms ?? [])];
            const patterns: RegExp[] = [];
            (c.patterns ?? []).forEach((src, k) => {
              const m = /^\/(.*)\/([a-z]*)$/s.exec(src);
              try {
                patterns.push(m ? compileSafePattern(m[1]!, m[2] || 'i') : compileSafePattern(src, 'i'));
              } catch (err) {
                if (err instanceof UnsafePatternError) problems.push(`${at}.patterns.${k}: ${err.message}`);
                else throw err;
              }
            });
            if (c.file) {
              try {
                const fromFile = readDeny(c.file.startsWith('/') ? c.file : `${baseDir}/${c.file}`);
                terms.push(...fromFile.terms);
                patterns.push(...fromFile.patterns);
              } catch (err) {
                if (err instanceof DenyListError) problems.push(`${at}.file: ${err.message}`);
                else throw err;
              }
            }
            if (terms.length === 0 && patterns.length === 0) problems.push(`${at}: a deny check needs terms, patterns or a file`);
            out.push({ check: 'deny', action: c.action, deny: new DenyList(terms, patterns) });
            break;
          }
          case 'moderation': {
            let apiKey: string | undefined;
            if (c.api_key_env) {
              apiKey = env[c.api_key_env]?.trim() || undefined;
              if (!apiKey) problems.push(`${at}.api_key_env: environment variable ${c.api_key_env} is not set`);
            }
            out.push({
              check: 'moderation',
              action: c.action,
              target: { baseUrl: c.base_url.replace(/\/+$/, ''), apiKey, model: c.model, timeoutMs: c.timeout_ms, onError: c.on_error, categories: c.categories },
            });
            break;
          }
        }
      });
      return out;
    };
    policies.set(name, makePolicy(name, build('input', p.input), build('output', p.output)));
  }
  const refs = (kind: 'keys' | 'tenants' | 'models') => {
    const m = new Map<string, string>();
    for (const [who, policy] of Object.entries(section[kind])) {
      if (!policies.has(policy)) problems.push(`guardrails.${kind}.${who}: no policy named ${policy} under guardrails.policies`);
      m.set(who, policy);
    }
    return m;
  };
  const keys = refs('keys');
  const tenants = refs('tenants');
  const models = refs('models');
  if (section.default !== undefined && !policies.has(section.default)) problems.push(`guardrails.default: no policy named ${section.default} under guardrails.policies`);
  return { policies, keys, tenants, models, default: section.default };
}

/** The policy for one request: key (name or id), tenant, model alias, the file's default, the env's. */
export function resolvePolicy(cfg: GuardrailsConfig | undefined, envDefault: GuardPolicy, who: { keyId?: string; keyName?: string; tenant: string; model: string }): GuardPolicy {
  if (!cfg) return envDefault;
  const name =
    (who.keyName !== undefined ? cfg.keys.get(who.keyName) : undefined) ??
    (who.keyId !== undefined ? cfg.keys.get(who.keyId) : undefined) ??
    cfg.tenants.get(who.tenant) ??
    cfg.models.get(who.model) ??
    cfg.default;
  return (name !== undefined ? cfg.policies.get(name) : undefined) ?? envDefault;
}
