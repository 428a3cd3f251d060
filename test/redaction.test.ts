import { expect } from 'chai';
import {
  findPii,
  isValidIban,
  isValidLuhn,
  findPiiIn,
  MAX_REDACTION_DEPTH,
  RedactionDepthError,
  redactBody,
  redactRequest,
  scrubSecrets,
  type PiiKind,
} from '../src/policy/redaction.js';
import type { ChatMessage } from '../src/providers/types.js';

function maskOne(text: string): { text: string; findings: Partial<Record<PiiKind, number>> } {
  const out = redactRequest([{ role: 'user', content: text }], 'mask');
  return { text: out.messages[0]!.content as string, findings: out.findings };
}

function kindsIn(text: string): PiiKind[] {
  return findPii(text).map((s) => s.kind);
}

// Published test values (card test numbers, example IBANs, documentation IP ranges): never real data.
const POSITIVES: Array<[PiiKind, string]> = [
  ['EMAIL', 'jane.doe+billing@example.co.uk'],
  ['EMAIL', 'ops_team@mail.example.org'],
  ['PHONE', '+1 (415) 555-2671'],
  ['PHONE', '+44 20 7946 0958'],
  ['PHONE', '+4930123456789'],
  ['PHONE', '(415) 555-2671'],
  ['PHONE', '415-555-2671'],
  ['PHONE', '415.555.2671'],
  ['PHONE', '020 7946 0958'],
  ['PHONE', '06 12 34 56 78'],
  ['PHONE', '030-12345678'],
  ['PHONE', '0044 20 7946 0958'],
  ['CREDIT_CARD', '4111 1111 1111 1111'],
  ['CREDIT_CARD', '5500-0000-0000-0004'],
  ['CREDIT_CARD', '378282246310005'],
  ['CREDIT_CARD', '4012888888881881'],
  ['IBAN', 'DE89 3704 0044 0532 0130 00'],
  ['IBAN', 'GB82WEST12345698765432'],
  ['IBAN', 'FR14 2004 1010 0505 0001 3M02 606'],
  ['SSN', '536-22-1234'],
  ['IP_ADDRESS', '192.168.10.42'],
  ['IP_ADDRESS', '203.0.113.7'],
  ['IP_ADDRESS', '2001:db8:85a3::8a2e:370:7334'],
  ['IP_ADDRESS', 'fe80::1ff:fe23:4567:890a'],
  ['SECRET', 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'],
  ['SECRET', 'sk-ant-api03-Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7A'],
  ['SECRET', 'AKIAIOSFODNN7EXAMPLE'],
  ['SECRET', 'ghp_1234567890abcdefghijABCDEFGHIJklmnopqr'],
  ['SECRET', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
  ['SECRET', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
];

describe('redaction: detection of each kind', () => {
  for (const [kind, value] of POSITIVES) {
    it(`masks ${kind} "${value}" inside a sentence`, () => {
      const { text, findings } = maskOne(`Please use ${value}, thanks.`);
      expect(text).to.equal(`Please use [${kind}_1], thanks.`);
      expect(findings).to.deep.equal({ [kind]: 1 });
    });
  }

  it('masks only the token after "Bearer", keeping the header readable', () => {
    const { text } = maskOne('curl -H "Authorization: Bearer abc123.DEF456-ghi789_xyz"');
    expect(text).to.equal('curl -H "Authorization: Bearer [SECRET_1]"');
  });
});

describe('redaction: things that must not be masked', () => {
  const NEGATIVES: Array<[string, string]> = [
    ['a Luhn-invalid card number', 'card 4111 1111 1111 1112'],
    ['a Luhn-invalid compact card number', 'card 4111111111111112'],
    ['an IBAN with a wrong check digit', 'IBAN DE89 3704 0044 0532 0130 01'],
    ['a compact IBAN with a wrong checksum', 'IBAN GB82WEST12345698765433'],
    ['years and small numbers', 'In 2024 we sold 12345 units, up 17% from 2019-2023.'],
    ['dates and times', 'Meeting 05/01/2024 10:30, or 05.01.2024 10 or 2024-01-15T08:30:00'],
    ['version strings and out-of-range dotted quads', 'upgrade v1.2.3.4.5 and 999.1.1.1'],
    ['prices and grouped thousands', 'It costs 1 000 000 EUR or $1,299.99'],
    ['a bare 10-digit order number', 'order 4155552671'],
    ['an SSN with an invalid area', '000-12-3456 and 666-12-3456'],
    ['C++ scopes and clock times', 'std::vector at 12:30:45'],
    ['prose after the word Bearer', 'The Bearer authentication-mechanisms section'],
    ['a word that merely contains sk-', 'the task-management-dashboard-component'],
    ['an e-mail-like string without a TLD', 'user@localhost'],
  ];
  for (const [what, text] of NEGATIVES) {
    it(`leaves ${what} alone`, () => {
      expect(kindsIn(text)).to.deep.equal([]);
      expect(maskOne(text).text).to.equal(text);
    });
  }

  it('checks the checksums themselves', () => {
    expect(isValidLuhn('4111111111111111')).to.equal(true);
    expect(isValidLuhn('4111111111111112')).to.equal(false);
    expect(isValidLuhn('41111x1111111111')).to.equal(false);
    expect(isValidIban('DE89 3704 0044 0532 0130 00')).to.equal(true);
    expect(isValidIban('DE89370400440532013001')).to.equal(false);
    expect(isValidIban('DE89')).to.equal(false);
  });
});

describe('redaction: card numbers glued to other characters', () => {
  // The fuzz campaign sent a message `name` "n4111111111111111": word boundaries let it through.
  const GLUED: Array<[string, string]> = [
    ['n4111111111111111', 'n[CREDIT_CARD_1]'],
    ['card_4111111111111111', 'card_[CREDIT_CARD_1]'],
    ['card-4111111111111111', 'card-[CREDIT_CARD_1]'],
    ['4111111111111111abc', '[CREDIT_CARD_1]abc'],
    ['ref:x4111111111111111y', 'ref:x[CREDIT_CARD_1]y'],
    ['Pay5500000000000004now', 'Pay[CREDIT_CARD_1]now'],
  ];
  for (const [text, masked] of GLUED) {
    it(`masks the card in "${text}"`, () => {
      expect(maskOne(text).text).to.equal(masked);
    });
  }

  it('blocks a glued card in a message name', () => {
    const body = { model: 'm', messages: [{ role: 'user', name: 'n4111111111111111', content: 'hi' }] };
    expect(redactBody(body, 'mask').findings).to.deep.equal({ CREDIT_CARD: 1 });
  });

  it('leaves a Luhn-valid run alone when it is part of a longer digit run, a decimal, a phone number, a dashed number or a word and a number', () => {
    for (const text of ['id 41111111111111111111', 'x=94111111111111111', '0.4111111111111111', '+4111111111111111', '12-4111111111111111', 'id41111111111111111112', 'sha256 43127200689f4000adab']) {
      expect(kindsIn(text), text).to.deep.equal([]);
    }
  });

  it('stays linear on one 1 MB token full of glued cards (each token is measured once)', function () {
    // Measuring the token around every candidate made this quadratic: minutes, not a fraction of a second.
    this.timeout(20_000);
    const spans = findPii('x4111111111111111'.repeat(60_000));
    expect(spans.length).to.equal(60_000);
    expect(findPii('a4111111111111111'.repeat(60_000))).to.deep.equal([]);
  });

  // A seeded generator: the same strings on every run.
  function rng(seed: number): () => number {
    let x = seed >>> 0;
    return () => {
      x = (x + 0x6d2b79f5) >>> 0;
      let t = x;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pick = (r: () => number, alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');

  it('finds nothing in hex hashes, hex ids, UUIDs and long numeric ids', () => {
    const r = rng(12);
    const hex = '0123456789abcdef';
    const texts: string[] = [];
    for (let i = 0; i < 500; i++) {
      texts.push(`sha256 ${pick(r, hex, 64)}`, `commit ${pick(r, hex, 40)}`, `md5:${pick(r, hex, 32)}`, `oid=${pick(r, hex, 24)}`);
      texts.push(`uuid ${pick(r, hex, 8)}-${pick(r, hex, 4)}-4${pick(r, hex, 3)}-a${pick(r, hex, 3)}-${pick(r, hex, 12)}`);
      texts.push(`order ${pick(r, '123456789', 1)}${pick(r, '0123456789', 19 + (i % 20))}`);
    }
    // Runs of digits that would pass Luhn if the detector looked inside hashes: the seed makes sure some are here.
    const digitRuns = texts.filter((t) => /[a-f]\d{13,19}[a-f]/.test(t)).length;
    expect(digitRuns, 'the sample has hashes with long digit runs').to.be.greaterThan(0);
    const flagged = texts.filter((t) => findPii(t).some((s) => s.kind === 'CREDIT_CARD'));
    expect(flagged).to.deep.equal([]);
  });
});

describe('redaction: mask mode', () => {
  it('gives the same value the same placeholder and numbers distinct values per kind', () => {
    const out = redactRequest(
      [
        { role: 'system', content: 'Support agent. Escalate to boss@example.com.' },
        { role: 'user', content: 'I am ann@example.com, my colleague is bob@example.com; reply to ann@example.com.' },
        { role: 'assistant', content: 'Noted, boss@example.com is in copy.' },
      ],
      'mask',
    );
    expect(out.messages.map((m) => m.content)).to.deep.equal([
      'Support agent. Escalate to [EMAIL_1].',
      'I am [EMAIL_2], my colleague is [EMAIL_3]; reply to [EMAIL_2].',
      'Noted, [EMAIL_1] is in copy.',
    ]);
    expect(out.findings).to.deep.equal({ EMAIL: 5 });
    expect(out.blockedKinds).to.deep.equal([]);
  });

  it('masks text parts and tool-call arguments, keeps other parts and leaves the input untouched', () => {
    const messages: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Card 4111 1111 1111 1111 on file' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"email":"ann@example.com"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'Found ann@example.com at 10.0.0.8' },
    ];
    const snapshot = structuredClone(messages);
    const out = redactRequest(messages, 'mask');
    expect(out.messages).to.deep.equal([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Card [CREDIT_CARD_1] on file' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"email":"[EMAIL_1]"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'Found [EMAIL_1] at [IP_ADDRESS_1]' },
    ]);
    expect(JSON.parse((out.messages[1]!.tool_calls![0]!.function.arguments))).to.deep.equal({ email: '[EMAIL_1]' });
    expect(messages).to.deep.equal(snapshot);
  });

  it('never carries a raw value in the returned object except through restore()', () => {
    const secrets = ['ann@example.com', '4111 1111 1111 1111', 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'];
    const out = redactRequest([{ role: 'user', content: `Mail ${secrets[0]}, card ${secrets[1]}, key ${secrets[2]}` }], 'mask');
    const serialised = JSON.stringify(out);
    for (const s of secrets) expect(serialised).to.not.include(s);
  });

  it('restores every placeholder the model echoes and leaves unknown ones as they are', () => {
    const out = redactRequest([{ role: 'user', content: 'Call +44 20 7946 0958 or mail ann@example.com' }], 'mask');
    expect(out.messages[0]!.content).to.equal('Call [PHONE_1] or mail [EMAIL_1]');
    expect(out.restore('I will call [PHONE_1], then mail [EMAIL_1] and [EMAIL_1]; [EMAIL_2] is unknown.')).to.equal(
      'I will call +44 20 7946 0958, then mail ann@example.com and ann@example.com; [EMAIL_2] is unknown.',
    );
  });

  it('round-trips: restore(masked) gives back the original text', () => {
    const original = 'IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234, host 2001:db8::1, key AKIAIOSFODNN7EXAMPLE';
    const out = redactRequest([{ role: 'user', content: original }], 'mask');
    expect(out.messages[0]!.content).to.not.equal(original);
    expect(out.restore(out.messages[0]!.content as string)).to.equal(original);
    expect(out.findings).to.deep.equal({ IBAN: 1, SSN: 1, IP_ADDRESS: 1, SECRET: 1 });
  });

  it('returns the very same message objects when nothing is found', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'Nothing personal here.' }];
    const out = redactRequest(messages, 'mask');
    expect(out.messages[0]).to.equal(messages[0]);
    expect(out.findings).to.deep.equal({});
  });
});

describe('redaction: block and off modes', () => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'My SSN is 536-22-1234 and my mail ann@example.com' },
    { role: 'user', content: [{ type: 'text', text: 'also bob@example.com' }] },
  ];

  it('block reports the kinds found, sorted, and does not alter the messages', () => {
    const out = redactRequest(messages, 'block');
    expect(out.blockedKinds).to.deep.equal(['EMAIL', 'SSN']);
    expect(out.findings).to.deep.equal({ SSN: 1, EMAIL: 2 });
    expect(out.messages).to.equal(messages);
  });

  it('block finds nothing to block in clean text', () => {
    expect(redactRequest([{ role: 'user', content: 'Hello there' }], 'block').blockedKinds).to.deep.equal([]);
  });

  it('off does nothing at all', () => {
    const out = redactRequest(messages, 'off');
    expect(out.messages).to.equal(messages);
    expect(out.findings).to.deep.equal({});
    expect(out.blockedKinds).to.deep.equal([]);
    expect(out.restore('[EMAIL_1]')).to.equal('[EMAIL_1]');
  });
});

