import { scrubSecrets } from '../../policy/redaction.js';
import { UpstreamFormatError, type ChatCompletion } from '../types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenAI-compatible servers answer in our own format, so this only checks the fields the gateway
 * reads (choices, message) and fills `object` that some servers omit; everything else passes through.
 */
export function parseOpenAICompletion(body: unknown): ChatCompletion {
  if (!isRecord(body)) throw new UpstreamFormatError('upstream chat completion is not a JSON object');
  const choices = body.choices;
  if (!Array.isArray(choices)) throw new UpstreamFormatError('upstream chat completion has no choices array');
  choices.forEach((choice, i) => {
    if (!isRecord(choice) || !isRecord(choice.message)) {
      throw new UpstreamFormatError(`upstream chat completion choice ${i} has no message`);
    }
  });
  return {
    ...body,
    id: typeof body.id === 'string' ? body.id : '',
    object: 'chat.completion',
    created: typeof body.created === 'number' ? body.created : 0,
    model: typeof body.model === 'string' ? body.model : '',
    choices,
  } as ChatCompletion;
}

const MAX_ERROR_CHARS = 500;

/**
 * OpenAI puts the reason in `error.message`; some compatible servers use `{"detail": ...}` or plain
 * text. OpenAI's own 401 echoes part of the key, hence the scrub.
 */
export function openAIErrorMessage(status: number, body: unknown): string {
  let message: string | undefined;
  if (isRecord(body)) {
    const error = body.error;
    if (isRecord(error) && typeof error.message === 'string') message = error.message;
    else if (typeof error === 'string') message = error;
    else if (typeof body.detail === 'string') message = body.detail;
    else if (typeof body.message === 'string') message = body.message;
  } else if (typeof body === 'string' && body.trim() !== '') {
    message = body.trim();
  }
  const text = message ?? `upstream returned HTTP ${status}`;
  return scrubSecrets(text).slice(0, MAX_ERROR_CHARS);
}
