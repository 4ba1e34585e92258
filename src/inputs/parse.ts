// Turns raw inputs into one typed, validated object up front. Nothing downstream reads inputs.
// The same parser serves the action (core.getInput) and the command line (flags).
import type {
  ArchMode,
  BuildIn,
  CacheSaveMode,
  CompareMode,
  Firmware,
  KvmMode,
  NixMode,
  ProbeSpec,
  QemuMode,
  UploadMode
} from '../model/index.js'
import { extraNixConfProblem, githubTokenProblem, nixVersionProblem } from './nix-settings.js'
import { InputError } from './errors.js'
import { DEFAULT_PROBES, parseProbes } from './probe-input.js'
import { VARIABLE_NAME, passEnvInput } from './pass-env.js'
import { checkIsoFile } from '../iso/iso-file.js'
import { checkPrivateKeyFile } from '../shared/key.js'

export interface Inputs {
  flake: string
  image: string
  /** An ISO to boot instead of building one (absolute); empty: build it. */
  iso: string
  /** False: build and upload the ISO as an artifact, boot nothing. */
  boot: boolean
  /** Empty: no devshell, so no env diff. */
  devshell: string
  buildIn: BuildIn
  rootKeyEnv: string
  /** Variables the user hands to nix and QEMU besides the allow-list (src/shared/child-env.ts). */
  passEnv: string[]
  /** The user's private key (absolute) in the ephemeral key's place; empty: an ephemeral key. */
  sshKey: string
  nix: NixMode
  nixVersion: string
  extraNixConf: string[]
  githubToken: string
  kvm: KvmMode
  qemu: QemuMode
  memoryMiB: number
  cpus: number
  firmware: Firmware
  arch: ArchMode
  bootTimeoutSeconds: number
  probes: ProbeSpec[]
  testCommand: string
  testTimeoutSeconds: number
  upload: UploadMode
  artifactName: string
  /** undefined: the repository's default retention. */
  retentionDays: number | undefined
  cache: boolean
  cacheMaxSizeMiB: number
  cacheSave: CacheSaveMode
  /** Bound on the cache restore (main) and on the save (post), each. */
  cacheTimeoutSeconds: number
  compare: CompareMode
  failOnRegression: boolean
  slowdownThresholdPercent: number
}

/** Every input with its default, as in action.yml. */
export const INPUT_DEFAULTS = {
  flake: '.',
  image: 'bootImage',
  iso: '',
  boot: 'true',
  devshell: 'bootImageTest',
  'build-in': 'host',
  'root-key-env': 'PRE_NIXOS_ROOT_KEY',
  'pass-env': '',
  'ssh-key': '',
  nix: 'auto',
  'nix-version': '',
  'extra-nix-conf': '',
  'github-token': '',
  kvm: 'auto',
  qemu: 'auto',
  memory: '2048',
  cpus: '2',
  firmware: 'bios',
  arch: 'auto',
  'boot-timeout': '600',
  probes: '',
  'test-command': '',
  'test-timeout': '1800',
  upload: 'always',
  'artifact-name': 'boot-image-vm-logs',
  'retention-days': '',
  cache: 'true',
  'cache-max-size': '4096',
  'cache-save': 'auto',
  'cache-timeout': '120',
  compare: 'auto',
  'fail-on-regression': 'false',
  'slowdown-threshold': '25'
} as const

export type InputName = keyof typeof INPUT_DEFAULTS

function oneOf<T extends string>(input: InputName, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new InputError(input, `'${value}' is not one of ${allowed.map(a => `'${a}'`).join(', ')}.`)
}

function integer(input: InputName, value: string, min: number, max: number, unit = ''): number {
  const number = /^\d+$/.test(value) ? Number(value) : NaN
  if (Number.isSafeInteger(number) && number >= min && number <= max) return number
  throw new InputError(input, `'${value}' is not a whole number from ${min} to ${max}${unit}.`)
}

/** The value, or an InputError with what `problem` found wrong in it. */
function checked<T>(input: InputName, value: T, problem: (value: T) => string | undefined): T {
  const wrong = problem(value)
  if (wrong) throw new InputError(input, wrong)
  return value
}

function boolean(input: InputName, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true
  if (/^(false|no|0)$/i.test(value)) return false
  throw new InputError(input, `'${value}' is not 'true' or 'false'.`)
}

/** The `iso` input made absolute, once it is proven to be an ISO 9660 image. */
function isoInput(value: string): string {
  if (!value) return ''
  const checkedIso = checkIsoFile(value)
  if ('problem' in checkedIso) throw new InputError('iso', checkedIso.problem)
  return checkedIso.path
}

/** The `ssh-key` input made absolute, once it is proven to be a usable private key. */
function sshKeyInput(value: string): string {
  if (!value) return ''
  const checkedKey = checkPrivateKeyFile(value)
  if ('problem' in checkedKey) throw new InputError('ssh-key', checkedKey.problem)
  return checkedKey.path
}

/** Reads one input: the raw value ('' when unset), or its default when that is empty. */
type Get = (name: InputName) => string

/**
 * Reads and validates every input. `read` returns the raw value ('' when unset); defaults apply
 * to empty values. Throws InputError naming the input and what it accepts.
 */
