/**
 * Features of a normalized prompt for the injection screen. Each family describes a mechanism,
 * not a phrase: an override verb followed within a few words by something that names the
 * model's instructions; a disclosure verb aimed at the model's own prompt; a persona set up
 * together with a claim of having no rules; chat-template delimiters and role labels inside user
 * text; a note addressed to "the AI" inside content; decoded payloads that carry any of these.
 * Counter-signals (a question about security, the attack phrase inside quotes) let the model
 * tell "what does 'ignore previous instructions' mean?" from the attack itself.
 *
 * All matching is over a word array with fixed windows, plus a few literal regexes without
 * nested quantifiers: linear in the prompt's length.
 */

export const FEATURE_NAMES = [
  'override',
  'newRules',
  'exfil',
  'persona',
  'unrestricted',
  'personaUnrestricted',
  'delimiter',
  'roleLabel',
  'aiAddress',
  'harmful',
  'payload',
  'hidden',
  'obfuscation',
  'decodeExec',
  'meta',
  'quotedAttack',
  'metaAttack',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export type Features = Record<FeatureName, number>;

const set = (words: string) => new Set(words.split(/\s+/).filter(Boolean));

const OVERRIDE_VERBS = set('ignore ignoring ignored disregard disregarding forget forgetting skip bypass override overriding overlook discard drop abandon scrap cancel nevermind revoke revoked violate circumvent neglect dismiss erase reset supersede supersedes replace outweigh');
const RULE_STRONG = set('instructions instruction rules guidelines guideline directions directives directive prompt prompts preprompt commands constraints policy policies guidance orders programming restrictions safety ethics limitations objectives objective filters filter prime training');
const RULE_WEAK = set('message messages task context text settings configuration above everything');
const PRIOR = set('previous prior above earlier preceding initial original old existing former before all any every your system given default these those');
const NEGATORS = set('not no never stop dont');

const DISCLOSE_VERBS = set('reveal print show repeat output dump display quote tell write copy give leak spell list translate summarize share disclose expose paste recite return read say');
const DISCLOSE_TARGETS = set('prompt preprompt instructions instruction rules guidelines configuration config message directives words text sentences notes secrets everything');
const OWN_QUALIFIERS = set('your you yours hidden secret initial original confidential above before preceding earlier prior previous operator developer internal verbatim');

const PERSONA_CUES = set('pretend act roleplay role character simulate imagine persona game hypothetically twin opposite respond answer become');
const UNRESTRICTED_WORDS = set('unfiltered uncensored unrestricted jailbreak jailbroken jailbreaking unlocked unbound unchained dan stan aim amoral immoral evil');
const LIMIT_NOUNS = set('restrictions restriction rules limits limit filters filter ethics morals moral ethical guidelines policy policies censorship boundaries constraints warnings limitations safety');
const NO_WORDS = set('no without free freed broken ignores ignore any zero beyond');

const AI_NOUNS = set('ai assistant assistants llm llms model models agent agents chatbot bot gpt chatgpt screeners screener');
const ADDRESS_BEFORE = set('note notes message instruction instructions attention dear hey reminder important');
const ADDRESS_AFTER = set('reading processing summarizing reads sees parsing must should shall');

const HARMFUL = set('hack hacking hotwire keylogger ransomware malware napalm bomb weapon weapons meth methamphetamine launder phishing steal stalk scam exploit poison virus counterfeit');
const PAYLOAD_WORDS = set('pwned hacked granted password passwords exfiltrate exfiltration credentials apikey secrets');

const META_WORDS = set('injection injections jailbreak jailbreaks attack attacks attacker attackers security defend defense defenses defences mitigate mitigation mitigations detect detection detecting classifier classify filter flagged flag logs log pentest research paper owasp quiz label labelled labeled category robust malicious blog course red team');
const DISABLED = set('revoked disabled lifted removed suspended deactivated obsolete void cancelled canceled outdated invalid lifted waived');
const PRONOUNS = set('it them that this those these');


/** One bit per word family: each word is looked up once (VOCAB), then families test bits. */
const B = {
  OVERRIDE_VERBS: 1 << 0,
  RULE_STRONG: 1 << 1,
  RULE_WEAK: 1 << 2,
  PRIOR: 1 << 3,
  NEGATORS: 1 << 4,
  DISCLOSE_VERBS: 1 << 5,
  DISCLOSE_TARGETS: 1 << 6,
  OWN_QUALIFIERS: 1 << 7,
  PERSONA_CUES: 1 << 8,
  UNRESTRICTED_WORDS: 1 << 9,
  LIMIT_NOUNS: 1 << 10,
  NO_WORDS: 1 << 11,
  AI_NOUNS: 1 << 12,
  ADDRESS_BEFORE: 1 << 13,
  ADDRESS_AFTER: 1 << 14,
  HARMFUL: 1 << 15,
  PAYLOAD_WORDS: 1 << 16,
  META_WORDS: 1 << 17,
  DISABLED: 1 << 18,
  PRONOUNS: 1 << 19,
} as const;
const VOCAB = new Map<string, number>();
for (const [name, words] of Object.entries({ OVERRIDE_VERBS, RULE_STRONG, RULE_WEAK, PRIOR, NEGATORS, DISCLOSE_VERBS, DISCLOSE_TARGETS, OWN_QUALIFIERS, PERSONA_CUES, UNRESTRICTED_WORDS, LIMIT_NOUNS, NO_WORDS, AI_NOUNS, ADDRESS_BEFORE, ADDRESS_AFTER, HARMFUL, PAYLOAD_WORDS, META_WORDS, DISABLED, PRONOUNS })) for (const w of words) VOCAB.set(w, (VOCAB.get(w) ?? 0) | B[name as keyof typeof B]);
/** Words the loop looks at by spelling (not through a family). */
const SPECIAL_BIT = 1 << 30;
const SPECIAL = new Set('follow following obey aside attention message new now point longer comply what act mode refuse refuses refusing anything key an language'.split(' '));
for (const w of SPECIAL) VOCAB.set(w, (VOCAB.get(w) ?? 0) | SPECIAL_BIT);

const DELIMITERS = /<\|?(?:im_start|im_end|system|endoftext|user|assistant)\|?>|\[\/?inst\]|<<\/?sys>>|<\/?(?:system|user|input|context|document|instructions?)>|#{2,}\s*(?:system|instruction|instructions|new instructions)\b|end of (?:the )?(?:user )?(?:input|document|prompt|context)|system override|"role"\s*:\s*"system"/g;
const ROLE_LABEL = /(?:^|\n)\s*(?:system|assistant|human|user|admin|developer|ai)\s*:/g;
const DECODE_EXEC = /\b(?:decode|decoded|base64|hex|rot13|encoded)\b[^.\n]{0,60}\b(?:follow|execute|obey|do what|act on|run|instructions?)\b|\b(?:follow|execute|obey|run)\b[^.\n]{0,40}\b(?:base64|hex|encoded|decoded)\b/;

/** Words (runs of a-z 0-9; "don't" is "dont") and where each starts, in one pass. */
function words(text: string): { ws: string[]; at: number[] } {
  const ws: string[] = [];
  const at: number[] = [];
  let start = -1;
  let apostrophe = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (start < 0) start = i;
      continue;
    }
    // An apostrophe inside a word ("don't") is dropped, not a break.
    if (c === 39 && start >= 0 && i + 1 < text.length && text.charCodeAt(i + 1) >= 97 && text.charCodeAt(i + 1) <= 122) {
      apostrophe = true;
      continue;
    }
    if (start >= 0) {
      const w = text.slice(start, i);
      ws.push(apostrophe ? w.replace(/'/g, '') : w);
      at.push(start);
      start = -1;
      apostrophe = false;
    }
  }
  return { ws, at };
}

/** Char ranges inside double quotes (straight or curly) or single quotes at word edges. */
function quotedRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const edgeBefore = (c: number) => c === 32 || c === 10 || c === 9 || c === 40 || c === 58; // space, newline, tab, ( :
  const edgeAfter = (c: number) => c !== c || c === 32 || c === 10 || c === 9 || c === 46 || c === 44 || c === 63 || c === 33 || c === 59 || c === 58 || c === 41;
  let open = -1;
  let openCh = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch !== 34 && ch !== 39 && ch !== 0x201c && ch !== 0x201d) continue;
    if (open < 0) {
      if (ch === 34 || ch === 0x201c || (ch === 39 && (i === 0 || edgeBefore(text.charCodeAt(i - 1))))) {
        open = i;
        openCh = ch;
      }
    } else if ((openCh === 0x201c && ch === 0x201d) || (openCh !== 0x201c && ch === openCh && (ch === 34 || edgeAfter(text.charCodeAt(i + 1))))) {
      ranges.push([open, i]);
      open = -1;
    }
  }
  return ranges;
}

