import { expect } from 'chai';
import OpenAI from 'openai';
import {
  anthropicErrorMessage,
  createAnthropicProvider,
  DEFAULT_MAX_TOKENS,
  toAnthropicMessages,
} from '../src/providers/anthropic/index.js';
import {
  ProviderRequestError,
  UpstreamFormatError,
  UpstreamStreamError,
  type ChatCompletionChunk,
  type ChatRequest,
  type Target,
} from '../src/providers/types.js';

const CREATED = 1_700_000_000;
const provider = createAnthropicProvider({ now: () => CREATED });
const target: Target = {
  provider: 'anthropic',
  baseUrl: 'https://api.anthropic.example/v1/',
  model: 'claude-sonnet-4-5',
  apiKey: 'test-anthropic-key',
  timeoutMs: 30_000,
};

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

function bodyOf(req: ChatRequest): Record<string, unknown> {
  return provider.toUpstream(req, target).body as Record<string, unknown>;
}

/** Turns an SSE transcript ("event: x\ndata: {...}\n\n"...) into the events a translator is fed. */
function sseEvents(transcript: string): Array<{ event?: string; data: string }> {
  return transcript
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length);
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice('data: '.length))
        .join('\n');
      return { event, data };
    });
}

function translate(req: ChatRequest, transcript: string): { chunks: ChatCompletionChunk[]; done: boolean } {
  const translator = provider.streamTranslator(req);
  const chunks: ChatCompletionChunk[] = [];
  for (const event of sseEvents(transcript)) chunks.push(...translator.push(event));
  return { chunks, done: translator.done };
}

// Shaped like a recorded Messages API stream: text, then a tool call whose JSON arrives in pieces.
const TOOL_STREAM = `
event: message_start
data: {"type":"message_start","message":{"id":"msg_01Abc","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_read_input_tokens":100,"cache_creation_input_tokens":0,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"San"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisco, CA\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}
`;

const TEXT_STREAM = `
event: message_start
data: {"type":"message_start","message":{"id":"msg_02Xyz","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}
`;

