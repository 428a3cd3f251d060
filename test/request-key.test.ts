import { expect } from 'chai';
import { computeCacheKeys } from '../src/cache/request-key.js';
import type { ChatRequest } from '../src/providers/types.js';

describe('cache scope: parameters that mean the same land in one scope', () => {
  const scope = (extra: Record<string, unknown> = {}) =>
    computeCacheKeys({ tenant: 't', namespace: 'default', model: 'm', request: { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra } as ChatRequest })
      .scope;
  const base = scope();

  it('treats a documented default like no value', () => {
    for (const extra of [{ temperature: 1 }, { top_p: 1 }, { n: 1 }, { presence_penalty: 0 }, { frequency_penalty: 0 }, { logprobs: false }, { temperature: null }]) {
      expect(scope(extra), JSON.stringify(extra)).to.equal(base);
    }
    expect(scope({ temperature: 1, top_p: 1, n: 1, presence_penalty: 0, frequency_penalty: 0 })).to.equal(base);
    // Values other than the default still split.
    expect(scope({ temperature: 0.7 })).to.not.equal(base);
    expect(scope({ n: 2 })).to.not.equal(base);
    expect(scope({ presence_penalty: 0.5 })).to.not.equal(base);
  });

  it('treats max_tokens and max_completion_tokens as one parameter', () => {
    expect(scope({ max_tokens: 100 })).to.equal(scope({ max_completion_tokens: 100 }));
    expect(scope({ max_tokens: 100, max_completion_tokens: 100 })).to.equal(scope({ max_completion_tokens: 100 }));
    expect(scope({ max_tokens: 100 })).to.not.equal(scope({ max_tokens: 200 }));
    expect(scope({ max_tokens: 100 })).to.not.equal(base);
  });

  it('folds equivalent spellings of stop, logit_bias, response_format and tool_choice', () => {
    expect(scope({ stop: 'END' })).to.equal(scope({ stop: ['END'] }));
    expect(scope({ stop: [] })).to.equal(base);
    expect(scope({ logit_bias: {} })).to.equal(base);
    expect(scope({ response_format: { type: 'text' } })).to.equal(base);
    expect(scope({ response_format: { type: 'json_object' } })).to.not.equal(base);
    expect(scope({ tool_choice: 'none' })).to.equal(base);
    const tools = [{ type: 'function', function: { name: 'f', parameters: {} } }];
    expect(scope({ tools, tool_choice: 'auto', parallel_tool_calls: true })).to.equal(scope({ tools }));
    expect(scope({ tools, tool_choice: 'required' })).to.not.equal(scope({ tools }));
    expect(scope({ tools, parallel_tool_calls: false })).to.not.equal(scope({ tools }));
  });
});
