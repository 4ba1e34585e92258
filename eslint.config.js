// The project's rules, kept by the linter (docs/architecture.md states them; this file is their
// source): commands are argument arrays, files and functions stay small, and imports point
// downwards — entries → pipeline → stages → shared helpers — with another stage reached only
// through its index.ts.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const STAGES = ['setup', 'qemu-provisioning', 'build', 'env', 'cache', 'vm', 'report']
const ENTRIES = ['main', 'post', 'cli', 'index', 'post-index']
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
const UPWARDS = 'Imports point downwards: entries → pipeline → stages → shared helpers.'

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
  {
    // Shared helpers at the root (model, inputs, process, log, …) know no stage and no entry.
    files: ['src/*.ts'],
    ignores: [...ENTRIES, 'pipeline'].map(name => `src/${name}.ts`),
    rules: boundaries(
      [`^\\./${any([...STAGES, 'pipeline'])}(/|\\.js$)`, UPWARDS],
      [`^\\./${any(ENTRIES)}\\.js$`, UPWARDS]
    )
  },
  {
    // A stage: other stages through their index only; never the pipeline or an entry.
    files: STAGES.map(stage => `src/${stage}/**/*.ts`),
    rules: boundaries(
      [`^(\\.\\./)+${any(STAGES)}/(?!index\\.js$)`, INTO_A_STAGE],
      [`^(\\.\\./)+${any(['pipeline', ...ENTRIES])}(/|\\.js$)`, UPWARDS]
    )
  },
  {
    // The pipeline composes stages through their indexes; it never imports an entry.
    files: ['src/pipeline/index.ts', 'src/pipeline/**/*.ts'],
    rules: boundaries(
      [`^(\\./|\\.\\./)${any(STAGES)}/(?!index\\.js$)`, INTO_A_STAGE],
      [`^(\\./|\\.\\./)${any(ENTRIES)}\\.js$`, UPWARDS]
    )
  },
  {
    // Entries (the runner adapter and the CLI) go through the indexes of the pipeline's parts.
    files: ENTRIES.map(name => `src/${name}.ts`),
    rules: boundaries([`^\\./${any([...STAGES, 'pipeline'])}/(?!index\\.js$)`, INTO_A_STAGE])
  }
)