describe('anthropic provider: request translation', () => {
  it('posts to <baseUrl>/messages with x-api-key and anthropic-version, never a Bearer header', () => {
    const up = provider.toUpstream({ model: 'alias', messages: [{ role: 'user', content: 'hi' }] }, target);
    expect(up.url).to.equal('https://api.anthropic.example/v1/messages');
    expect(up.headers).to.deep.equal({
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'test-anthropic-key',
    });
  });

  it('uses the target model, defaults max_tokens and forwards sampling parameters', () => {
    const body = bodyOf({ model: 'alias', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, top_p: 0.9 });
    expect(body).to.deep.equal({
      model: 'claude-sonnet-4-5',
      max_tokens: DEFAULT_MAX_TOKENS,
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.3,
      top_p: 0.9,
    });
  });

  it('prefers max_completion_tokens over max_tokens, and clamps temperature to Anthropic range', () => {
    const body = bodyOf({
      model: 'a',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 50,
      max_completion_tokens: 70,
      temperature: 1.7,
    });
    expect(body.max_tokens).to.equal(70);
    expect(body.temperature).to.equal(1);
    expect(bodyOf({ model: 'a', messages: [{ role: 'user', content: 'x' }], max_tokens: 50 }).max_tokens).to.equal(50);
  });

  it('maps stop (string or list) to stop_sequences, user to metadata, stream flag through', () => {
    expect(bodyOf({ model: 'a', messages: [{ role: 'user', content: 'x' }], stop: 'END' }).stop_sequences).to.deep.equal(['END']);
    const body = bodyOf({ model: 'a', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b'], user: 'u-1', stream: true });
    expect(body.stop_sequences).to.deep.equal(['a', 'b']);
    expect(body.metadata).to.deep.equal({ user_id: 'u-1' });
    expect(body.stream).to.equal(true);
  });

  it('hoists system and developer messages into `system` and merges consecutive same-role turns', () => {
    const out = toAnthropicMessages([
      { role: 'system', content: 'You are terse.' },
      { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      { role: 'user', content: 'Bonjour' },
      { role: 'user', content: [{ type: 'text', text: 'Ça va ?' }] },
      { role: 'assistant', content: 'Oui.' },
      { role: 'assistant', content: 'Et toi ?' },
      { role: 'user', content: 'Bien.' },
    ]);
    expect(out.system).to.equal('You are terse.\n\nAnswer in French.');
    expect(out.messages).to.deep.equal([
      { role: 'user', content: [{ type: 'text', text: 'Bonjour' }, { type: 'text', text: 'Ça va ?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Oui.' }, { type: 'text', text: 'Et toi ?' }] },
      { role: 'user', content: 'Bien.' },
    ]);
  });

  it('turns data-URL images into base64 image blocks and other URLs into url sources', () => {
    const out = toAnthropicMessages([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://img.example/cat.jpg', detail: 'low' } },
        ],
      },
    ]);
    expect(out.messages[0]!.content).to.deep.equal([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://img.example/cat.jpg' } },
    ]);
  });

  it('translates tools, assistant tool_calls and tool results (merged into one user turn)', () => {
    const body = bodyOf({
      model: 'a',
      tools: [WEATHER_TOOL, { type: 'function', function: { name: 'now' } }],
      tool_choice: 'auto',
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
        { role: 'user', content: 'Thanks, summarise.' },
      ],
    });
    expect(body.tools).to.deep.equal([
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
      },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(body.tool_choice).to.deep.equal({ type: 'auto' });
    expect(body.messages).to.deep.equal([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { location: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: '24C' },
          { type: 'text', text: 'Thanks, summarise.' },
        ],
      },
    ]);
  });

  it('maps each tool_choice form and parallel_tool_calls:false', () => {
    const choice = (tool_choice: unknown, extra: Partial<ChatRequest> = {}) =>
      bodyOf({ model: 'a', messages: [{ role: 'user', content: 'x' }], tools: [WEATHER_TOOL], tool_choice, ...extra }).tool_choice;
    expect(choice('none')).to.deep.equal({ type: 'none' });
    expect(choice('required')).to.deep.equal({ type: 'any' });
    expect(choice({ type: 'function', function: { name: 'get_weather' } })).to.deep.equal({ type: 'tool', name: 'get_weather' });
    expect(choice(undefined)).to.equal(undefined);
    expect(choice(undefined, { parallel_tool_calls: false })).to.deep.equal({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice('required', { parallel_tool_calls: false })).to.deep.equal({ type: 'any', disable_parallel_tool_use: true });
  });

  it('refuses what Anthropic cannot express, with a ProviderRequestError', () => {
    const bad: ChatRequest[] = [
      { model: 'a', n: 2, messages: [{ role: 'user', content: 'x' }] },
      { model: 'a', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
      { model: 'a', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] },
      { model: 'a', messages: [{ role: 'tool', content: 'orphan' }] },
      {
        model: 'a',
        messages: [
          { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] },
        ],
      },
    ];
    for (const req of bad) expect(() => bodyOf(req), JSON.stringify(req)).to.throw(ProviderRequestError);
  });
});

