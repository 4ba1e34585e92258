// Pure: env/diff.md — verdicts on top, then the .drv, nix and TMPDIR side by side, then every
// variable that differs, most likely to change a build first.
import type { EnvDifference } from '../model/index.js'
import type { ContextFacts, EnvDiffReport } from './types.js'
import { isPseudoVariable, SUN_PATH_MAX } from './env-verdicts.js'

const MAX_CELL = 160

/** Text for one table cell: no line breaks, no bare pipes, long values clipped. */
function cell(text: string, max = MAX_CELL): string {
  const flat = text.replace(/\r?\n/g, '⏎').replace(/\|/g, '\\|')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** A code span that survives backticks in the value. */
function code(text: string | null | undefined, max = MAX_CELL): string {
  if (text === null || text === undefined) return '–'
  if (text === '') return '(empty)'
  const body = cell(text, max)
  const fence = body.includes('`') ? '``' : '`'
  return `${fence}${fence.length > 1 ? ' ' : ''}${body}${fence.length > 1 ? ' ' : ''}${fence}`
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** A row of the side-by-side tables: bold when the two contexts disagree. */
function pair(label: string, host: string, devshell: string): string[] {
  const mark = host === devshell ? label : `**${label}**`
  return [mark, host, devshell]
}

function bytes(n: number | null): string {
  if (n === null) return '–'
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`
  return `${Math.floor(n / 2 ** 20)} MiB`
}

function nixRows(h: ContextFacts, d: ContextFacts): string[][] {
  const rows = [
    pair('nix', code(h.nix.path), code(d.nix.path)),
    pair('resolves to', code(h.nix.realPath), code(d.nix.realPath)),
    pair('first nix on PATH', code(h.nix.onPath), code(d.nix.onPath)),
    pair('version', code(h.nix.version), code(d.nix.version)),
    pair('store mode', h.store.mode, d.store.mode),
    pair('NIX_REMOTE', code(h.store.nixRemote), code(d.store.nixRemote)),
    pair('daemon socket', String(h.store.daemonSocket), String(d.store.daemonSocket)),
    pair('state dir writable', String(h.store.stateDirWritable), String(d.store.stateDirWritable)),
    pair('uid', String(h.store.uid), String(d.store.uid))
  ]
  const keys = [...new Set([...Object.keys(h.settings), ...Object.keys(d.settings)])].sort()
  for (const key of keys) rows.push(pair(key, code(h.settings[key]), code(d.settings[key])))
  if (h.settingsError || d.settingsError) {
    rows.push(['config error', cell(h.settingsError ?? ''), cell(d.settingsError ?? '')])
  }
  return rows
}

function tmpdirRows(h: ContextFacts, d: ContextFacts): string[][] {
  const [a, b] = [h.tmpdir, d.tmpdir]
  const path = (t: typeof a) => code(t.path) + (t.set ? '' : ' (unset)')
  return [
    pair('TMPDIR', path(a), path(b)),
    pair('bytes', String(a.bytes), String(b.bytes)),
    pair('exists / writable', `${a.exists} / ${a.writable}`, `${b.exists} / ${b.writable}`),
    pair('free', bytes(a.freeBytes), bytes(b.freeBytes)),
    pair('build directory', code(a.buildDir), code(b.buildDir)),
    pair('the builder sees', code(a.builderDir), code(b.builderDir)),
    pair(
      'socket headroom (bytes)',
      String(a.socketHeadroom ?? '–'),
      String(b.socketHeadroom ?? '–')
    ),
    pair('why there', cell(a.buildDirNote), cell(b.buildDirNote))
  ]
}

function differenceRow(d: EnvDifference): string[] {
  let devshell = code(d.devshell)
  // nix develop prepends to PATH and XDG_DATA_DIRS: show what it put in front of the host's.
  if (
    d.host &&
    d.devshell &&
    d.devshell.length > d.host.length &&
    d.devshell.endsWith(`:${d.host}`)
  ) {
    devshell = `${code(d.devshell.slice(0, -d.host.length - 1))} + the host's`
  }
  return [code(d.name), d.kind, d.likelihood, code(d.host), devshell, cell(d.reason, 300)]
}

export function renderDiffMarkdown(report: EnvDiffReport): string {
  const { host, devshell } = report.contexts
  const { flake, image } = report.request
  const installable = `${flake}#${report.request.devshell}`
  const out: string[] = [
    '# What is different inside the devshell',
    `The build's own context compared with \`nix develop ${installable}\`, for \`${flake}#${image}\`.`
  ]
  if (report.error) out.push(`**The comparison is incomplete:** ${cell(report.error, 1000)}`)
  out.push('## Verdicts', report.verdicts.map(v => `- ${v}`).join('\n') || '- no differences')
  out.push(
    '## Derivation',
    table(
      ['', 'Host', 'Devshell'],
      [
        pair('.drv', code(host.drvPath), code(devshell.drvPath)),
        pair('evaluation error', cell(host.evalError ?? ''), cell(devshell.evalError ?? ''))
      ]
    )
  )
  out.push('## Nix', table(['', 'Host', 'Devshell'], nixRows(host, devshell)))
  out.push(
    '## TMPDIR',
    table(['', 'Host', 'Devshell'], tmpdirRows(host, devshell)),
    `Socket headroom = ${SUN_PATH_MAX - 1} (sun_path's ${SUN_PATH_MAX} bytes less the NUL) − the bytes ` +
      'of "<the builder sees>/": what is left for a socket path inside the build directory. ' +
      "The devshell's TMPDIR is shown as it is for you: the capture ran in a private scratch " +
      'directory and its prefix is written back as your TMPDIR.'
  )
  // The facts (.drv, nix, settings, headroom) are in the tables above: here only variables.
  const variables = report.differences.filter(d => !isPseudoVariable(d.name))
  const counts = (['high', 'medium', 'low'] as const)
    .map(l => `${variables.filter(d => d.likelihood === l).length} ${l}`)
    .join(', ')
  out.push(`## Variables (${variables.length} differ: ${counts})`)
  if (variables.length) {
    const header = ['Variable', 'Change', 'Likelihood', 'Host', 'Devshell', 'Why it matters']
    out.push(table(header, variables.map(differenceRow)))
  }
  out.push(
    `Host: ${host.variables} variables, devshell: ${devshell.variables}. Whole environments ` +
      '(secret values redacted to a keyed hash: equal tags mean equal values): `env/host.env`, ' +
      '`env/devshell.env`.'
  )
  return out.join('\n\n') + '\n'
}
