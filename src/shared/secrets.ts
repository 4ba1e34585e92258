// Every value that must never reach the report, the summary, the outputs or the job log.

/**
 * A secret word as a whole part of a name split at `_` and `-` (so GITHUB_TOKEN, MY_API_KEY,
 * NPM_AUTH_TOKEN and INPUT_GITHUB-TOKEN, but not GIT_AUTHOR_NAME nor TOKENIZER_PATH). Anchored at
 * both ends of the part: linear.
 */
const SECRET_PART =
  /(?:^|[_-])(?:TOKENS?|SECRETS?|PASSWORDS?|PASSWD|PASSPHRASE|CREDENTIALS?|AUTH|(?:PRIVATE|API|ACCESS)[_-]?KEYS?)(?=$|[_-])/i
/** Names whose values are secret even though they do not look it. */
const SECRET_NAMES = new Set([
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_RESULTS_URL'
])
/** Shorter values would redact ordinary words; GitHub applies the same floor. */
const MIN_SECRET_LENGTH = 4
/** A value known only by its variable's name is a secret from this length on (`root`, `1`: no). */
export const MIN_NAMED_SECRET_LENGTH = 8
/** Values a secret-named variable holds that are settings, not secrets. */
const PLAIN_VALUES = /^(?:true|false|yes|no|on|off|enabled?|disabled?|null|none|undefined)$/i

export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name) || SECRET_PART.test(name)
}

/**
 * Whether a variable's value is taken as a secret because of its name: a secret name, and a value
 * long enough, not a boolean-like setting and not a path (SSH_AUTH_SOCK names a socket).
 */
export function isNamedSecret(name: string, value: string | undefined): boolean {
  if (!value || !isSecretName(name)) return false
  const trimmed = value.trim()
  if (trimmed.length < MIN_NAMED_SECRET_LENGTH || PLAIN_VALUES.test(trimmed)) return false
  return !/^(?:\/|\.\/|~\/)\S*$/.test(trimmed)
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
    for (const [name, value] of Object.entries(env)) {
      if (isNamedSecret(name, value)) this.add(value)
    }
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
