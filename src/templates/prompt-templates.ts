import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import type { ChatMessage } from '../providers/types.js';

/**
 * Prompt templates (GATEWAY_CONFIG `templates:`): a named, versioned prompt the operator owns,
 * published as `POST /v1/templates/<name>` and usable as `"model": "template:<name>@<version>"`.
 *
 *   templates:
 *     summarize:
 *       versions:
 *         v1:
 *           model: fast                     # an alias of the config, or an upstream model
 *           params: { temperature: 0.2, max_tokens: 300 }
 *           messages:
 *             - { role: system, content: "You summarize {{language}} text in three bullet points." }
 *             - { role: user, content: "{{text}}" }
 *           weight: 3                       # share of calls that do not name a version (A/B)
 *         v2: { ... , weight: 1 }
 *       defaults: { language: English }     # optional variables
 *
 * `{{name}}` is replaced by the caller's value in one pass: a value is inserted as literal text,
 * so a `{{...}}` inside a value is never expanded (no template injection); `\{{` writes a literal
 * `{{`. Every variable a version uses is required unless it has a default; unknown variables are
 * refused, so a typo is a 400 rather than a silently different prompt.
 */

export const TEMPLATE_MODEL_PREFIX = 'template:';

const NAME_RE = /^[A-Za-z0-9][\w.-]{0,63}$/;
const VERSION_RE = /^[A-Za-z0-9][\w.-]{0,31}$/;
const VARIABLE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
// `\{{` (escaped) or `{{ name }}`; anything else inside braces is a config error.
const PLACEHOLDER_RE = /\\\{\{|\{\{\s*([^{}]*?)\s*\}\}/g;

/** Parameters a template may fix; messages, model and stream are not parameters. */
const TemplateParams = z
  .record(z.string(), z.unknown())
  .refine((p) => !['messages', 'model', 'stream', 'stream_options'].some((k) => k in p), 'params must not set messages, model, stream or stream_options')
  .default({});

const TemplateMessage = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'role must be system, developer, user or assistant' }),
  content: z.string({ error: 'content must be a string' }),
});

const TemplateVersionSchema = z.strictObject({
  model: z.string().min(1, 'model must name an alias or an upstream model').max(256),
  params: TemplateParams,
  messages: z.array(TemplateMessage).min(1, 'a template version needs at least one message'),
  weight: z.number().min(0, 'weight must be >= 0').default(1),
});

export const TemplateSchema = z
  .strictObject({
    versions: z.record(z.string().regex(VERSION_RE, 'version names are 1-32 letters, digits, _ . -'), TemplateVersionSchema),
    defaults: z.record(z.string().regex(VARIABLE_RE, 'variable names are letters, digits and _'), z.union([z.string(), z.number(), z.boolean()])).default({}),
  })
  .superRefine((t, ctx) => {
    const versions = Object.entries(t.versions);
    if (versions.length === 0) ctx.addIssue({ code: 'custom', path: ['versions'], message: 'a template needs at least one version' });
    else if (!versions.some(([, v]) => v.weight > 0)) ctx.addIssue({ code: 'custom', path: ['versions'], message: 'at least one version needs weight > 0' });
    for (const [name, v] of versions) {
      v.messages.forEach((m, i) => {
        for (const problem of placeholderProblems(m.content)) ctx.addIssue({ code: 'custom', path: ['versions', name, 'messages', i, 'content'], message: problem });
      });
    }
  });

export const TemplatesSchema = z.record(z.string().regex(NAME_RE, 'template names are 1-64 letters, digits, _ . -'), TemplateSchema);

export type TemplateFile = z.infer<typeof TemplatesSchema>;

export interface TemplateVersion {
  version: string;
  model: string;
  params: Record<string, unknown>;
  messages: Array<{ role: 'system' | 'developer' | 'user' | 'assistant'; content: string }>;
  weight: number;
  /** Variables the messages use, in order of first use. */
  variables: string[];
}

export interface PromptTemplate {
  name: string;
  versions: Map<string, TemplateVersion>;
  defaults: Record<string, string>;
}

export type TemplateRegistry = Map<string, PromptTemplate>;

function placeholderProblems(text: string): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    if (m[0] === '\\{{') continue;
    if (!VARIABLE_RE.test(m[1] ?? '')) problems.push(`{{${m[1]}}} is not a variable name (letters, digits and _)`);
  }
  return problems;
}

function variablesOf(texts: string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(PLACEHOLDER_RE)) if (m[1] !== undefined && m[0] !== '\\{{') seen.add(m[1]);
  return [...seen];
}

