// The 2.29+ "Cannot build '<drv>'." block (its `Reason:` lines and what follows them) and the
// builder statuses and feature sets every Nix version words alike. Pure; failures.ts uses them.

/** A root cause found at a line: the derivation, why, and where its quoted tail may start. */
export interface Found {
  drv: string
  reason: string
  exitCode: number | null
  signal?: string
  /** Index of the line after the failure's own lines, where its quoted tail may start. */
  next: number
}

const featureSet = (list: string): string[] =>
  list
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)

export function missingFeatures(required: string, available: string): string {
  const have = new Set(featureSet(available))
  const missing = featureSet(required).filter(f => !have.has(f))
  return missing.length ? `missing system features: ${missing.join(', ')}` : ''
}

export function builderStatus(text: string): Pick<Found, 'reason' | 'exitCode' | 'signal'> {
  const exit = /failed with exit code (\d+)/.exec(text)
  if (exit) return { reason: `builder failed with exit code ${exit[1]}`, exitCode: Number(exit[1]) }
  const signal = /failed due to signal (\d+)(?: \(([^)]*)\))?/.exec(text)
  if (signal) {
    const name = signal[2] ? `${signal[1]} (${signal[2]})` : signal[1]
    return { reason: `builder failed due to signal ${name}`, exitCode: null, signal: name }
  }
  return { reason: 'builder ' + text.replace(/\.$/, ''), exitCode: null }
}

function replaceReason(reasons: string[], general: string, detail: string): void {
  const at = reasons.indexOf(general)
  if (!detail) return
  if (at < 0) reasons.push(detail)
  else reasons[at] = detail
}

/** Reads the `Reason:` lines (and what follows them) of a 2.29+ "Cannot build" block. */
export function cannotBuild(lines: string[], start: number, drv: string): Found | 'dependent' {
  const reasons: string[] = []
  let status: Pick<Found, 'reason' | 'exitCode' | 'signal'> | undefined
  let i = start + 1
  for (; i < lines.length; i++) {
    const line = lines[i]
    const reason = /^Reason: (.*)$/.exec(line)
    if (reason) {
      const text = reason[1].replace(/\.$/, '')
      if (/^\d+ dependenc(?:y|ies) failed$/.test(text)) return 'dependent'
      if (text.startsWith('builder ')) status = builderStatus(text.slice('builder '.length))
      else reasons.push(text)
      continue
    }
    const oldFeatures = /^Required system: '([^']*)' with features \{([^}]*)\}/.exec(line)
    const current = /^Current system: '([^']*)' with features \{([^}]*)\}/.exec(lines[i + 1] ?? '')
    if (oldFeatures && current) {
      const platform =
        oldFeatures[1] !== current[1]
          ? `platform mismatch: needs ${oldFeatures[1]}, this machine is ${current[1]}`
          : ''
      const detail = [missingFeatures(oldFeatures[2], current[2]), platform].filter(Boolean)
      replaceReason(reasons, 'required system or feature not available', detail.join('; '))
      i++
      continue
    }
    const required = /^Required features: \{([^}]*)\}/.exec(line)
    const available = /^Available features: \{([^}]*)\}/.exec(lines[i + 1] ?? '')
    if (required && available) {
      const missing = missingFeatures(required[1], available[1])
      replaceReason(reasons, 'missing system features', missing)
      i++
      continue
    }
    const platform = /^Required system: '([^']*)'$/.exec(line)
    const here = /^Current system: '([^']*)'$/.exec(lines[i + 1] ?? '')
    if (platform && here) {
      const detail = `platform mismatch: needs ${platform[1]}, this machine is ${here[1]}`
      replaceReason(reasons, 'platform mismatch', detail)
      i++
      continue
    }
    if (/^(Hint|Note|Output paths):/.test(line) || /^\/\S+$/.test(line)) continue
    break
  }
  const reason = status ? status.reason : reasons.filter(Boolean).join('; ') || 'cannot build'
  return { drv, reason, exitCode: status?.exitCode ?? null, signal: status?.signal, next: i }
}
