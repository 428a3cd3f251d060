import { expect } from 'chai';
import { get_encoding } from 'tiktoken';
import {
  countChatPromptTokens,
  countCompletionTokens,
  countTextTokens,
  encodingForModel,
  freeEncoders,
  liveEncoderCount,
} from '../src/accounting/tokens.js';
import type { ChatMessage } from '../src/providers/types.js';

// The OpenAI cookbook's "How to count tokens with tiktoken" example. Its published results, which
// the notebook also checked against the API's usage.prompt_tokens: 129 for gpt-3.5-turbo-0613,
// gpt-4-0613 and gpt-4 (cl100k_base), 124 for gpt-4o and gpt-4o-mini (o200k_base).
const COOKBOOK_MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

describe('accounting/tokens', () => {
  after(() => freeEncoders());

  describe('encodingForModel', () => {
    for (const m of ['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4o-mini', 'chatgpt-4o-latest', 'gpt-4.1', 'gpt-4.1-nano-2025-04-14', 'gpt-5', 'gpt-5-mini', 'o1', 'o1-mini', 'o3', 'o3-mini', 'o4-mini', 'openai/gpt-4o']) {
      it(`${m} -> o200k_base`, () => expect(encodingForModel(m)).to.equal('o200k_base'));
    }
    for (const m of ['gpt-4', 'gpt-4-0613', 'gpt-4-turbo', 'gpt-4-turbo-2024-04-09', 'gpt-3.5-turbo', 'gpt-3.5-turbo-0125', 'gpt-35-turbo', 'text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002']) {
      it(`${m} -> cl100k_base`, () => expect(encodingForModel(m)).to.equal('cl100k_base'));
    }
    for (const m of ['claude-3-5-sonnet-20241022', 'claude-sonnet-4', 'llama-3.1-70b', 'some-unknown-model', '', 'o1x']) {
      it(`${JSON.stringify(m)} -> fallback o200k_base`, () => expect(encodingForModel(m)).to.equal('o200k_base'));
    }
  });

  describe('countTextTokens', () => {
    it('the encoders are the published ones ("hello world" ids)', () => {
      // Widely published ids: cl100k_base [15339, 1917], o200k_base [24912, 2375].
      const cl = get_encoding('cl100k_base');
      const o2 = get_encoding('o200k_base');
      try {
        expect(Array.from(cl.encode_ordinary('hello world'))).to.deep.equal([15339, 1917]);
        expect(Array.from(o2.encode_ordinary('hello world'))).to.deep.equal([24912, 2375]);
      } finally {
        cl.free();
        o2.free();
      }
    });

    it('counts "hello world" as 2 tokens in both encodings', () => {
      expect(countTextTokens('gpt-4o', 'hello world')).to.equal(2);
      expect(countTextTokens('gpt-4', 'hello world')).to.equal(2);
    });

    it('uses the model\'s encoding: Japanese text is 2 tokens in o200k_base, 4 in cl100k_base', () => {
      expect(countTextTokens('gpt-4o', 'こんにちは世界')).to.equal(2);
      expect(countTextTokens('gpt-4.1', 'こんにちは世界')).to.equal(2);
      expect(countTextTokens('gpt-3.5-turbo', 'こんにちは世界')).to.equal(4);
      expect(countTextTokens('claude-3-7-sonnet', 'こんにちは世界')).to.equal(2);
    });

    it('empty text is 0 tokens', () => {
      expect(countTextTokens('gpt-4o', '')).to.equal(0);
    });

    it('counts special-token text as plain text instead of throwing', () => {
      // "<|endoftext|>" spelled out is 7 ordinary tokens in both encodings.
      expect(countTextTokens('gpt-4o', '<|endoftext|>')).to.equal(7);
      expect(countTextTokens('gpt-4', '<|endoftext|>')).to.equal(7);
    });
  });

  describe('countChatPromptTokens', () => {
    it('matches the cookbook: 129 tokens for cl100k_base models', () => {
      expect(countChatPromptTokens('gpt-4', COOKBOOK_MESSAGES)).to.equal(129);
      expect(countChatPromptTokens('gpt-3.5-turbo-0613', COOKBOOK_MESSAGES)).to.equal(129);
    });

    it('matches the cookbook: 124 tokens for o200k_base models', () => {
      expect(countChatPromptTokens('gpt-4o', COOKBOOK_MESSAGES)).to.equal(124);
      expect(countChatPromptTokens('gpt-4o-mini', COOKBOOK_MESSAGES)).to.equal(124);
    });

    it('no messages: only the 3 reply-priming tokens', () => {
      expect(countChatPromptTokens('gpt-4o', [])).to.equal(3);
    });

    it('one user message "hello world": 3 framing + role "user" (1) + 2 + 3 priming = 9', () => {
      expect(countChatPromptTokens('gpt-4o', [{ role: 'user', content: 'hello world' }])).to.equal(9);
      expect(countChatPromptTokens('gpt-4', [{ role: 'user', content: 'hello world' }])).to.equal(9);
    });

    it('a name adds its tokens plus 1', () => {
      // "Bob" is one token in both encodings: 9 + 1 + 1.
      const msgs: ChatMessage[] = [{ role: 'user', name: 'Bob', content: 'hello world' }];
      expect(countChatPromptTokens('gpt-4o', msgs)).to.equal(11);
      expect(countChatPromptTokens('gpt-4', msgs)).to.equal(11);
    });

    it('counts the text of content parts and ignores non-text parts', () => {
      const asParts: ChatMessage[] = [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            { type: 'text', text: ' world' },
          ],
        },
      ];
      // "hello" and " world" are one token each: same 9 as the plain string.
      expect(countChatPromptTokens('gpt-4o', asParts)).to.equal(9);
    });

    it('counts tool call names and arguments, and tool_call_id', () => {
      const msgs: ChatMessage[] = [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
      ];
      // o200k: "assistant" 1 + "get_weather" 2 + '{"city":"Paris"}' 5, + 3 framing + 3 priming = 14.
      expect(countChatPromptTokens('gpt-4o', msgs)).to.equal(14);
      const enc = get_encoding('o200k_base');
      try {
        const id = enc.encode_ordinary('call_1').length;
        const tool: ChatMessage[] = [{ role: 'tool', tool_call_id: 'call_1', content: 'hello world' }];
        expect(countChatPromptTokens('gpt-4o', tool)).to.equal(3 + enc.encode_ordinary('tool').length + id + 2 + 3);
      } finally {
        enc.free();
      }
    });

    it('a system + user exchange sums message by message', () => {
      const msgs: ChatMessage[] = [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'hello world' },
      ];
      // "system" 1 + 6 ("You are a helpful assistant.") ; "user" 1 + 2 ; 2 x 3 framing ; 3 priming.
      expect(countChatPromptTokens('gpt-4o', msgs)).to.equal(1 + 6 + 1 + 2 + 6 + 3);
      expect(countChatPromptTokens('gpt-4', msgs)).to.equal(19);
    });
  });

  describe('countCompletionTokens', () => {
    it('counts reply text with no framing', () => {
      expect(countCompletionTokens('gpt-4o', { content: 'hello world' })).to.equal(2);
      expect(countCompletionTokens('gpt-4o', { content: null })).to.equal(0);
    });
    it('counts tool calls in a reply', () => {
      const tool_calls = [{ id: 'c', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }];
      expect(countCompletionTokens('gpt-4o', { content: null, tool_calls })).to.equal(7);
      expect(countCompletionTokens('gpt-4', { content: null, tool_calls })).to.equal(7);
    });
  });

  describe('encoder cache', () => {
    it('keeps at most one encoder per encoding and frees them', () => {
      freeEncoders();
      expect(liveEncoderCount()).to.equal(0);
      for (let i = 0; i < 50; i++) {
        countTextTokens('gpt-4o', 'hello world');
        countTextTokens('gpt-4', 'hello world');
        countTextTokens('claude-3-haiku', 'hello world');
      }
      expect(liveEncoderCount()).to.equal(2);
      freeEncoders();
      expect(liveEncoderCount()).to.equal(0);
      expect(countTextTokens('gpt-4o', 'hello world')).to.equal(2);
    });
  });
});