describe('anthropic provider: response translation', () => {
  it('turns text and tool_use blocks into message content and tool_calls', () => {
    const out = provider.fromUpstream(
      {
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'Oslo' } },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 30, output_tokens: 12, cache_read_input_tokens: 8, cache_creation_input_tokens: 4 },
      },
      { model: 'alias', messages: [] },
    );
    expect(out).to.deep.equal({
      id: 'msg_01',
      object: 'chat.completion',
      created: CREATED,
      model: 'claude-sonnet-4-5-20250929',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Oslo"}' } }],
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 42,
        completion_tokens: 12,
        total_tokens: 54,
        prompt_tokens_details: { cached_tokens: 8 },
        cache_creation_input_tokens: 4,
      },
    });
  });

  it('gives null content for a pure tool-call answer', () => {
    const out = provider.fromUpstream(
      { id: 'm', type: 'message', model: 'c', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }], stop_reason: 'tool_use', usage: {} },
      { model: 'a', messages: [] },
    );
    expect(out.choices[0]!.message.content).to.equal(null);
    expect(out.choices[0]!.message.tool_calls![0]!.function.arguments).to.equal('{}');
  });

  it('maps every stop reason', () => {
    const cases: Record<string, string> = {
      end_turn: 'stop',
      stop_sequence: 'stop',
      max_tokens: 'length',
      tool_use: 'tool_calls',
      refusal: 'content_filter',
    };
    for (const [stop_reason, expected] of Object.entries(cases)) {
      const out = provider.fromUpstream(
        { id: 'm', type: 'message', model: 'c', content: [{ type: 'text', text: 'x' }], stop_reason, usage: { input_tokens: 1, output_tokens: 1 } },
        { model: 'a', messages: [] },
      );
      expect(out.choices[0]!.finish_reason, stop_reason).to.equal(expected);
    }
  });

  it('rejects a body that is not an Anthropic message', () => {
    expect(() => provider.fromUpstream({ choices: [] }, { model: 'a', messages: [] })).to.throw(UpstreamFormatError);
  });

  it('formats Anthropic error bodies and scrubs keys from them', () => {
    expect(anthropicErrorMessage(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })).to.equal(
      'overloaded_error: Overloaded',
    );
    const leaked = anthropicErrorMessage(401, {
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key sk-ant-api03-abcdefghijklmnopqrstuvwxyz' },
    });
    expect(leaked).to.equal('authentication_error: invalid x-api-key [REDACTED]');
    expect(anthropicErrorMessage(502, undefined)).to.equal('upstream returned HTTP 502');
  });
});

