// The project's rules, kept by the linter (docs/architecture.md states them; this file is their
// source): commands are argument arrays, files and functions stay small, and imports point
// downwards — entries (runner adapter, CLI) → pipeline → stages → inputs → iso → shared → model —
// with a stage, the pipeline and the model reached only through their index.ts.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const STAGES = ['setup', 'qemu-provisioning', 'build', 'env', 'cache', 'vm', 'report']
/** The entry points and compositions at src/'s root (bundle entries index and post-index). */
const ROOT_ENTRIES = ['main', 'post', 'post-index', 'index']
/** The runner adapter (src/runner/) and the command line (src/cli/): entries, with main and post. */
const ENTRY_FOLDERS = ['runner', 'cli']
const any = names => `(${names.join('|')})`

// Commands are argument arrays: never hand a shell a string.
const SHELL_STRINGS = [
  {
    name: 'node:child_process',
    importNames: ['exec', 'execSync'],
    message: 'Use argument arrays (src/shared/process.ts), never a shell string.'
  },
  { name: 'child_process', message: 'Import node:child_process, and use argument arrays.' }
]

/** no-restricted-imports with the shell rule plus these import boundaries (regex, message). */
const boundaries = (...rules) => ({
  'no-restricted-imports': [
    'error',
    { paths: SHELL_STRINGS, patterns: rules.map(([regex, message]) => ({ regex, message })) }
  ]
})

const INTO_A_STAGE = 'Reach another stage only through its index.ts (docs/architecture.md).'
const UPWARDS =
  'Imports point downwards: entries → pipeline → stages → inputs → iso → shared → model (docs/architecture.md).'
const INTO_THE_MODEL = 'Import the model through src/model/index.ts.'

/** From a file at any depth: a specifier into one of these folders (any file but its index.ts). */
const pastIndex = folders => `^(\\./|(\\.\\./)+)${any(folders)}/(?!index\\.js$)`
/** From a file at any depth: a specifier into these folders at all. */
const into = folders => `^(\\./|(\\.\\./)+)${any(folders)}/`
/** From a file one folder below src/: a root entry. */
const rootEntry = `^\\.\\./${any(ROOT_ENTRIES)}\\.js$`
/** Every folder but the model reaches it through its index. */
const MODEL_RULE = [pastIndex(['model']), INTO_THE_MODEL]

/** The lower layers, each importing only the ones below it (the model imports nothing). */
const LAYERS = [
  ['model', []],
  ['shared', ['model']],
  ['iso', ['model', 'shared']],
  ['inputs', ['model', 'shared', 'iso']]
]

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.lab/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      ...boundaries(),
      'no-restricted-properties': [
        'error',
        { property: 'execSync', message: 'Use argument arrays, never a shell string.' }
      ]
    }
  },
  {
    // Sizes at the level the layout reached (issue 18) or better: a file holds one idea, a
    // function fits on a screen.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 305 }],
      'max-lines-per-function': ['error', { max: 73 }]
    }
  },
  ...LAYERS.map(([layer, below]) => ({
    // model → shared → iso → inputs: each imports only what lies below it, never a stage, the
    // pipeline or an entry.
    files: [`src/${layer}/**/*.ts`],
    rules: boundaries(
      [below.length === 0 ? '^\\.\\./' : `^\\.\\./(?!${any(below)}/)`, UPWARDS],
      ...(layer === 'model' ? [] : [MODEL_RULE])
    )
  })),
  {
    // A stage: other stages through their index only; never the pipeline or an entry.
    files: STAGES.map(stage => `src/${stage}/**/*.ts`),
    rules: boundaries(
      [pastIndex(STAGES), INTO_A_STAGE],
      [into(['pipeline', ...ENTRY_FOLDERS]), UPWARDS],
      [`^(\\.\\./)+${any(['main', 'post', 'post-index'])}\\.js$`, UPWARDS],
      MODEL_RULE
    )
  },
  {
    // The pipeline composes stages through their indexes; it never imports an entry.
    files: ['src/pipeline/**/*.ts'],
    rules: boundaries(
      [pastIndex(STAGES), INTO_A_STAGE],
      [into(ENTRY_FOLDERS), UPWARDS],
      [rootEntry, UPWARDS],
      MODEL_RULE
    )
  },
  {
    // Entries (main, post, the runner adapter, the CLI) go through the indexes of the pipeline
    // and the stages.
    files: [...ROOT_ENTRIES.map(name => `src/${name}.ts`), 'src/runner/**/*.ts', 'src/cli/**/*.ts'],
    rules: boundaries([pastIndex([...STAGES, 'pipeline']), INTO_A_STAGE], MODEL_RULE)
  },
  {
    // The command line is not the runner: it never imports the runner adapter or main and post.
    files: ['src/cli/**/*.ts'],
    rules: boundaries(
      [pastIndex([...STAGES, 'pipeline']), INTO_A_STAGE],
      [into(['runner']), UPWARDS],
      [rootEntry, UPWARDS],
      MODEL_RULE
    )
  }
)
