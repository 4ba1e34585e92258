// The runner harness itself, proven with throwaway main/post scripts that use the real
// @actions/core: what they write through the runner's files and commands is read back.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  FAKE_GITHUB_TOKEN,
  REPO_ROOT,
  parseActionInputs,
  parseFileCommand,
  parseWorkflowCommands,
  runScripts,
  type ActionRun
} from '../helpers/action-runner.js'
import { startFakeResultsService } from '../helpers/fake-results-service.js'

const core = pathToFileURL(join(REPO_ROOT, 'node_modules/@actions/core/lib/core.js')).href
let dir: string
const runs: ActionRun[] = []

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `import * as core from '${core}'\n${body}\n`)
  return path
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'action-runner-test-'))
})

afterAll(async () => {
  for (const run of runs) await run.cleanup()
  await rm(dir, { recursive: true, force: true })
})

describe('runScripts', () => {
  it('runs main then post under Node 24 and reads back every file and command', async () => {
    const main = await script(
      'main.mjs',
      `
      core.setOutput('node-version', process.version)
      core.setOutput('multi', 'line one\\nline two')
      core.setOutput('flake', core.getInput('flake'))
      core.setOutput('memory', core.getInput('memory'))
      core.setOutput('token', core.getInput('github-token'))
      core.setOutput('leaked', String(process.env.VITEST ?? process.env.INPUT_NOPE ?? 'none'))
      core.setOutput('cwd', process.cwd())
      core.setOutput('runner', [process.env.RUNNER_OS, process.env.RUNNER_ARCH, process.env.GITHUB_ACTIONS].join(' '))
      core.saveState('qemu-pid', '1234')
      core.saveState('paths', JSON.stringify(['/a=b', '/c']))
      core.setSecret('hunter2-hunter2')
      core.warning('careful', { title: 'Heads up' })
      core.error('broken: 50%\\nsecond line', { title: 'Bad, thing: x', file: 'src/a.ts', startLine: 3 })
      core.notice('fyi')
      core.exportVariable('FROM_MAIN', 'yes')
      core.addPath('/opt/fake/bin')
      await core.summary.addHeading('Main summary').write()
      core.setFailed('main failed on purpose')
      `
    )
    const post = await script(
      'post.mjs',
      `
      core.info('POST ' + JSON.stringify({
        pid: core.getState('qemu-pid'),
        paths: core.getState('paths'),
        fromMain: process.env.FROM_MAIN,
        firstPath: process.env.PATH.split(':')[0],
        version: process.version,
        memory: core.getInput('memory')
      }))
      await core.summary.addRaw('post summary').write()
      `
    )
    const run = await runScripts({ main, post }, { inputs: { memory: '4096' } })
    runs.push(run)

    expect(run.main.exitCode).toBe(1)
    expect(run.post.exitCode).toBe(0)
    expect(run.outputs['node-version']).toMatch(/^v24\./)
    expect(run.outputs).toMatchObject({
      multi: 'line one\nline two',
      flake: '.', // the action.yml default
      memory: '4096',
      token: FAKE_GITHUB_TOKEN,
      leaked: 'none',
      cwd: run.workspace,
      runner: 'Linux X64 true'
    })
    expect(run.state).toEqual({ 'qemu-pid': '1234', paths: '["/a=b","/c"]' })
    expect(run.env).toEqual({ FROM_MAIN: 'yes' })
    expect(run.path).toEqual(['/opt/fake/bin'])
    expect(run.masks).toContain('hunter2-hunter2')
    expect(run.annotations).toEqual([
      {
        level: 'warning',
        title: 'Heads up',
        message: 'careful',
        properties: { title: 'Heads up' },
        step: 'main'
      },
      {
        level: 'error',
        title: 'Bad, thing: x',
        message: 'broken: 50%\nsecond line',
        properties: { title: 'Bad, thing: x', file: 'src/a.ts', line: '3' },
        step: 'main'
      },
      { level: 'notice', message: 'fyi', properties: {}, step: 'main' },
      { level: 'error', message: 'main failed on purpose', properties: {}, step: 'main' }
    ])
    expect(run.summary).toMatch(/<h1>Main summary<\/h1>[\s\S]*post summary/)
    const seen = JSON.parse(/^POST (.*)$/m.exec(run.post.stdout)![1]) as Record<string, string>
    expect(seen).toEqual({
      pid: '1234',
      paths: '["/a=b","/c"]',
      fromMain: 'yes',
      firstPath: '/opt/fake/bin',
      version: run.outputs['node-version'],
      memory: '4096'
    })
    expect(run.post.durationMs).toBeGreaterThan(0)
    expect(run.leftovers).toEqual([])
  })

  it('gives the results-service variables when a service is given', async () => {
    const fake = await startFakeResultsService()
    try {
      const main = await script(
        'env.mjs',
        `core.setOutput('vars', JSON.stringify({
          token: process.env.ACTIONS_RUNTIME_TOKEN?.split('.').length,
          url: process.env.ACTIONS_RESULTS_URL,
          v2: process.env.ACTIONS_CACHE_SERVICE_V2,
          server: process.env.GITHUB_SERVER_URL
        }))`
      )
      const run = await runScripts({ main }, { inputs: {}, resultsService: fake })
      runs.push(run)
      expect(JSON.parse(run.outputs.vars)).toEqual({
        token: 3,
        url: fake.url,
        v2: 'True',
        server: 'https://github.com'
      })
    } finally {
      await fake.close()
    }
  })

  it('stops a step at its timeout and cancels with a signal, as the runner does', async () => {
    const main = await script(
      'slow.mjs',
      `
      process.on('SIGINT', () => { core.warning('got SIGINT'); process.exit(130) })
      setTimeout(() => {}, 60_000)
      `
    )
    const post = await script('quick.mjs', `core.info('post ran')`)
    const timedOut = await runScripts({ main, post }, { inputs: {}, timeoutMs: 500 })
    const cancelled = await runScripts(
      { main, post },
      { inputs: {}, signalAfterMs: { signal: 'SIGINT', afterMs: 300 } }
    )
    runs.push(timedOut, cancelled)

    expect(timedOut.main).toMatchObject({ exitCode: 130, timedOut: true })
    expect(cancelled.main).toMatchObject({ exitCode: 130, timedOut: false })
    expect(cancelled.annotations.map(a => a.message)).toEqual(['got SIGINT'])
    expect(cancelled.post.stdout).toContain('post ran')
  })

  it('kills what the job left running, found by RUNNER_TRACKING_ID', async () => {
    const main = await script(
      'leak.mjs',
      `
      import { spawn } from 'node:child_process'
      const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' })
      child.unref()
      core.saveState('pid', String(child.pid))
      `
    )
    const run = await runScripts({ main }, { inputs: {} })
    runs.push(run)

    expect(run.leftovers).toEqual([{ pid: Number(run.state.pid), command: 'sleep 300' }])
    await new Promise(resolve => setTimeout(resolve, 100))
    // Gone, or a zombie waiting for an init that does not reap (as in some containers).
    const stat = await readFile(`/proc/${run.state.pid}/stat`, 'utf8').catch(() => '')
    expect(stat === '' || / Z /.test(stat)).toBe(true)
  })

  it('refuses an input action.yml does not declare', async () => {
    const main = await script('noop.mjs', '')
    await expect(runScripts({ main }, { inputs: { flakes: '.' } })).rejects.toThrow(/flakes/)
  })
})

