// /etc/os-release read: is this Debian or Ubuntu (or a distribution that says it is like them)?
// Pure. Format: os-release(5), shell-style NAME=value lines, values optionally quoted.

/** The fields of an os-release file. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line)
    if (!match) continue
    let value = match[2].trim()
    const quote = value[0]
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1)
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1')
    }
    fields[match[1]] = value
  }
  return fields
}

/** Whether apt can install QEMU here: ID or ID_LIKE names debian or ubuntu. */
export function isDebianLike(fields: Record<string, string>): boolean {
  const ids = [fields.ID ?? '', ...(fields.ID_LIKE ?? '').split(/\s+/)].map(id => id.toLowerCase())
  return ids.some(id => id === 'debian' || id === 'ubuntu')
}

/** The distribution in a few words, for the reason apt was passed over. */
export function describeOs(fields: Record<string, string>): string {
  const name = fields.PRETTY_NAME || fields.NAME || fields.ID || 'unknown'
  const like = fields.ID_LIKE ? `, like ${fields.ID_LIKE}` : ''
  return `${name} (ID=${fields.ID ?? 'unset'}${like})`
}
