// The layout's rules are the linter's (eslint.config.js): a change that imports upwards, reaches
// into another stage past its index.ts, or grows a file or function past today's size fails
// `npm run lint`, and so CI. Each case lints a small text as if it stood at a real path in src/.
import { ESLint } from 'eslint'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/action-runner.js'

const eslint = new ESLint({ cwd: REPO_ROOT })

async function importErrors(path: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`export * from '${specifier}'\n`, {
    filePath: join(REPO_ROOT, path)
  })
  return result.messages
    .filter(message => message.ruleId === 'no-restricted-imports')
    .map(message => message.message)
}

describe('import boundaries', () => {
  it.each([
    ['src/vm/probes.ts', '../pipeline/index.js', 'downwards'],
    ['src/vm/probes.ts', '../main.js', 'downwards'],
    ['src/vm/probes.ts', '../runner/state.js', 'downwards'],
    ['src/report/deep/part.ts', '../../post.js', 'downwards'],
    ['src/build/stage.ts', '../pipeline/pipeline-run.js', 'downwards'],
    ['src/shared/process.ts', '../vm/index.js', 'downwards'],
    ['src/shared/log.ts', '../inputs/index.js', 'downwards'],
    ['src/model/results.ts', '../pipeline/index.js', 'downwards'],
    ['src/model/results.ts', '../shared/bounds.js', 'downwards'],
    ['src/iso/iso-arch.ts', '../inputs/index.js', 'downwards'],
    ['src/inputs/parse.ts', '../setup/index.js', 'downwards'],
    ['src/pipeline/boot-when-ready.ts', '../main.js', 'downwards'],
    ['src/pipeline/boot-when-ready.ts', '../runner/state.js', 'downwards'],
    ['src/cli/index.ts', '../runner/state.js', 'downwards'],
    ['src/cli/index.ts', '../post.js', 'downwards'],
    ['src/qemu-provisioning/path.ts', '../vm/machine.js', 'through its index.ts'],
    ['src/cache/save.ts', '../report/summary.js', 'through its index.ts'],
    ['src/pipeline/boot-when-ready.ts', '../vm/machine.js', 'through its index.ts'],
    ['src/main.ts', './report/deliver.js', 'through its index.ts'],
    ['src/main.ts', './pipeline/pipeline-run.js', 'through its index.ts'],
    ['src/runner/post-state.ts', '../cache/save-state.js', 'through its index.ts'],
    ['src/cli/index.ts', '../pipeline/pipeline-run.js', 'through its index.ts'],
    ['src/vm/probes.ts', '../model/results.js', 'model through src/model/index.ts']
  ])('%s importing %s fails: %s', async (path, specifier, rule) => {
    const errors = await importErrors(path, specifier)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(rule)
  })

  it.each([
    ['src/vm/probes.ts', '../report/index.js'],
    ['src/vm/probes.ts', './ssh-session.js'],
    ['src/vm/probes.ts', '../model/index.js'],
    ['src/vm/probes.ts', '../shared/process.js'],
    ['src/vm/probes.ts', '../inputs/index.js'],
    ['src/report/changes/files.ts', '../../build/index.js'],
    ['src/inputs/parse.ts', '../iso/iso-file.js'],
    ['src/iso/iso-arch.ts', '../shared/bounds.js'],
    ['src/model/results.ts', './comparison.js'],
    ['src/pipeline/boot-when-ready.ts', '../vm/index.js'],
    ['src/pipeline/index.ts', './pipeline-run.js'],
    ['src/main.ts', './report/index.js'],
    ['src/main.ts', './pipeline/index.js'],
    ['src/main.ts', './runner/state.js'],
    ['src/cli/index.ts', '../pipeline/index.js']
  ])('%s importing %s is allowed', async (path, specifier) => {
    expect(await importErrors(path, specifier)).toEqual([])
  })

  it('still refuses shell strings wherever the boundaries are set', async () => {
    const errors = await importErrors('src/vm/probes.ts', 'child_process')
    expect(errors).toHaveLength(1)
  })
})

describe('sizes', () => {
  it('fails a function longer than a screen and a file longer than one idea', async () => {
    const body = Array.from({ length: 80 }, (_, i) => `  total += ${i}`).join('\n')
    const code = `export function long(): number {\n  let total = 0\n${body}\n  return total\n}\n`
    const padding = Array.from({ length: 240 }, (_, i) => `export const c${i} = ${i}`).join('\n')
    const [result] = await eslint.lintText(`${code}${padding}\n`, {
      filePath: join(REPO_ROOT, 'src/vm/too-long.ts')
    })
    const rules = result.messages.map(message => message.ruleId)
    expect(rules).toContain('max-lines-per-function')
    expect(rules).toContain('max-lines')
  })

  it('leaves tests free of the size rules', async () => {
    const body = Array.from({ length: 80 }, (_, i) => `  total += ${i}`).join('\n')
    const code = `export function long(): number {\n  let total = 0\n${body}\n  return total\n}\n`
    const [result] = await eslint.lintText(code, {
      filePath: join(REPO_ROOT, 'tests/unit/too-long.test.ts')
    })
    expect(result.messages.map(message => message.ruleId)).not.toContain('max-lines-per-function')
  })
})
