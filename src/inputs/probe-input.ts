// The `probes` input: one `name [optional, required, timeout=N]: command` per line, each a
// ProbeSpec; a bad line is an InputError that says which line and what it accepts.
import { InputError } from './errors.js'
import type { ProbeSpec } from '../model/index.js'

/** The default probes: provisioning and networking logs from a systemd guest (NixOS). */
export const DEFAULT_PROBES = `
system-state [timeout=120]: systemctl is-system-running --wait || true; systemctl is-system-running
failed-units [optional]: systemctl list-units --failed --no-pager --plain
journal [optional]: journalctl -b --no-pager -o short-monotonic
addresses [optional]: ip -json address show || ip address show
routes [optional]: ip -json route show || ip route show
dns [optional]: resolvectl status --no-pager 2>/dev/null || cat /etc/resolv.conf
listening [optional]: ss -tulpn
os-release [optional]: cat /etc/os-release
kernel [optional]: uname -a
`

const PROBE_LINE =
  /^(?<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?<options>[^\]]*)\])?\s*:\s*(?<command>.*)$/
const DEFAULT_PROBE_TIMEOUT = 60
/** Parses the `probes` input: one `name [optional, timeout=N]: command` per line. */
export function parseProbes(text: string, input = 'probes'): ProbeSpec[] {
  const probes: ProbeSpec[] = []
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const line = raw.trim()
    if (!line || line.startsWith('#')) return
    const where = `line ${index + 1} ('${line}')`
    const match = PROBE_LINE.exec(line)
    if (!match?.groups) {
      throw new InputError(input, `${where} is not 'name: command' (name: letters, digits, . _ -).`)
    }
    const { name, options = '', command } = match.groups
    if (!command.trim()) throw new InputError(input, `${where} has no command after the colon.`)
    if (probes.some(probe => probe.name === name)) {
      throw new InputError(
        input,
        `${where} repeats the probe name '${name}'; names must be unique.`
      )
    }
    const probe: ProbeSpec = {
      name,
      command: command.trim(),
      required: true,
      timeoutSeconds: DEFAULT_PROBE_TIMEOUT
    }
    for (const option of options
      .split(',')
      .map(o => o.trim())
      .filter(Boolean)) {
      const timeout = /^timeout\s*=\s*(.*)$/.exec(option)
      if (option === 'optional') probe.required = false
      else if (option === 'required') probe.required = true
      else if (timeout) probe.timeoutSeconds = probeTimeout(timeout[1], where, input)
      else {
        throw new InputError(
          input,
          `${where} has the unknown option '${option}'; use 'optional', 'required' or 'timeout=<seconds>'.`
        )
      }
    }
    probes.push(probe)
  })
  return probes
}

/** The value of a probe's `timeout=` option: whole seconds, 1 or more. */
function probeTimeout(value: string, where: string, input: string): number {
  if (/^\d+$/.test(value) && Number(value) >= 1) return Number(value)
  throw new InputError(
    input,
    `${where} has an invalid timeout '${value}': give a whole number of seconds, 1 or more (for example 'timeout=60').`
  )
}
