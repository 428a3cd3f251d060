import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseChatRequest } from '../http/chat-schema.js';
import { PROVIDER_NAMES, type ProviderName } from '../providers/registry.js';
import { REDACTION_MODES, type RedactionMode } from '../policy/redaction.js';
import { SystemPromptPolicySchema, type SystemPromptPolicy } from '../policy/system-prompt.js';
import { buildTemplateRegistry, TemplatesSchema, type TemplateRegistry } from '../templates/prompt-templates.js';
import { buildGuardrails, envPolicy, GuardrailsSectionSchema, type GuardPolicy, type GuardrailsConfig } from '../guardrails/policy.js';

/**
 * The routing config file (GATEWAY_CONFIG), JSON or YAML:
 *
 *   models:
 *     fast:                          # the alias clients send as `model`
 *       targets:                     # tried in order of priority (default: position in the list)
 *         - provider: openai         # openai | openai-compatible | anthropic
 *           base_url: https://api.openai.com/v1
 *           model: gpt-4o-mini
 *           api_key_env: OPENAI_API_KEY   # the NAME of an env variable, never the key
 *           weight: 3                # load share among targets of the same priority
 *           timeout_ms: 30000
 *       system_prompt: { mode: prepend, content: "..." }   # prepend | replace | forbid (policy/system-prompt.ts)
 *   templates: { ... }               # prompt templates (templates/prompt-templates.ts)
 *   retry: { attempts: 2, backoff_ms: 200, max_backoff_ms: 2000 }
 *   circuit_breaker: { failures: 5, cooldown_ms: 30000 }
 *   redaction: mask                  # overrides REDACTION for every key without its own setting
 *   guardrails: { policies: {...}, keys: {...}, models: {...} }   # see src/guardrails/policy.ts
 *
 * Keys are looked up in the environment at start, so a file can be committed and shared.
 */

// A key pasted into the file is refused loudly: the file is meant to be shareable.
const NO_KEY_IN_FILE = z.undefined({ error: 'keys never go in the file: put the key in an env variable and name it in api_key_env' }).optional();

const TargetSchema = z.strictObject({
  provider: z.enum(PROVIDER_NAMES, { error: `provider must be one of: ${PROVIDER_NAMES.join(', ')}` }),
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }),
  model: z.string({ error: 'model must name the upstream model' }).min(1, 'model must name the upstream model'),
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'api_key_env must be the name of an environment variable (letters, digits, _), not a key')
    .optional(),
  api_key: NO_KEY_IN_FILE,
  apiKey: NO_KEY_IN_FILE,
  weight: z.number().positive('weight must be > 0').default(1),
  priority: z.number().int().min(0).optional(),
  timeout_ms: z.number().int().min(1).optional(),
});

const AliasSchema = z.preprocess(
  // `alias: [targets]` is shorthand for `alias: { targets: [...] }`.
  (v) => (Array.isArray(v) ? { targets: v } : v),
  z.strictObject({
    targets: z.array(TargetSchema).min(1, 'an alias needs at least one target'),
    system_prompt: SystemPromptPolicySchema.optional(),
  }),
);

const RoutingFileSchema = z.strictObject({
  models: z.record(z.string().min(1).max(200), AliasSchema).optional(),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(10).default(2),
      backoff_ms: z.number().int().min(0).default(200),
      max_backoff_ms: z.number().int().min(0).default(2000),
    })
    .prefault({}),
  circuit_breaker: z
    .strictObject({
      failures: z.number().int().min(1).default(5),
      cooldown_ms: z.number().int().min(1).default(30_000),
    })
    .prefault({}),
  redaction: z.enum(REDACTION_MODES as [RedactionMode, ...RedactionMode[]]).optional(),
  templates: TemplatesSchema.optional(),
  guardrails: GuardrailsSectionSchema.optional(),
});

export interface RouteTarget {
  provider: ProviderName;
  baseUrl: string;
  model: string;
  /** Resolved from api_key_env at load; never logged or stored. */
  apiKey?: string;
  weight: number;
  priority: number;
  timeoutMs: number;
}