describe('redaction: streaming restore', () => {
  const out = redactRequest([{ role: 'user', content: 'Reach me at ann@example.com or +1 (415) 555-2671.' }], 'mask');

  function streamThrough(deltas: string[]): { emitted: string[]; text: string } {
    const restorer = out.createStreamRestorer();
    const emitted = deltas.map((d) => restorer.push(d));
    emitted.push(restorer.flush());
    return { emitted, text: emitted.join('') };
  }

  it('restores a placeholder split across chunks, holding back only the partial part', () => {
    const { emitted, text } = streamThrough(['Sure, I will write to [EMA', 'IL_', '1] and call [PHONE', '_1] today.']);
    expect(text).to.equal('Sure, I will write to ann@example.com and call +1 (415) 555-2671 today.');
    expect(emitted).to.deep.equal([
      'Sure, I will write to ',
      '',
      'ann@example.com and call ',
      '+1 (415) 555-2671 today.',
      '',
    ]);
  });

  it('restores a placeholder delivered one character per chunk', () => {
    const { text } = streamThrough([...'Mail [EMAIL_1]!']);
    expect(text).to.equal('Mail ann@example.com!');
  });

  it('does not hold back brackets that cannot start a placeholder', () => {
    const restorer = out.createStreamRestorer();
    expect(restorer.push('array[0')).to.equal('array[0');
    expect(restorer.push(' and [x')).to.equal(' and [x');
    expect(restorer.push(' [PHONE_9')).to.equal(' [PHONE_9');
  });

  it('flushes a dangling partial placeholder verbatim at the end of the stream', () => {
    const { emitted } = streamThrough(['cut off at [EMAIL']);
    expect(emitted).to.deep.equal(['cut off at ', '[EMAIL']);
  });

  it('passes deltas straight through when nothing was masked', () => {
    const clean = redactRequest([{ role: 'user', content: 'hello' }], 'mask').createStreamRestorer();
    expect(clean.push('[EMA')).to.equal('[EMA');
    expect(clean.flush()).to.equal('');
  });
});