export function buildTemplateRegistry(file: TemplateFile | undefined): TemplateRegistry {
  const registry: TemplateRegistry = new Map();
  for (const [name, t] of Object.entries(file ?? {})) {
    const versions = new Map<string, TemplateVersion>();
    for (const [version, v] of Object.entries(t.versions)) {
      versions.set(version, { version, model: v.model, params: v.params, messages: v.messages, weight: v.weight, variables: variablesOf(v.messages.map((m) => m.content)) });
    }
    registry.set(name, { name, versions, defaults: Object.fromEntries(Object.entries(t.defaults).map(([k, val]) => [k, String(val)])) });
  }
  return registry;
}

/** `template:name` or `template:name@version`; undefined for any other model name. */
export function parseTemplateModel(model: unknown): { name: string; version?: string } | undefined {
  if (typeof model !== 'string' || !model.startsWith(TEMPLATE_MODEL_PREFIX)) return undefined;
  const ref = model.slice(TEMPLATE_MODEL_PREFIX.length);
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref } : { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** A version by name, or a weighted pick among versions with weight > 0 (the A/B split). */
export function chooseVersion(template: PromptTemplate, requested: string | undefined, random: () => number = Math.random): TemplateVersion {
  if (requested !== undefined) {
    const v = template.versions.get(requested);
    if (!v) {
      throw new ApiError(404, `template ${template.name} has no version ${JSON.stringify(requested)}; versions: ${[...template.versions.keys()].join(', ')}`, 'invalid_request_error', 'template_version_not_found', 'model');
    }
    return v;
  }
  const pool = [...template.versions.values()].filter((v) => v.weight > 0);
  const total = pool.reduce((s, v) => s + v.weight, 0);
  let r = random() * total;
  for (const v of pool) {
    if (r < v.weight) return v;
    r -= v.weight;
  }
  return pool[pool.length - 1]!;
}

function substitute(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER_RE, (whole, name: string | undefined) => (whole === '\\{{' ? '{{' : values[name!]!));
}

/** Checks the caller's variables against what the version uses; 400s name every problem. */
function resolveVariables(template: PromptTemplate, version: TemplateVersion, raw: unknown): Record<string, string> {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ApiError(400, 'variables must be an object of names to strings, numbers or booleans', 'invalid_request_error', 'invalid_value', 'variables');
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = { ...template.defaults };
  const unknown = Object.keys(given).filter((k) => !version.variables.includes(k));
  if (unknown.length) {
    throw new ApiError(400, `template ${template.name}@${version.version} has no variable ${unknown.map((u) => JSON.stringify(u.slice(0, 64))).join(', ')}; it uses: ${version.variables.join(', ') || '(none)'}`, 'invalid_request_error', 'unknown_template_variable', 'variables');
  }
  for (const [k, v] of Object.entries(given)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ApiError(400, `variables.${k} must be a string, number or boolean`, 'invalid_request_error', 'invalid_value', `variables.${k}`);
    }
    values[k] = String(v);
  }
  const missing = version.variables.filter((k) => values[k] === undefined);
  if (missing.length) {
    throw new ApiError(400, `template ${template.name}@${version.version} needs variable ${missing.join(', ')}`, 'invalid_request_error', 'missing_template_variable', 'variables');
  }
  return values;
}

export interface ExpandedTemplate {
  body: Record<string, unknown>;
  /** `name@version`: response header, log field and part of the cache scope. */
  ref: string;
  version: string;
}

/**
 * Turns a chat body whose model is `template:...` into the chat request the template describes:
 * the version's messages (rendered) come first, then any messages the caller sent (a conversation
 * continuing the template); the version's params are defaults the caller's own parameters override.
 * Any other body comes back unchanged, with no template.
 */
export function expandTemplateRequest(body: unknown, registry: TemplateRegistry, random?: () => number): ExpandedTemplate | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { model, variables, messages, ...rest } = body as Record<string, unknown>;
  const ref = parseTemplateModel(model);
  if (!ref) return undefined;
  const template = registry.get(ref.name);
  if (!template) {
    const known = [...registry.keys()];
    throw new ApiError(404, `no template named ${JSON.stringify(ref.name.slice(0, 64))}${known.length ? `; templates: ${known.join(', ')}` : ' (GATEWAY_CONFIG defines none)'}`, 'invalid_request_error', 'template_not_found', 'model');
  }
  if (messages !== undefined && !Array.isArray(messages)) {
    throw new ApiError(400, 'messages must be an array (messages sent with a template follow its own)', 'invalid_request_error', 'invalid_value', 'messages');
  }
  const version = chooseVersion(template, ref.version, random);
  const values = resolveVariables(template, version, variables);
  const rendered: ChatMessage[] = version.messages.map((m) => ({ role: m.role, content: substitute(m.content, values) }));
  return {
    body: { ...version.params, ...rest, model: version.model, messages: [...rendered, ...((messages as unknown[] | undefined) ?? [])] },
    ref: `${template.name}@${version.version}`,
    version: version.version,
  };
}
