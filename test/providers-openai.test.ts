import { expect } from 'chai';
import { anthropicProvider } from '../src/providers/anthropic/index.js';
import { openAIErrorMessage, openaiCompatibleProvider, openaiProvider } from '../src/providers/openai/index.js';
import { getProvider, isProviderName, PROVIDER_NAMES } from '../src/providers/registry.js';
import { UpstreamFormatError, UpstreamStreamError, type ChatRequest, type Target } from '../src/providers/types.js';

const target: Target = {
  provider: 'openai',
  baseUrl: 'https://api.openai.example/v1/',
  model: 'gpt-4o-mini-2024-07-18',
  apiKey: 'test-openai-key',
  timeoutMs: 30_000,
};

describe('openai provider: request', () => {
  const req: ChatRequest = {
    model: 'fast',
    messages: [{ role: 'user', content: 'hi' }],
    temperature: 0.2,
    logit_bias: { '50256': -100 },
    reasoning_effort: 'low',
    stream: true,
    stream_options: { include_usage: true },
  };

  it('posts to <baseUrl>/chat/completions with a Bearer key', () => {
    const up = openaiProvider.toUpstream(req, target);
    expect(up.url).to.equal('https://api.openai.example/v1/chat/completions');
    expect(up.headers).to.deep.equal({ 'content-type': 'application/json', authorization: 'Bearer test-openai-key' });
  });

  it('replaces only the model and forwards every other field, known or not', () => {
    const up = openaiProvider.toUpstream(req, target);
    expect(up.body).to.deep.equal({ ...req, model: 'gpt-4o-mini-2024-07-18' });
    expect(req.model, 'the client request is not mutated').to.equal('fast');
  });

  it('sends no authorization header to a keyless local server', () => {
    const up = openaiCompatibleProvider.toUpstream(req, { ...target, baseUrl: 'http://127.0.0.1:11434/v1', apiKey: undefined });
    expect(up.url).to.equal('http://127.0.0.1:11434/v1/chat/completions');
    expect(up.headers).to.not.have.property('authorization');
  });
});

describe('openai provider: response', () => {
  it('passes a well-formed completion through unchanged', () => {
    const body = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      system_fingerprint: 'fp_1',
      service_tier: 'default',
    };
    expect(openaiProvider.fromUpstream(body, { model: 'fast', messages: [] })).to.deep.equal(body);
  });

  it('fills `object` for servers that omit it', () => {
    const out = openaiProvider.fromUpstream(
      { id: 'x', created: 1, model: 'llama3', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] },
      { model: 'm', messages: [] },
    );
    expect(out.object).to.equal('chat.completion');
  });

  it('rejects bodies without choices or with a choice lacking a message', () => {
    const bad: unknown[] = [null, 'text', [], { id: 'x' }, { choices: [{ index: 0, finish_reason: 'stop' }] }];
    for (const body of bad) {
      expect(() => openaiProvider.fromUpstream(body, { model: 'm', messages: [] }), JSON.stringify(body)).to.throw(UpstreamFormatError);
    }
  });

  it('extracts error messages from OpenAI and compatible servers, scrubbing echoed keys', () => {
    expect(
      openAIErrorMessage(401, {
        error: { message: 'Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz123456.', type: 'invalid_request_error' },
      }),
    ).to.equal('Incorrect API key provided: [REDACTED].');
    expect(openAIErrorMessage(400, { detail: 'model not found' })).to.equal('model not found');
    expect(openAIErrorMessage(500, 'Internal Server Error\n')).to.equal('Internal Server Error');
    expect(openAIErrorMessage(503, {})).to.equal('upstream returned HTTP 503');
    expect(openAIErrorMessage(500, 'x'.repeat(2000))).to.have.length(500);
  });
});

describe('openai provider: stream', () => {
  const req: ChatRequest = { model: 'fast', messages: [{ role: 'user', content: 'x' }], stream: true };

  it('parses each data chunk and marks done on [DONE]', () => {
    const translator = openaiProvider.streamTranslator(req);
    const first = {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    };
    const last = { ...first, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
    expect(translator.push({ data: JSON.stringify(first) })).to.deep.equal([first]);
    expect(translator.done).to.equal(false);
    expect(translator.push({ data: JSON.stringify(last) })).to.deep.equal([last]);
    expect(translator.push({ data: '[DONE]' })).to.deep.equal([]);
    expect(translator.done).to.equal(true);
  });

  it('normalises a usage chunk sent with `choices: null` to an empty array', () => {
    const chunks = openaiProvider.streamTranslator(req).push({
      data: '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":null,"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}',
    });
    expect(chunks).to.have.length(1);
    expect(chunks[0]!.choices).to.deep.equal([]);
    expect(chunks[0]!.usage?.total_tokens).to.equal(7);
  });

  it('turns a mid-stream error chunk into an UpstreamStreamError', () => {
    const translator = openaiProvider.streamTranslator(req);
    expect(() => translator.push({ data: '{"error":{"message":"upstream overloaded","type":"server_error"}}' }))
      .to.throw(UpstreamStreamError, 'upstream overloaded')
      .with.property('errorType', 'server_error');
  });

  it('rejects data that is not a JSON object', () => {
    expect(() => openaiProvider.streamTranslator(req).push({ data: '{"id":' })).to.throw(UpstreamFormatError);
    expect(() => openaiProvider.streamTranslator(req).push({ data: '[1,2]' })).to.throw(UpstreamFormatError);
  });

  it('ignores empty keep-alive data', () => {
    const translator = openaiProvider.streamTranslator(req);
    expect(translator.push({ data: '' })).to.deep.equal([]);
    expect(translator.done).to.equal(false);
  });
});

describe('provider registry', () => {
  it('returns the provider for each configured kind', () => {
    expect(getProvider('openai')).to.equal(openaiProvider);
    expect(getProvider('openai-compatible').name).to.equal('openai-compatible');
    expect(getProvider('anthropic')).to.equal(anthropicProvider);
    expect(PROVIDER_NAMES).to.have.members(['openai', 'openai-compatible', 'anthropic']);
  });

  it('names the known providers when asked for an unknown one', () => {
    expect(() => getProvider('gemini')).to.throw('unknown provider "gemini"; expected one of: openai, openai-compatible, anthropic');
    expect(() => getProvider('toString')).to.throw('unknown provider');
    expect(isProviderName('constructor')).to.equal(false);
  });
});
