// What Nix printed, as an error message: colour removed, warnings before the first error dropped.
// One definition for every stage that reports a failed nix call (build, cache, env).
const ESC = String.fromCharCode(27)
const BEL = String.fromCharCode(7)
/** CSI sequences (colours), OSC sequences (hyperlinks, titles) and two-byte escapes. */
const ANSI = new RegExp(
  `${ESC}\\[[0-9;?]*[ -/]*[@-~]|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)|${ESC}[@-Z\\\\-_]`,
  'g'
)

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '')
}

/** Nix's error, from its first `error:` line on (warnings before it dropped). */
export function nixError(stderr: string): string {
  const lines = stripAnsi(stderr).replace(/\r/g, '').trimEnd().split('\n')
  const first = lines.findIndex(line => line.startsWith('error:'))
  return (first < 0 ? lines : lines.slice(first)).join('\n').trim()
}
