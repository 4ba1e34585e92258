import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.lab/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Commands are argument arrays: never hand a shell a string.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message:
                'Use argument arrays (spawn/execFile or src/process.ts), never a shell string.'
            },
            {
              name: 'child_process',
              message: 'Import node:child_process, and use argument arrays.'
            }
          ]
        }
      ],
      'no-restricted-properties': [
        'error',
        { property: 'execSync', message: 'Use argument arrays, never a shell string.' }
      ]
    }
  }
)