export interface RetryPolicy {
  /** Calls per target, the first included. */
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export interface BreakerPolicy {
  /** Consecutive retryable failures that open the circuit. */
  failures: number;
  cooldownMs: number;
}

export interface RoutingConfig {
  /** Alias -> targets; empty when the file only sets policy (single-upstream mode then). */
  models: Map<string, RouteTarget[]>;
  retry: RetryPolicy;
  breaker: BreakerPolicy;
  redaction?: RedactionMode;
  /** Alias -> the operator's system-prompt policy for it. */
  systemPrompts: Map<string, SystemPromptPolicy>;
  templates: TemplateRegistry;
  guardrails?: GuardrailsConfig;
}

export class RoutingConfigError extends Error {}

/**
 * Validates an already-parsed routing document. `source` names it in errors; `env` supplies the
 * keys named by api_key_env; `defaultTimeoutMs` applies to targets without timeout_ms.
 */
export function parseRoutingConfig(
  raw: unknown,
  source: string,
  env: Record<string, string | undefined>,
  defaultTimeoutMs: number,
  /** The env's guardrail defaults, which a policy that leaves out a side keeps. */
  guardDefaults: GuardPolicy = envPolicy('off', 'off'),
): RoutingConfig {
  const parsed = RoutingFileSchema.safeParse(raw ?? {});
  const problems: string[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new RoutingConfigError(`invalid routing config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  const file = parsed.data;
  const models = new Map<string, RouteTarget[]>();
  const systemPrompts = new Map<string, SystemPromptPolicy>();
  for (const [alias, { targets, system_prompt }] of Object.entries(file.models ?? {})) {
    if (system_prompt) systemPrompts.set(alias, system_prompt);
    models.set(
      alias,
      targets.map((t, i) => {
        let apiKey: string | undefined;
        if (t.api_key_env !== undefined) {
          apiKey = env[t.api_key_env]?.trim() || undefined;
          if (!apiKey) problems.push(`models.${alias}.targets.${i}.api_key_env: environment variable ${t.api_key_env} is not set`);
        }
        return {
          provider: t.provider,
          baseUrl: t.base_url.replace(/\/+$/, ''),
          model: t.model,
          apiKey,
          weight: t.weight,
          priority: t.priority ?? i,
          timeoutMs: t.timeout_ms ?? defaultTimeoutMs,
        };
      }),
    );
  }
  // With aliases, a template must name one of them: an unknown one would 404 on every call.
  for (const [name, t] of Object.entries(file.templates ?? {})) {
    for (const [version, v] of Object.entries(t.versions)) {
      const at = `templates.${name}.versions.${version}`;
      if (models.size > 0 && !models.has(v.model)) problems.push(`${at}.model: ${v.model} is not an alias of models (${[...models.keys()].join(', ')})`);
      // Parameters of the wrong type would be a 400 on every call: refuse them at start.
      try {
        parseChatRequest({ ...v.params, model: v.model, messages: v.messages });
      } catch (err) {
        problems.push(`${at}.params: ${(err as Error).message}`);
      }
    }
  }
  if (file.retry.max_backoff_ms < file.retry.backoff_ms) problems.push('retry.max_backoff_ms: must be >= retry.backoff_ms');
  const guardrails = file.guardrails ? buildGuardrails(file.guardrails, env, guardDefaults, problems, path.dirname(path.resolve(source))) : undefined;
  if (problems.length) throw new RoutingConfigError(`invalid routing config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return {
    models,
    retry: { attempts: file.retry.attempts, backoffMs: file.retry.backoff_ms, maxBackoffMs: file.retry.max_backoff_ms },
    breaker: { failures: file.circuit_breaker.failures, cooldownMs: file.circuit_breaker.cooldown_ms },
    redaction: file.redaction,
    systemPrompts,
    templates: buildTemplateRegistry(file.templates),
    guardrails,
  };
}

/** Reads GATEWAY_CONFIG (.json, or YAML for anything else; YAML is a superset of JSON anyway). */
export function loadRoutingConfig(file: string, env: Record<string, string | undefined>, defaultTimeoutMs: number, guardDefaults?: GuardPolicy): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoutingConfigError(`cannot read routing config ${file} (GATEWAY_CONFIG): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new RoutingConfigError(`routing config ${file} does not parse: ${(err as Error).message}`);
  }
  return parseRoutingConfig(raw, file, env, defaultTimeoutMs, guardDefaults);
}