describe('scrubSecrets', () => {
  it('replaces credentials in free text and leaves other personal data alone', () => {
    expect(scrubSecrets('key sk-ant-api03-Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7A for ann@example.com')).to.equal(
      'key [REDACTED] for ann@example.com',
    );
  });
});

describe('redaction: every string that goes upstream, in every spelling', () => {
  const CARD = '4111 1111 1111 1111';
  const fullwidth = (s: string) => s.replace(/[0-9@.]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

  it('finds values written in fullwidth forms, with zero-width or format characters inside, or odd dashes and spaces', () => {
    const variants: Array<[PiiKind, string]> = [
      ['CREDIT_CARD', fullwidth(CARD)],
      ['CREDIT_CARD', '4111\u200b1111\u200b1111\u200b1111'],
      ['CREDIT_CARD', '4\u200c1\u200d1\u20601\ufeff111111111111'],
      ['CREDIT_CARD', '4111\u00ad1111\u00ad1111\u00ad1111'],
      ['CREDIT_CARD', '4111\u2011\u20101111\u2013\u20131111\u20131111'.replace(/\u2011\u2010|\u2013\u2013/g, '\u2013')],
      ['CREDIT_CARD', '4111\u00a01111\u00a01111\u00a01111'],
      ['EMAIL', 'ann\uff20example.com'],
      ['EMAIL', fullwidth('ann@example.com')],
      ['SSN', '123\u2010' + '45\u2010' + '6789'],
      ['PHONE', '+44\u200b 20 7946 0958'],
    ];
    for (const [kind, value] of variants) {
      const text = `here: ${value} (end)`;
      const spans = findPiiIn(text);
      expect(spans.map((s) => s.kind), JSON.stringify(value)).to.deep.equal([kind]);
      // The span covers the original characters exactly, zero-width ones included.
      expect(text.slice(spans[0]!.start, spans[0]!.end)).to.equal(value);
    }
  });

  it('mask: the placeholder replaces the whole original value and restore gives back exactly what was sent', () => {
    for (const value of [fullwidth(CARD), '4111\u200b1111\u200b1111\u200b1111', 'ann\uff20example.com']) {
      const out = redactRequest([{ role: 'user', content: `pay with ${value} today` }], 'mask');
      const masked = out.messages[0]!.content as string;
      expect(masked).to.match(/^pay with \[(CREDIT_CARD|EMAIL)_1\] today$/);
      expect(out.restore(masked)).to.equal(`pay with ${value} today`);
    }
  });

  it('leaves ordinary non-ASCII text alone and keeps unrelated characters where they were', () => {
    const text = 'Ｈｅｌｌｏ\u200b world – ﬁne, 東京は日本の首都です ①②③';
    expect(findPiiIn(text)).to.deep.equal([]);
    const out = redactRequest([{ role: 'user', content: `${text} ${fullwidth(CARD)}` }], 'mask');
    expect(out.messages[0]!.content).to.equal(`${text} [CREDIT_CARD_1]`);
  });

  const request = () => ({
    model: 'gpt-4o-mini',
    user: 'ann@example.com',
    metadata: { customer: 'card 4111 1111 1111 1111', 'bob@example.com': 'owner' },
    stop: ['call +44 20 7946 0958', 'END'],
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', name: 'ann@example.com', content: [{ type: 'text', text: 'Look at this' }, { type: 'image_url', image_url: { url: 'https://img.example/x.png?owner=ann@example.com' } }, { type: 'image_url', image_url: { url: 'data:image/png;base64,NDExMTExMTExMTExMTExMQ4111111111111111' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"ssn":"123-45-6789"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'found 123-45-6789' },
      { role: 'user', content: [{ type: 'input_audio', input_audio: { data: '4111111111111111', format: 'wav' } }] },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up ann@example.com', parameters: { type: 'object', properties: { ssn: { type: ['string', 'null'], description: 'e.g. 078-05-1120 or AKIAIOSFODNN7EXAMPLE' } } } } }],
    prediction: { type: 'content', content: 'mail ann@example.com' },
  });

  it('mask: covers user, metadata keys and values, stop, message names, image URLs, tool calls and results, tool and parameter descriptions', () => {
    const original = request();
    const out = redactBody(original, 'mask');
    const sent = JSON.stringify(out.body);
    for (const raw of ['ann@example.com', 'bob@example.com', '4111 1111 1111 1111', '+44 20 7946 0958', '123-45-6789', '078-05-1120', 'AKIAIOSFODNN7EXAMPLE']) {
      expect(sent, raw).to.not.contain(raw);
    }
    expect(out.findings).to.deep.equal({ EMAIL: 6, CREDIT_CARD: 1, PHONE: 1, SSN: 3, SECRET: 1 });
    const body = out.body as ReturnType<typeof request>;
    expect(body.user).to.equal('[EMAIL_1]');
    expect(body.messages[1]!.name).to.equal('[EMAIL_1]');
    expect(Object.keys(body.metadata)).to.include('[EMAIL_2]');
    // Structure, routing and base64 payloads are left alone.
    expect(body.model).to.equal('gpt-4o-mini');
    expect(sent).to.contain('data:image/png;base64,NDExMTExMTExMTExMTExMQ4111111111111111');
    expect(sent).to.contain('"data":"4111111111111111"');
    expect(body.tools[0]!.function.parameters.properties.ssn.type).to.deep.equal(['string', 'null']);
    expect(JSON.parse(body.messages[2]!.tool_calls![0]!.function.arguments)).to.deep.equal({ ssn: '[SSN_1]' });
    // The input is not changed, and restore puts every value back.
    expect(original).to.deep.equal(request());
    expect(JSON.parse(out.restore(sent))).to.deep.equal(original);
  });

  it('block: counts findings in every field; a clean body comes back as the same object', () => {
    expect(redactBody(request(), 'block').blockedKinds).to.deep.equal(['CREDIT_CARD', 'EMAIL', 'PHONE', 'SECRET', 'SSN']);
    expect(redactBody({ model: 'm', user: 'u1', metadata: { a: 'b' } }, 'block').blockedKinds).to.deep.equal(['PHONE'].slice(1));
    const clean = { model: 'm', messages: [{ role: 'user', content: 'hello' }], stop: ['x'] };
    expect(redactBody(clean, 'mask').body).to.equal(clean);
  });

  it('refuses JSON nested deeper than it walks, instead of overflowing the stack', () => {
    let deep: unknown = 'ann@example.com';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => redactBody({ input: deep }, 'block')).to.throw(RedactionDepthError);
    let ok: unknown = 'ann@example.com';
    for (let i = 0; i < MAX_REDACTION_DEPTH - 2; i++) ok = [ok];
    expect(redactBody({ input: ok }, 'block').blockedKinds).to.deep.equal(['EMAIL']);
  });
});
