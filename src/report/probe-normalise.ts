// A probe's output with what differs on every boot masked, so that only meaningful changes
// remain: addresses, timestamps, durations, pids, host keys, per-boot ids, lease lifetimes, traffic
// counters, the order of sockets in a table, and in a log the lines whose presence, count or order
// depends on timing. Pure; each rule was seen to vary between two boots of one unchanged image
// (tests/fixtures/probes/).
import { capLines } from '../shared/bounds.js'

const MASKS: [RegExp, string][] = [
  // Host keys and fingerprints (a fresh host key each boot).
  [/\bSHA256:[A-Za-z0-9+/]{43}=?/g, '<fingerprint>'],
  [/\b(ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]{40,}={0,2}/g, '$1 <key>'],
  // MAC addresses (before the times of day, which look like their first three groups).
  [/\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi, '<mac>'],
  // Timestamps: ISO 8601, syslog-style, times of day, kernel and journal monotonic stamps.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [
    /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:\d{1,2} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b[^\n]{0,40}?\d{2}:\d{2}:\d{2}(?: \w{1,5})?(?: \d{4})?/g,
    '<time>'
  ],
  [
    /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}/g,
    '<time>'
  ],
  [/\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b/g, '<time>'],
  // `uptime`: how long the guest has been up, and its load.
  [/\bup +(?:\d+ days?, +)?(?:\d+:\d{2}|\d+ min)\b/g, 'up <uptime>'],
  [/\bload average: [\d.]+, [\d.]+, [\d.]+/g, 'load average: <load>'],
  [/\[ *\d+\.\d+\]/g, '[<t>]'],
  // Durations and lifetimes (systemd's "in 1.234s", ip's "valid_lft 86399sec", "up 5 min").
  [/\b\d+(?:\.\d+)?(?:ms|us|µs|sec|min|s)\b/g, '<duration>'],
  // Identifiers that change per boot: UUIDs, boot and machine ids.
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b[0-9a-f]{32}\b/g, '<id>'],
  // Addresses: IPv4 (with an optional prefix), IPv6 (two groups or more, or with ::).
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g, '<ipv4>'],
  [
    /(?<![\w:])(?:(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?)(?:\/\d{1,3})?(?![\w:])/gi,
    '<ipv6>'
  ],
  // Ephemeral ports after an address (54321), and pids in their usual spellings.
  [/(<ipv[46]>|\*|\]):(?:3[2-9]\d{3}|[4-6]\d{4})\b/g, '$1:<port>'],
  [/\bpid[=: ]+\d+/gi, 'pid=<pid>'],
  // `ss -p`: a socket's file descriptor number depends on what the process opened first.
  [/(\bpid=<pid>,fd=)\d+/g, '$1<fd>'],
  [/\b([A-Za-z][\w.@-]*)\[\d+\]/g, '$1[<pid>]'],
  // Duplicate address detection states of a fresh IPv6 address.
  [/ (?:tentative|optimistic)\b/g, ''],
  // `ip -json address`: what is left of a DHCP lease or a router advertisement (not "forever").
  [/("(?:valid|preferred)_life_time"):(?!4294967295\b)\d+/g, '$1:<lifetime>'],
  // Traffic counters: `ip -json -s` statistics, ifconfig's "RX packets 12 bytes 3456 (3.3 KiB)".
  [
    /("(?:bytes|packets|errors|dropped|missed|multicast|over_errors|carrier_errors|collisions)"):\d+/g,
    '$1:<count>'
  ],
  [/\b([RT]X packets)[: ]\d+( +bytes)[: ]\d+(?: \([^)]*\))?/g, '$1 <count>$2 <count>']
]

/**
 * A probe's output with what differs on every boot masked — addresses, timestamps, durations, pids,
 * host keys, per-boot ids, lifetimes, counters — so that only meaningful changes remain. A socket
 * table (`ss`) is sorted; a log is reduced to its sorted, distinct lines without the ones that
 * only say how fast the boot was. Also trims trailing blanks.
 */
/** The line without trailing spaces and tabs (a loop: `/[ \t]+$/` retries every blank of a run). */
function trimBlanks(line: string): string {
  let end = line.length
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--
  return end === line.length ? line : line.slice(0, end)
}

export function normaliseProbeOutput(text: string): string {
  // Lines no longer than a parser needs (the guest's output is untrusted), then the masks.
  let out = settleLinkStates(capLines(text.replace(/\r\n?/g, '\n'), undefined, 'digest'))
  for (const [pattern, replacement] of MASKS) out = out.replace(pattern, replacement)
  out = out.replace(/\{"family":"inet6"[^{}]*"dynamic":true[^{}]*\},?/g, '').replace(/,\]/g, ']')
  const lines = maskCounterRows(out.split('\n').map(trimBlanks))
  // `ip address`: an autoconfigured (dynamic) IPv6 address is there or not depending on when the
  // router advertisement arrived; its entry (and its lifetime line) is left out (above: its JSON).
  const kept = lines.filter(
    (line, i) =>
      !/^\s*inet6 <ipv6> .*\bdynamic\b/.test(line) &&
      !(/^\s*valid_lft /.test(line) && /^\s*inet6 <ipv6> .*\bdynamic\b/.test(lines[i - 1] ?? ''))
  )
  const settled = isLog(kept) ? settleLog(kept) : sortSocketTable(kept)
  return settled.join('\n').replace(/\n+$/, '\n')
}

/** `ip -s link`: the numbers under an "RX:  bytes packets errors …" header are traffic counters. */
function maskCounterRows(lines: string[]): string[] {
  return lines.map((line, i) =>
    /^\s*[RT]X:\s+bytes\b/.test(lines[i - 1] ?? '') ? line.replace(/\d+/g, '<count>') : line
  )
}

