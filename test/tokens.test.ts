import { expect } from 'chai';
import fs from 'node:fs';
import { get_encoding } from 'tiktoken';
import {
  countChatPromptTokens,
  countCompletionTokens,
  countTextTokens,
  encodingForModel,
  EXACT_CHARS_PER_COUNT,
  freeEncoders,
  liveEncoderCount,
} from '../src/accounting/tokens.js';
import { boundedPieces, isPieceBoundary } from '../src/accounting/bounded-pieces.js';
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

  describe('bounded counting (tiktoken is quadratic on one unbroken run; ~1 MB panics its WASM)', () => {
    const ENCODINGS = ['o200k_base', 'cl100k_base'] as const;
    let seed = 12;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

    it('cuts only where tiktoken ends a piece: fuzzed text counts the same in two halves as whole', () => {
      const alphabet = ['a', 'Z', 'é', 'e\u0301', '1', '9', '½', '.', ',', '!', '/', "'", "'s", "'T", '"', '-', ' ', ' ', '  ', '\n', '\r\n', '\t', '\u00a0', '漢', '字', '😀', '\u200b', '$', '('];
      for (const name of ENCODINGS) {
        const enc = get_encoding(name);
        let checked = 0;
        for (let k = 0; k < 1500; k++) {
          let s = '';
          for (let j = 1 + Math.floor(random() * 24); j > 0; j--) s += alphabet[Math.floor(random() * alphabet.length)];
          const whole = enc.encode_ordinary(s).length;
          for (let i = 1; i < s.length; i++) {
            if (!isPieceBoundary(s, i)) continue;
            checked++;
            expect(enc.encode_ordinary(s.slice(0, i)).length + enc.encode_ordinary(s.slice(i)).length, `${name} ${JSON.stringify(s)} at ${i}`).to.equal(whole);
          }
        }
        expect(checked).to.be.greaterThan(1000);
        enc.free();
      }
    });

    it('counts ordinary text exactly: prose, markdown, code and JSON in bounded pieces sum to the whole', () => {
      const texts = ['README.md', 'src/cache/guard.ts', 'package.json'].map((f) => fs.readFileSync(f, 'utf8'));
      texts.push('Der Donaudampfschifffahrtsgesellschaftskapitän fährt täglich. 東京は日本の首都です。人口は約千四百万人です。 Привет, как дела? مرحبا بالعالم'.repeat(20));
      for (const name of ENCODINGS) {
        const enc = get_encoding(name);
        for (const text of texts) {
          const pieces = [...boundedPieces(text, 256)];
          expect(pieces.join('')).to.equal(text);
          expect(pieces.length).to.be.greaterThan(text.length / 256);
          const sum = pieces.reduce((n, p) => n + enc.encode_ordinary(p).length, 0);
          expect(sum).to.equal(enc.encode_ordinary(text).length);
        }
        enc.free();
      }
    });

    it('hands tiktoken no piece longer than the segment and no long run, and loses no character', () => {
      for (const text of ['h'.repeat(5000), '漢字'.repeat(2000), '😀'.repeat(1000), ' '.repeat(3000), '.,;!'.repeat(1000), 'a1'.repeat(3000)]) {
        const pieces = [...boundedPieces(text)];
        expect(pieces.join('')).to.equal(text);
        for (const p of pieces) {
          expect(p.length).to.be.at.most(1024);
          expect(/[\uD800-\uDBFF]$/.test(p), 'no split surrogate pair').to.equal(false);
          expect(/^[\p{L}\p{M}]{97,}$|^\s{97,}$|^[^\s\p{L}\p{N}]{97,}$/u.test(p), 'no run over 96 bytes').to.equal(false);
        }
      }
    });

    it('counts 1 MB pathological prompts without throwing, close to the exact rate of the same pattern', () => {
      const MB = 1_000_000;
      const cases: Array<[string, string]> = [
        ['h', 'h'.repeat(MB)],
        ['CJK', '漢字'.repeat(MB / 6)],
        ['spaces', ' '.repeat(MB)],
        ['newlines', '\n'.repeat(MB)],
        ['punctuation', '.,;!'.repeat(MB / 4)],
        ['emoji', '😀'.repeat(MB / 4)],
        ['letters and digits', 'a1'.repeat(MB / 2)],
        ['random bytes as latin1', Array.from({ length: MB / 10 }, () => String.fromCharCode(32 + Math.floor(random() * 200))).join('').repeat(10)],
      ];
      const enc = get_encoding('o200k_base');
      for (const [label, text] of cases) {
        const n = countTextTokens('gpt-4o', text);
        const prompt = countChatPromptTokens('gpt-4o', [{ role: 'user', content: text }]);
        expect(Number.isInteger(n) && n > 0, label).to.equal(true);
        expect(n, `${label}: at most one token per UTF-8 byte`).to.be.at.most(Buffer.byteLength(text));
        // The message's framing (3 + 3 + the role's 1) on top, give or take the sampling of the run.
        expect(prompt, label).to.be.within(n * 0.995 + 7, n * 1.005 + 7);
        // The exact rate of the same pattern on 1,000 characters, which tiktoken handles directly.
        // Runs are counted in bounded pieces, which may merge less than tiktoken would on the whole
        // run (whitespace merges into very long tokens): a count may be higher, never far lower.
        const sample = text.slice(0, 1000);
        const rate = enc.encode_ordinary(sample).length / sample.length;
        expect(n / text.length, label).to.be.within(rate * 0.9, Math.max(rate * 3, rate + 0.02));
      }
      enc.free();
    });

    it('counts a 1 MB prompt of 40,000 short messages within 5% of the exact count', () => {
      const messages: ChatMessage[] = Array.from({ length: 40_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message number ${i} says hello to ${i * 7}` }));
      const enc = get_encoding('o200k_base');
      const exact = messages.reduce((n, m) => n + 3 + enc.encode_ordinary(m.role).length + enc.encode_ordinary(m.content as string).length, 3);
      enc.free();
      const counted = countChatPromptTokens('gpt-4o', messages);
      expect(counted).to.be.within(exact * 0.95, exact * 1.05);
    });

    it('counts prompts up to the exact budget exactly, and estimates longer text within 6%', () => {
      // The sampled estimate's error depends on how uneven the text is: about 1.5% on prose and code,
      // up to about 5% on the README's tables and links (a file that keeps changing).
      const prose = fs.readFileSync('README.md', 'utf8');
      const enc = get_encoding('o200k_base');
      const within = prose.slice(0, EXACT_CHARS_PER_COUNT - 100);
      expect(countTextTokens('gpt-4o', within)).to.equal(enc.encode_ordinary(within).length);
      for (const file of ['README.md', 'src/cache/guard.ts', 'package-lock.json']) {
        const text = fs.readFileSync(file, 'utf8');
        for (const size of [50_000, 1_000_000]) {
          const long = text.repeat(Math.ceil(size / text.length)).slice(0, size);
          const exact = enc.encode_ordinary(long).length;
          expect(countTextTokens('gpt-4o', long), `${file} at ${size}`).to.be.within(exact * 0.94, exact * 1.06);
        }
      }
      enc.free();
    });
  });
});