const inRanges = (at: number, ranges: Array<[number, number]>) => ranges.some(([a, b]) => at > a && at < b);

/** The attack families over one normalized text, with the positions of their hits. */
function families(text: string): { f: Omit<Features, 'hidden' | 'obfuscation' | 'meta' | 'quotedAttack' | 'metaAttack' | 'decodeExec'>; hits: number[]; meta: number } {
  const { ws, at } = words(text);
  const mk = new Array<number>(ws.length);
  for (let i = 0; i < ws.length; i++) mk[i] = VOCAB.get(ws[i]!) ?? 0;
  const hits: number[] = [];
  let meta = 0;
  let override = 0;
  let newRules = 0;
  let exfil = 0;
  let persona = 0;
  let unrestricted = 0;
  let aiAddress = 0;
  let harmful = 0;
  let payload = 0;
  for (let i = 0; i < ws.length; i++) {
    if (mk[i] === 0) continue;
    const w = ws[i]!;
    if ((mk[i]! & B.META_WORDS) !== 0) meta++;
    // override: "ignore ... (prior) ... instructions", "do not follow your rules", "set aside", "pay no attention to"
    let isOverride = (mk[i]! & B.OVERRIDE_VERBS) !== 0;
    if (w === 'follow' || w === 'following' || w === 'obey') {
      for (let j = Math.max(0, i - 3); j < i; j++) if ((mk[j]! & B.NEGATORS) !== 0 || ws[j]! === 'longer') isOverride = true;
    }
    if (w === 'aside' && ws[i - 1] === 'set') isOverride = true;
    if (w === 'attention' && ws[i - 1] === 'no') isOverride = true;
    if (isOverride && ((mk[i + 1] ?? 0) & B.PRONOUNS) !== 0) {
      for (let j = Math.max(0, i - 8); j < i; j++) if ((mk[j]! & B.RULE_STRONG) !== 0) override = Math.max(override, 0.6);
    }
    if ((mk[i]! & B.RULE_STRONG) !== 0 || (w === 'message' && ws[i - 1] === 'system')) {
      for (let j = i + 1; j < Math.min(ws.length, i + 5); j++) {
        if ((mk[j]! & B.DISABLED) !== 0) {
          override = Math.max(override, 0.8);
          hits.push(at[i]!);
          break;
        }
      }
    }
    if (isOverride) {
      let prior = false;
      for (let j = i + 1; j < Math.min(ws.length, i + 7); j++) {
        const v = ws[j]!;
        if (PRIOR.has(v)) prior = true;
        if (RULE_STRONG.has(v)) {
          override = Math.max(override, prior ? 1 : 0.6);
          hits.push(at[i]!);
          break;
        }
        if (RULE_WEAK.has(v) && prior) {
          override = Math.max(override, 0.5);
          hits.push(at[i]!);
          break;
        }
      }
    }
    // new rules: "new instructions", "from now on", "no longer apply", "you will now"
    if (w === 'new' && (((mk[i + 1] ?? 0) & B.RULE_STRONG) !== 0 || ws[i + 1] === 'task' || ws[i + 1] === 'prime')) newRules += 1;
    if (w === 'now' && ws[i - 1] === 'on' && ws[i - 2] === 'from') newRules += 1;
    if (w === 'point' && ws[i - 2] === 'from' && ws[i + 1] === 'forward') newRules += 1;
    if (w === 'longer' && ws[i - 1] === 'no' && /^(apply|applies|bound|valid|matter|relevant|need|have|follow)$/.test(ws[i + 1] ?? '')) newRules += 1;
    if ((w === 'comply' || w === 'obey') && /^(with|fully|everything|every|all)$/.test(ws[i + 1] ?? '')) newRules += 0.5;
    // disclosure of the model's own prompt
    if ((mk[i]! & B.DISCLOSE_VERBS) !== 0 || (w === 'what' && /^(is|are|were|was)$/.test(ws[i + 1] ?? ''))) {
      let own = false;
      for (let j = i + 1; j < Math.min(ws.length, i + 8); j++) {
        const v = ws[j]!;
        if (OWN_QUALIFIERS.has(v) || (v === 'system' && ws[j - 1] === 'the')) own = true;
        const after = ws[j + 1] === 'above' || ws[j + 1] === 'before' || ws[j + 2] === 'above';
        if ((own || after) && DISCLOSE_TARGETS.has(v) && (v !== 'everything' || after)) {
          exfil = Math.max(exfil, 1);
          hits.push(at[i]!);
          break;
        }
      }
      if (w === 'what' && ws[i + 2] === 'you' && /^(told|given|instructed|programmed)$/.test(ws[i + 3] ?? '')) exfil = Math.max(exfil, 1);
    }
    // persona set-up and claims of having no rules
    if ((mk[i]! & B.PERSONA_CUES) !== 0) persona = Math.max(persona, w === 'act' && ws[i + 1] !== 'as' ? 0 : 0.5);
    if (w === 'now' && ws[i - 1] === 'are' && ws[i - 2] === 'you') persona = 1;
    if (w === 'mode' && /^(developer|god|jailbreak|unrestricted|dan|evil|admin|debug)$/.test(ws[i - 1] ?? '')) unrestricted += 1;
    if ((mk[i]! & B.UNRESTRICTED_WORDS) !== 0) unrestricted += 1;
    if ((mk[i]! & B.LIMIT_NOUNS) !== 0) {
      for (let j = Math.max(0, i - 4); j < i; j++) {
        if ((mk[j]! & B.NO_WORDS) !== 0) {
          unrestricted += 1;
          break;
        }
      }
    }
    if ((w === 'refuse' || w === 'refuses' || w === 'refusing') && (ws[i - 1] === 'never' || ws[i - 1] === 'without' || ws[i - 2] === 'never')) unrestricted += 1;
    if (w === 'anything' && ws[i - 1] === 'do' && ws[i + 1] === 'now') unrestricted += 1;
    // A note to "the AI" inside content. Not a quote-discounted hit: quoted content (a document,
    // a review, a tool result) that addresses the model is exactly how indirect injection arrives.
    if ((mk[i]! & B.AI_NOUNS) !== 0) {
      for (let j = Math.max(0, i - 4); j < i; j++) {
        if ((mk[j]! & B.ADDRESS_BEFORE) !== 0) aiAddress = Math.max(aiAddress, 1);
      }
      const next = ws[i + 1] ?? '';
      if (ADDRESS_AFTER.has(next) && (next !== 'must' && next !== 'should' && next !== 'shall' ? true : /^(ignore|stop|disregard|now|not|forget|override|always)$/.test(ws[i + 2] ?? ''))) {
        aiAddress = Math.max(aiAddress, 1);
      }
      if (ws[i - 1] === 'an' && ws[i - 2] === 'are' && ws[i - 3] === 'you' && ws[i - 4] === 'if') aiAddress = 1;
      if (ws[i - 1] === 'language' && ws[i - 2] === 'an' && ws[i - 3] === 'are' && ws[i - 4] === 'you') aiAddress = 1;
    }
    if ((mk[i]! & B.HARMFUL) !== 0) harmful = 1;
    if ((mk[i]! & B.PAYLOAD_WORDS) !== 0 || (w === 'key' && ws[i - 1] === 'api')) payload = 1;
  }
  const delimiter = Math.min(3, text.match(DELIMITERS)?.length ?? 0);
  const roleLabel = Math.min(3, text.match(ROLE_LABEL)?.length ?? 0);
  return {
    f: {
      override,
      newRules: Math.min(2, newRules),
      exfil,
      persona,
      unrestricted: Math.min(3, unrestricted),
      personaUnrestricted: persona > 0 && unrestricted > 0 ? 1 : 0,
      delimiter,
      roleLabel,
      aiAddress,
      harmful,
      payload,
    },
    hits,
    meta,
  };
}