/**
 * `ss`: sockets are listed in the kernel's hash order, which differs between boots, and the
 * columns are as wide as their longest entry. Rows are sorted, spacing collapsed, and the queue
 * counts masked (bytes waiting; a listener's Send-Q, its backlog, is kept).
 */
function sortSocketTable(lines: string[]): string[] {
  const header = lines.findIndex(line =>
    /^(?:Netid +)?State +Recv-Q +Send-Q +Local Address/.test(line)
  )
  if (header < 0) return lines
  let end = header + 1
  while (end < lines.length && lines[end].trim()) end++
  const rows = lines
    .slice(header + 1, end)
    .map(row => row.replace(/\s+/g, ' '))
    .map(row =>
      row.replace(
        /^((?:\w+ )?)(\S+) \d+ (\d+) /,
        (_all, netid: string, state: string, sendQ) =>
          `${netid}${state} <q> ${state === 'LISTEN' ? sendQ : '<q>'} `
      )
    )
    .sort()
  return [
    ...lines.slice(0, header),
    lines[header].replace(/\s+/g, ' '),
    ...rows,
    ...lines.slice(end)
  ]
}

/** Most lines start with a (masked) timestamp: a journal, dmesg, a syslog file. */
function isLog(lines: string[]): boolean {
  const filled = lines.filter(line => line.trim())
  const stamped = filled.filter(line => /^(?:\[<t>\]|<time>) /.test(line))
  return filled.length >= 5 && stamped.length * 2 >= filled.length
}

/**
 * Lines a log has or not, or has more or fewer of, depending on how fast the boot ran: the
 * kernel's clock calibration under emulation, a link that came up before or after its interface
 * was opened, and sshd's lines about the action's own connection attempts (how many readiness
 * tries it took, and when the probes' sessions were logged).
 */
const TIMING_LINES: RegExp[] = [
  /\bkernel: tsc: /,
  /\bkernel: calibrate_delay_direct\(\) failed/,
  /\bkernel: hrtimer: interrupt took /,
  /\bkernel: clocksource: .*(?:watchdog|unstable|skew)/i,
  /\bkernel: IPv6: ADDRCONF\(NETDEV_CHANGE\): \S+ link becomes ready/,
  // The IO-APIC timer check and APIC calibration, which a loaded TCG host fails now and then.
  /\bkernel: \.+ ?(?:\(found apic|works\.|failed\.|trying to set up timer|MP-BIOS bug)/,
  /\bkernel: APIC (?:calibration not consistent|delta adjusted)/,
  /\bsshd\[<pid>\]: (?:Accepted |Disconnected from |Received disconnect from |Connection (?:closed|reset) by |drop connection |error: beginning MaxStartups|exited MaxStartups|fatal: ssh_packet_send_debug|error: kex_exchange_identification|banner exchange|Timeout before authentication|pam_unix\(sshd:session\)|pam_env\(sshd:session\))/
]

/**
 * A log compared by what it says, not by when: numbers masked (BogoMIPS, entry counts, session
 * numbers), timing-dependent lines dropped (with their indented continuation lines), and the rest
 * sorted and made distinct, since parallel services log in a different order on every boot.
 */
function settleLog(lines: string[]): string[] {
  const out: string[] = []
  let entries: string[] = []
  let dropping = false
  const flush = (): void => {
    out.push(...[...new Set(entries)].sort())
    entries = []
  }
  for (const line of lines) {
    if (!line.trim()) continue
    // probes/<name>.txt's section markers stay where they are.
    if (/^--- \w+ ---$/.test(line)) {
      flush()
      out.push(line)
      continue
    }
    if (/^\s/.test(line)) {
      // A continuation line belongs to the entry above it, whether that was kept or not.
      if (!dropping && entries.length) entries[entries.length - 1] += `\n${line}`
      continue
    }
    const masked = line.replace(/(?<![\w<])\d+(?:\.\d+)?(?![\w>])/g, '<n>')
    dropping = TIMING_LINES.some(pattern => pattern.test(masked))
    if (!dropping) entries.push(masked)
  }
  flush()
  return out
}

/**
 * A link that has its carrier (LOWER_UP) but is not operationally up yet (NO-CARRIER, state DOWN)
 * is in the kernel's linkwatch delay, about a second after it was brought up; a probe that runs then
 * or a moment later sees a different flag set for the same healthy link. Both read as up. A link
 * without LOWER_UP has really lost its carrier and is left as it is.
 */
function settleLinkStates(text: string): string {
  const settling = (flags: string): boolean =>
    /\bNO-CARRIER\b/.test(flags) && /\bLOWER_UP\b/.test(flags)
  // `ip address show`: "2: eth0: <NO-CARRIER,BROADCAST,UP,LOWER_UP> mtu 1500 ... state DOWN ..."
  const plain = text.replace(/^(\d+: \S+ <)([^>\n]*)(>[^\n]*)$/gm, (line, head, flags, rest) =>
    settling(flags)
      ? `${head}${flags.replace(/NO-CARRIER,?/, '').replace(/,$/, '')}${rest.replace(/ state DOWN\b/, ' state UP')}`
      : line
  )
  // `ip -json address show`: "flags":["NO-CARRIER",...,"LOWER_UP"],...,"operstate":"DOWN"
  return plain.replace(
    /("flags":\[)([^\]]*)(\][^{}[\]]*?"operstate":")(\w+)"/g,
    (whole, head, flags, middle, state) =>
      settling(flags)
        ? `${head}${flags.replace(/"NO-CARRIER",?/, '').replace(/,$/, '')}${middle}${state === 'DOWN' ? 'UP' : state}"`
        : whole
  )
}