export function parseInputs(read: (name: InputName) => string): Inputs {
  const get: Get = name => read(name).trim() || INPUT_DEFAULTS[name]
  const nonEmpty = (name: InputName): string => {
    const value = get(name)
    if (!value) throw new InputError(name, 'must not be empty.')
    return value
  }
  // In this order: with several bad inputs, the error names the first of them.
  const rootKeyEnv = rootKeyEnvInput(get('root-key-env'))
  const passEnv = passEnvInput(read('pass-env'))
  const artifactName = artifactNameInput(nonEmpty('artifact-name'))
  const retention = get('retention-days')
  const image = imageInput(nonEmpty('image'))
  const probesText = read('probes').trim()
  const iso = isoInput(read('iso').trim())
  const boot = bootInput(get('boot'), iso)
  const devshell = read('devshell').trim()
  const buildIn = buildInInput(get('build-in'), devshell)
  return {
    flake: nonEmpty('flake'),
    image,
    iso,
    boot,
    // Empty is meaningful here (skip the diff); the runner and the CLI fill in the default.
    devshell,
    buildIn,
    rootKeyEnv,
    passEnv,
    sshKey: sshKeyInput(read('ssh-key').trim()),
    ...nixSettings(read, get),
    ...machineSettings(get),
    probes: parseProbes(probesText || DEFAULT_PROBES, probesText ? 'probes' : 'probes (default)'),
    testCommand: read('test-command').trim(),
    testTimeoutSeconds: integer('test-timeout', get('test-timeout'), 1, 86400, ' (seconds)'),
    upload: oneOf('upload', get('upload'), ['always', 'failure', 'never'] as const),
    artifactName,
    retentionDays: retention ? integer('retention-days', retention, 1, 90, ' (days)') : undefined,
    ...cacheSettings(get),
    ...comparisonSettings(get)
  }
}

function rootKeyEnvInput(value: string): string {
  if (VARIABLE_NAME.test(value)) return value
  throw new InputError(
    'root-key-env',
    `'${value}' is not a valid environment variable name (letters, digits and _, not starting with a digit).`
  )
}

function artifactNameInput(value: string): string {
  if (!/[":<>|*?\\/\r\n]/.test(value)) return value
  throw new InputError(
    'artifact-name',
    `'${value}' contains a character artifacts cannot have (" : < > | * ? \\ / or a newline).`
  )
}

function imageInput(value: string): string {
  if (!/\s/.test(value)) return value
  throw new InputError(
    'image',
    `'${value}' contains white space; give one attribute, e.g. 'bootImage'.`
  )
}

/** The `boot` input; false needs an image to build, so not with `iso`. */
function bootInput(value: string, iso: string): boolean {
  const boot = boolean('boot', value)
  if (boot || !iso) return boot
  throw new InputError(
    'boot',
    "'false' with 'iso' given leaves nothing to do: boot the ISO (boot: true) or build one (no iso)."
  )
}

/** The `build-in` input; building in the devshell needs one. */
function buildInInput(value: string, devshell: string): BuildIn {
  const buildIn = oneOf('build-in', value, ['host', 'devshell', 'both'] as const)
  if (buildIn === 'host' || devshell) return buildIn
  throw new InputError(
    'build-in',
    `'${buildIn}' needs a devshell to build in; set 'devshell' (e.g. bootImageTest) or use 'host'.`
  )
}

/** The inputs that reach Nix: how it is found, its version and configuration, the token. */
function nixSettings(read: Get, get: Get) {
  return {
    nix: oneOf('nix', get('nix'), ['auto', 'install', 'existing'] as const),
    nixVersion: checked('nix-version', get('nix-version'), nixVersionProblem),
    extraNixConf: checked(
      'extra-nix-conf',
      read('extra-nix-conf')
        .split('\n')
        .map(l => l.trim())
        .filter(Boolean),
      extraNixConfProblem
    ),
    githubToken: checked('github-token', read('github-token').trim(), githubTokenProblem)
  }
}

/** The inputs that shape the VM: KVM, QEMU, memory, CPUs, firmware, the boot's time. */
function machineSettings(get: Get) {
  return {
    kvm: oneOf('kvm', get('kvm'), ['auto', 'require', 'off'] as const),
    qemu: oneOf('qemu', get('qemu'), ['auto', 'path', 'nix', 'apt'] as const),
    memoryMiB: integer('memory', get('memory'), 128, 1048576, ' (MiB)'),
    cpus: integer('cpus', get('cpus'), 1, 256),
    firmware: oneOf('firmware', get('firmware'), ['bios', 'uefi'] as const),
    arch: oneOf('arch', get('arch'), ['auto', 'x86_64', 'aarch64'] as const),
    bootTimeoutSeconds: integer('boot-timeout', get('boot-timeout'), 5, 86400, ' (seconds)')
  }
}

function cacheSettings(get: Get) {
  return {
    cache: boolean('cache', get('cache')),
    cacheMaxSizeMiB: integer('cache-max-size', get('cache-max-size'), 1, 10240, ' (MiB)'),
    cacheSave: oneOf('cache-save', get('cache-save'), ['auto', 'always', 'never'] as const),
    cacheTimeoutSeconds: integer('cache-timeout', get('cache-timeout'), 5, 3600, ' (seconds)')
  }
}

/** The regression view's inputs: compare or not, fail on a regression, the slowdown allowed. */
function comparisonSettings(get: Get) {
  return {
    compare: oneOf('compare', get('compare'), ['auto', 'off'] as const),
    failOnRegression: boolean('fail-on-regression', get('fail-on-regression')),
    slowdownThresholdPercent: integer(
      'slowdown-threshold',
      get('slowdown-threshold'),
      1,
      1000,
      ' (percent)'
    )
  }
}
