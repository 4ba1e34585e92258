// Every value that must never reach the report, the summary, the outputs or the job log.
const SECRET_NAME =
  /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH)/i
/** Names whose values are secret even though they do not look it. */
const SECRET_NAMES = new Set([
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_RESULTS_URL'
])
/** Shorter values would redact ordinary words; GitHub applies the same floor. */
const MIN_SECRET_LENGTH = 4

export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name) || SECRET_NAME.test(name)
}

export class Secrets {
  private readonly known = new Set<string>()

  constructor(private readonly onRegister: (value: string) => void = () => {}) {}

  /** Registers a value (and, in Actions, masks it in the job log). */
  add(value: string | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.known.has(value)) return
    this.known.add(value)
    this.onRegister(value)
    // A multi-line secret (a private key) is masked line by line in the log as well.
    for (const line of value.split('\n')) {
      const trimmed = line.trim()
      if (trimmed.length >= 16 && !this.known.has(trimmed)) {
        this.known.add(trimmed)
        this.onRegister(trimmed)
      }
    }
  }

  /** Registers the values of every variable whose name looks secret. */
  addFromEnvironment(env: NodeJS.ProcessEnv): void {
    for (const [name, value] of Object.entries(env)) if (isSecretName(name)) this.add(value)
  }

  values(): string[] {
    return [...this.known].sort((a, b) => b.length - a.length)
  }

  /** Replaces every known secret in the text with ***. */
  redact(text: string): string {
    let out = text
    for (const value of this.values()) if (out.includes(value)) out = out.split(value).join('***')
    return out
  }

  /** The first known secret the text contains, if any. */
  findIn(text: string): string | undefined {
    return this.values().find(value => text.includes(value))
  }
}