describe('parsers', () => {
  it('reads heredoc and name=value file commands', () => {
    const text = 'a<<ghadelimiter_1\nx=y\n\nz\nghadelimiter_1\nb=c=d\nempty<<EOF\nEOF\n'
    expect(parseFileCommand(text)).toEqual({ a: 'x=y\n\nz', b: 'c=d', empty: '' })
  })

  it('honours stop-commands and unescapes data and properties', () => {
    const text = [
      '::warning file=a%2Cb.ts,title=T%3A 100%25::50%25 done%0Anext',
      '::stop-commands::pause123',
      '::error::not a command now',
      '::pause123::',
      '  ::add-mask::s3cret-value',
      'plain ::error:: in the middle'
    ].join('\n')
    expect(parseWorkflowCommands(text)).toEqual({
      annotations: [
        {
          level: 'warning',
          title: 'T: 100%',
          message: '50% done\nnext',
          properties: { file: 'a,b.ts', title: 'T: 100%' }
        }
      ],
      masks: ['s3cret-value']
    })
  })

  it('reads the inputs block of action.yml, quoted and block scalars included', () => {
    const yml = [
      'name: x',
      'inputs:',
      '  plain:',
      '    description: A plain one # with a comment',
      '    default: hello',
      '  quoted:',
      "    default: 'it''s'",
      '    required: true',
      '  block:',
      '    default: |',
      '      line 1',
      '      line 2',
      'outputs:',
      '  out:',
      '    description: nope'
    ].join('\n')
    expect(parseActionInputs(yml)).toEqual({
      plain: { description: 'A plain one', default: 'hello' },
      quoted: { default: "it's", required: true },
      block: { default: 'line 1\nline 2\n' }
    })
  })
})
