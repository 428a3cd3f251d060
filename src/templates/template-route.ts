import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import { TEMPLATE_MODEL_PREFIX } from './prompt-templates.js';

/**
 * The body of `POST /v1/templates/:name`. The template fixes the prompt, model and parameters; the
 * caller brings the variables and may pick a version and ask for a stream. Anything else is refused
 * so a published prompt cannot be steered by extra parameters.
 */
const TemplateCallSchema = z.strictObject({
  variables: z.record(z.string(), z.unknown()).optional(),
  version: z.string().min(1).max(32).regex(/^[\w.-]+$/, 'version is 1-32 letters, digits, _ . -').optional(),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional(),
  user: z.string().max(256).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

/** Turns a template call into the chat body `{model: "template:name@version", variables, ...}`. */
export function templateCallBody(name: string, body: unknown): Record<string, unknown> {
  if (name.includes('@')) throw new ApiError(404, 'template names do not contain @; pick a version with {"version": "..."}', 'invalid_request_error', 'template_not_found');
  const parsed = TemplateCallSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map(String).join('.');
    const hint = issue.code === 'unrecognized_keys' ? ' (a template call takes variables, version, stream, stream_options, user, metadata)' : '';
    throw new ApiError(400, `${param ? `${param}: ` : ''}${issue.message}${hint}`, 'invalid_request_error', 'invalid_value', param || null);
  }
  const { version, ...rest } = parsed.data;
  return { ...rest, model: `${TEMPLATE_MODEL_PREFIX}${name}${version ? `@${version}` : ''}` };
}
