// Test data for error-bound mode (written for these tests; shared by test/error-bound.test.ts).
// Meaning groups written for this test: paraphrases share a group (and an answer); each near-miss
// (another number, entity, direction or object) is a group of its own with its own answer.
const BASE_GROUPS: Record<string, { answer: string; prompts: string[] }> = {
  'py-reverse': {
    answer: 'Call lst.reverse() to flip it in place, or take lst[::-1] for a reversed copy.',
    prompts: ['How do I reverse a list in Python?', "What's the simplest way to reverse a Python list?", 'In Python, how can I reverse a list?', 'how to reverse a list in python'],
  },
  'py-sort': { answer: 'Use sorted(items) for a new ordered copy, or items.sort() to order it in place.', prompts: ['How do I sort a list in Python?', 'In Python, how can I sort a list?'] },
  'c2f-100': {
    answer: 'One hundred Fahrenheit is 37.8 degrees Celsius: subtract 32, then multiply by 5/9.',
    prompts: ['Convert 100 degrees Fahrenheit to Celsius.', 'What is 100 degrees Fahrenheit in Celsius?', 'Please convert 100 degrees Fahrenheit into Celsius.'],
  },
  'c2f-50': { answer: 'Fifty Fahrenheit is 10 degrees Celsius.', prompts: ['Convert 50 degrees Fahrenheit to Celsius.', 'What is 50 degrees Fahrenheit in Celsius?'] },
  'scp-up': {
    answer: 'Run scp notes.txt me@host:/srv/ from the laptop to push the file up.',
    prompts: ['How do I copy a file from my laptop to the server?', "What's the way to copy a file from my laptop onto the server?"],
  },
  'scp-down': { answer: 'Run scp me@host:/srv/notes.txt . on the laptop to pull the file down.', prompts: ['How do I copy a file from the server to my laptop?'] },
  'git-undo': {
    answer: 'git reset --soft HEAD~1 drops the last commit and keeps its changes staged.',
    prompts: ['How do I undo the last git commit?', 'How can I revert my most recent commit in git?', 'git: how do I undo my last commit?'],
  },
  'git-push': { answer: 'Revert the commit and push again; force-pushing rewrites history others may have pulled.', prompts: ['How do I undo the last git push?'] },
  'capital-fr': { answer: 'Paris is the capital city of France.', prompts: ['What is the capital of France?', 'Which city is the capital of France?', "What's the capital of France?"] },
  'capital-de': { answer: 'Berlin is the capital city of Germany.', prompts: ['What is the capital of Germany?', 'Which city is the capital of Germany?'] },
  'egg': { answer: 'Boil an egg for about seven minutes for a firm yolk.', prompts: ['How long should I boil an egg?', 'How many minutes should an egg be boiled?', 'For how long do I boil an egg?'] },
  'potato': { answer: 'Boil whole potatoes about twenty minutes, until a fork slides in.', prompts: ['How long should I boil a potato?', 'How many minutes should a potato be boiled?'] },
  'dict-key': {
    answer: "Write key in my_dict; it is True when the dictionary holds that key.",
    prompts: ['How can I check whether a key exists in a Python dictionary?', "What's the way to test if a dict in Python contains a given key?", 'How do I check if a Python dictionary has a key?'],
  },
  'dict-value': { answer: 'Write value in my_dict.values() to search the stored values.', prompts: ['How can I check whether a value exists in a Python dictionary?'] },
  'port-linux': {
    answer: 'On Linux run ss -ltnp or lsof -i :PORT to see the listening program.',
    prompts: ['How do I see which process is listening on a port in Linux?', 'Which command shows the process listening on a port on Linux?'],
  },
  'port-mac': { answer: 'On macOS run lsof -nP -iTCP -sTCP:LISTEN to see listeners.', prompts: ['How do I see which process is listening on a port in macOS?'] },
};

/** Ways of asking the same question (politeness, context, casing): each prompt comes in all of them. */
const WRAPPERS: Array<(q: string) => string> = [
  (q) => q,
  (q) => `Hi! ${q}`,
  (q) => `${q} Thanks a lot.`,
  (q) => `Quick question: ${q}`,
  (q) => `${q} Please keep it short.`,
  (q) => q.toLowerCase().replace(/[?.]$/, ''),
  (q) => `Hello there. ${q} Many thanks!`,
  (q) => `I was wondering, ${q.charAt(0).toLowerCase()}${q.slice(1)}`,
  (q) => `${q} I am new to this.`,
  (q) => `Can you help? ${q}`,
];

export const GROUPS: Record<string, { answer: string; prompts: string[] }> = Object.fromEntries(
  Object.entries(BASE_GROUPS).map(([k, g]) => [k, { answer: g.answer, prompts: g.prompts.flatMap((p) => WRAPPERS.map((w) => w(p))) }]),
);

/** A seeded stream of prompts: a group uniformly, then one of its prompts. */
export function stream(n: number, seed: number): string[] {
  let x = seed >>> 0;
  const random = () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const groups = Object.values(GROUPS);
  return Array.from({ length: n }, () => {
    const g = groups[Math.floor(random() * groups.length)]!;
    return g.prompts[Math.floor(random() * g.prompts.length)]!;
  });
}

