/**
 * Extra tuning pairs for the guard's substitution check, written for this project (not taken
 * from any evaluation set): one-word substitutions that change the ask, and paraphrases that swap
 * words for synonyms or rephrase.
 */
import type { LabeledPair } from './datasets.js';

const SAME: [string, string][] = [
  ['How can I learn Spanish quickly?', 'What is the fastest way to learn Spanish?'],
  ['How do I fix a leaking tap?', 'How do I repair a leaky faucet?'],
  ['What is a good movie for a rainy day?', 'Recommend a good film for a rainy afternoon'],
  ['Where can I buy cheap concert tickets?', 'Where can I purchase inexpensive concert tickets?'],
  ['How big is a blue whale?', 'How large is a blue whale?'],
  ['How do I clean a cast iron pan?', 'What is the right way to wash a cast iron skillet?'],
  ['Write a short email asking my boss for a day off.', 'Draft a brief email to my manager requesting a day off.'],
  ['How do I stop my laptop from overheating?', 'How can I keep my laptop from getting too hot?'],
  ['What are the health benefits of green tea?', 'Is green tea good for your health?'],
  ['How do I delete a branch in git?', 'How can I remove a git branch?'],
  ['What is the fastest way to fall asleep?', 'How can I fall asleep quickly?'],
  ['Suggest a name for my new puppy', 'What should I name my new puppy?'],
  ['How do I start running as a beginner?', 'Tips for a beginner who wants to begin running'],
  ['What is the best way to store fresh herbs?', 'How should I keep fresh herbs?'],
  ['How do I calm down before an exam?', 'How can I relax before a test?'],
  ['Why does my car make a squealing noise when I brake?', 'My car squeals when I brake, why?'],
  ['How do I get rid of fruit flies in my kitchen?', 'How can I eliminate fruit flies in the kitchen?'],
  ['How do I check my Python version?', 'How can I see which version of Python I have?'],
  ['What is a good gift for a coworker who is leaving?', 'Gift ideas for a colleague who is leaving the company'],
  ['How do I make my bread softer?', 'How can I bake softer bread?'],
];

const DIFFERENT: [string, string][] = [
  ['How do I delete a branch in git?', 'How do I rename a branch in git?'],
  ['How do I add a user to a group in Linux?', 'How do I remove a user from a group in Linux?'],
  ['How do I enable dark mode in Windows?', 'How do I disable dark mode in Windows?'],
  ['How do I increase the font size in VS Code?', 'How do I decrease the font size in VS Code?'],
  ['What is a good gift for my mother?', 'What is a good gift for my teacher?'],
  ['How long should I bake chicken breasts?', 'How long should I bake salmon fillets?'],
  ['What should I feed a sick dog?', 'What should I feed a sick cat?'],
  ['How do I lose weight fast?', 'How do I gain weight fast?'],
  ['How do I encrypt a file with GPG?', 'How do I decrypt a file with GPG?'],
  ['Write a poem about the sea.', 'Write a song about the sea.'],
  ['What wine goes well with steak?', 'What wine goes well with fish?'],
  ['How do I upload a file to Google Drive?', 'How do I download a file from Google Drive?'],
  ['Is coffee bad for your heart?', 'Is coffee bad for your teeth?'],
  ['How do I plant tomatoes in spring?', 'How do I plant potatoes in spring?'],
  ['How do I make my bread softer?', 'How do I make my bread crispier?'],
  ['How many calories are in an apple?', 'How much sugar is in an apple?'],
  ['How do I install Docker on Ubuntu?', 'How do I uninstall Docker on Ubuntu?'],
  ['What are the side effects of ibuprofen for children?', 'What are the side effects of ibuprofen for adults?'],
  ['How do I cook rice in a pressure cooker?', 'How do I cook beans in a pressure cooker?'],
  ['How do I sell my old car?', 'How do I buy a used car?'],
];

export function substitutionDevPairs(): LabeledPair[] {
  return [...[...SAME, ...LONG_SAME].map(([a, b]) => ({ a, b, label: true })), ...DIFFERENT.map(([a, b]) => ({ a, b, label: false }))];
}

/** Longer rewordings (several words change at once): none of these is a substitution. */
export const LONG_SAME: [string, string][] = [
  [
    'I am planning a trip to Portugal in October and want to know which cities are worth visiting and how to travel between them.',
    'Which Portuguese cities should I see on an October holiday, and what is the best way to get from one to another?',
  ],
  [
    'The library lets you load a model from a local folder, which is useful when the machine has no internet access.',
    'When a computer is offline, you can still load models with this library by pointing it at a directory on disk.',
  ],
  [
    'My sourdough starter smells like nail polish remover after a few days in the fridge; is it still safe to use?',
    'After several days in the refrigerator my starter has an acetone smell. Can I still bake with it?',
  ],
  [
    'Can you explain why my React component renders twice in development mode but only once in production?',
    'Why does a React component render two times when running in development, yet a single time in a production build?',
  ],
  [
    'What documents do I need to bring when I apply for a passport for the first time?',
    'First passport application: which papers should I take with me?',
  ],
  [
    'The tutorial shows how to set up a small web server, add a database, and deploy the whole thing to the cloud.',
    'This guide walks through building a little web server, connecting it to a database and then deploying it to a cloud provider.',
  ],
];