/** The strength of the attack families alone (for hidden payloads). */
function attackStrength(f: ReturnType<typeof families>['f']): number {
  return Math.max(f.override, f.exfil, f.personaUnrestricted, f.aiAddress, Math.min(1, f.unrestricted / 2), Math.min(1, f.newRules), f.delimiter > 0 ? 0.7 : 0);
}

export function extractFeatures(text: { main: string; hidden: string[]; obfuscation: number }): Features {
  const { f, hits, meta } = families(text.main);
  let hidden = 0;
  const merged = { ...f };
  for (const h of text.hidden) {
    const d = families(h).f;
    hidden = Math.max(hidden, attackStrength(d));
    for (const k of Object.keys(merged) as Array<keyof typeof merged>) merged[k] = Math.max(merged[k], d[k]);
  }
  const quotes = hits.length ? quotedRanges(text.main) : [];
  const quotedHits = hits.filter((at) => inRanges(at, quotes)).length;
  const quotedAttack = hits.length ? quotedHits / hits.length : 0;
  const metaScaled = Math.min(1, meta / 4);
  return {
    ...merged,
    hidden,
    obfuscation: Math.min(3, text.obfuscation),
    decodeExec: DECODE_EXEC.test(text.main) ? 1 : 0,
    meta: metaScaled,
    quotedAttack,
    // Talk about attacks discounts a quoted attack phrase, never a note to the AI inside content.
    metaAttack: metaScaled * Math.max(f.override, f.exfil, f.personaUnrestricted),
  };
}