describe('anthropic provider: stream translation', () => {
  const req: ChatRequest = { model: 'alias', messages: [{ role: 'user', content: 'x' }], stream: true, tools: [WEATHER_TOOL] };

  it('translates a text + tool-use stream into OpenAI chunks, in order', () => {
    const { chunks, done } = translate(req, TOOL_STREAM);
    expect(done).to.equal(true);
    const base = { id: 'msg_01Abc', object: 'chat.completion.chunk', created: CREATED, model: 'claude-sonnet-4-5-20250929' };
    const choice = (delta: object, finish_reason: string | null = null) => ({ ...base, choices: [{ index: 0, delta, finish_reason, logprobs: null }] });
    expect(chunks).to.deep.equal([
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Let me check' }),
      choice({ content: ' the weather.' }),
      choice({ tool_calls: [{ index: 0, id: 'toolu_01T1x', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      choice({ tool_calls: [{ index: 0, function: { arguments: '{"location": "San' } }] }),
      choice({ tool_calls: [{ index: 0, function: { arguments: ' Francisco, CA"}' } }] }),
      choice({}, 'tool_calls'),
    ]);
    // Without include_usage OpenAI sends no usage field at all.
    expect(chunks.every((c) => !('usage' in c))).to.equal(true);
  });

  it('ends with a usage chunk (empty choices) and null usage elsewhere when include_usage is set', () => {
    const { chunks } = translate({ ...req, tools: undefined, stream_options: { include_usage: true } }, TEXT_STREAM);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).to.deep.equal([]);
    expect(last.usage).to.deep.equal({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } });
    expect(chunks.slice(0, -1).map((c) => c.usage)).to.deep.equal([null, null, null, null]);
    expect(chunks[chunks.length - 2]!.choices[0]!.finish_reason).to.equal('length');
  });

  it('counts cached prompt tokens in the streamed usage', () => {
    const { chunks } = translate({ ...req, stream_options: { include_usage: true } }, TOOL_STREAM);
    expect(chunks[chunks.length - 1]!.usage).to.deep.equal({
      prompt_tokens: 572,
      completion_tokens: 89,
      total_tokens: 661,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it('assembles to the same completion as the non-stream translation of the same message', () => {
    const { chunks } = translate(req, TOOL_STREAM);
    let content = '';
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let finish: string | null = null;
    for (const c of chunks) {
      for (const ch of c.choices) {
        content += ch.delta.content ?? '';
        for (const tc of ch.delta.tool_calls ?? []) {
          calls[tc.index] ??= { id: '', name: '', arguments: '' };
          calls[tc.index]!.id += tc.id ?? '';
          calls[tc.index]!.name += tc.function?.name ?? '';
          calls[tc.index]!.arguments += tc.function?.arguments ?? '';
        }
        finish = ch.finish_reason ?? finish;
      }
    }
    const nonStream = provider.fromUpstream(
      {
        id: 'msg_01Abc',
        type: 'message',
        model: 'claude-sonnet-4-5-20250929',
        content: [
          { type: 'text', text: 'Let me check the weather.' },
          { type: 'tool_use', id: 'toolu_01T1x', name: 'get_weather', input: { location: 'San Francisco, CA' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 472, output_tokens: 89 },
      },
      req,
    );
    const message = nonStream.choices[0]!.message;
    expect(content).to.equal(message.content);
    expect(finish).to.equal(nonStream.choices[0]!.finish_reason);
    expect(calls.map((c) => ({ ...c, arguments: JSON.parse(c.arguments) }))).to.deep.equal(
      message.tool_calls!.map((t) => ({ id: t.id, name: t.function.name, arguments: JSON.parse(t.function.arguments) })),
    );
  });

  it('is accepted by the official OpenAI SDK stream helper', async () => {
    const { chunks } = translate({ ...req, stream_options: { include_usage: true } }, TOOL_STREAM);
    const sse = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
    const client = new OpenAI({
      apiKey: 'unused',
      baseURL: 'http://gateway.invalid/v1',
      maxRetries: 0,
      // In-process: the SDK parses our SSE bytes exactly as it would a real gateway response.
      fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    });
    const stream = client.chat.completions.stream({
      model: 'alias',
      messages: [{ role: 'user', content: 'x' }],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).to.equal('Let me check the weather.');
    expect(final.choices[0]!.finish_reason).to.equal('tool_calls');
    expect(final.choices[0]!.message.tool_calls![0]).to.deep.include({ id: 'toolu_01T1x', type: 'function' });
    expect(JSON.parse((final.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments)).to.deep.equal({
      location: 'San Francisco, CA',
    });
    expect(final.usage?.total_tokens).to.equal(661);
  });

  it('numbers parallel tool calls 0, 1 even though Anthropic block indexes start after text', () => {
    const transcript = `
data: {"type":"message_start","message":{"id":"m","type":"message","model":"c","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}

data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Both:"}}

data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"a","input":{}}}

data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}

data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t2","name":"b","input":{}}}

data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"x\\":1}"}}

data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}}

data: {"type":"message_stop"}
`;
    const { chunks } = translate(req, transcript);
    const toolDeltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
    expect(toolDeltas.map((t) => [t.index, t.id ?? null, t.function?.arguments])).to.deep.equal([
      [0, 't1', ''],
      [0, null, '{}'],
      [1, 't2', ''],
      [1, null, '{"x":1}'],
    ]);
    expect(chunks[1]!.choices[0]!.delta).to.deep.equal({ content: 'Both:' });
  });

  it('is not done before message_stop, and emits a finish chunk even if message_delta never came', () => {
    const translator = provider.streamTranslator(req);
    translator.push({ data: '{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3,"output_tokens":0}}}' });
    translator.push({ data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"partial"}}' });
    expect(translator.done).to.equal(false);
    const end = translator.push({ event: 'message_stop', data: '{"type":"message_stop"}' });
    expect(translator.done).to.equal(true);
    expect(end.map((c) => c.choices[0]?.finish_reason)).to.deep.equal(['stop']);
  });

  it('throws an UpstreamStreamError carrying the type on an error event', () => {
    const translator = provider.streamTranslator(req);
    translator.push({ data: '{"type":"message_start","message":{"id":"m","model":"c","usage":{}}}' });
    let caught: unknown;
    try {
      translator.push({ event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(UpstreamStreamError);
    expect((caught as UpstreamStreamError).message).to.equal('Overloaded');
    expect((caught as UpstreamStreamError).errorType).to.equal('overloaded_error');
  });

  it('rejects non-JSON event data', () => {
    expect(() => provider.streamTranslator(req).push({ data: 'not json' })).to.throw(UpstreamFormatError);
  });
});
