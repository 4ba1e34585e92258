// The hardening suite's case tables: tests/e2e/hardening-*.test.ts run them, and
// tests/unit/code-guarantees.test.ts checks that the README's "Reliability" figures equal their sizes.

export interface BadInputCase {
  input: string
  value: string
  /** Other inputs the case needs. */
  with?: Record<string, string>
  /** What the message must say besides the input's name and the value (what would be accepted). */
  accepts: RegExp
}

const enumCase = (input: string, value: string, allowed: string[]): BadInputCase => ({
  input,
  value,
  accepts: new RegExp(allowed.map(a => `'${a}'`).join('.*'))
})
const numberCase = (input: string, value: string, min: number, max: number): BadInputCase => ({
  input,
  value,
  accepts: new RegExp(`whole number from ${min} to ${max}`)
})

/** Input errors: caught before Nix runs; result setup-failed. */
export const BAD_INPUTS: BadInputCase[] = [
  ...['maybe', 'KVM', 'on'].map(v => enumCase('kvm', v, ['auto', 'require', 'off'])),
  ...['vm', 'Host', 'host,devshell'].map(v =>
    enumCase('build-in', v, ['host', 'devshell', 'both'])
  ),
  ...['latest', 'yes'].map(v => enumCase('nix', v, ['auto', 'install', 'existing'])),
  ...['efi', 'BIOS'].map(v => enumCase('firmware', v, ['bios', 'uefi'])),
  ...['sometimes', 'on-failure'].map(v => enumCase('upload', v, ['always', 'failure', 'never'])),
  ...['on', 'always'].map(v => enumCase('compare', v, ['auto', 'off'])),
  { input: 'cache', value: 'maybe', accepts: /'true' or 'false'/ },
  { input: 'fail-on-regression', value: 'perhaps', accepts: /'true' or 'false'/ },
  ...['lots', '64', '2048.5', '-1', '1e3', '2 GiB'].map(v => numberCase('memory', v, 128, 1048576)),
  ...['0', 'two', '1000'].map(v => numberCase('cpus', v, 1, 256)),
  ...['0', '4', 'ten', '99999999', '600s'].map(v => numberCase('boot-timeout', v, 5, 86400)),
  ...['0', '91', 'x', '-3'].map(v => numberCase('retention-days', v, 1, 90)),
  ...['0', 'big', '99999', '1.5'].map(v => numberCase('cache-max-size', v, 1, 10240)),
  ...['0', '-5', '25%', '5000'].map(v => numberCase('slowdown-threshold', v, 1, 1000)),
  ...['0', 'forever'].map(v => numberCase('test-timeout', v, 1, 86400)),
  ...['1', 'soon'].map(v => numberCase('cache-timeout', v, 5, 3600)),
  { input: 'probes', value: ': uname -a', accepts: /is not 'name: command'/ },
  { input: 'probes', value: 'just-a-name', accepts: /is not 'name: command'/ },
  { input: 'probes', value: 'bad name!: uname', accepts: /is not 'name: command'/ },
  { input: 'probes', value: 'kernel:', accepts: /has no command after the colon/ },
  { input: 'probes', value: 'kernel:    ', accepts: /has no command after the colon/ },
  {
    input: 'probes',
    value: 'kernel [sometimes]: uname -a',
    accepts: /'optional', 'required' or 'timeout=<seconds>'/
  },
  {
    input: 'probes',
    value: 'kernel [timeout=0]: uname -a',
    accepts: /invalid timeout '0': give a whole number of seconds, 1 or more/
  },
  {
    input: 'probes',
    value: 'kernel: uname -a\nkernel: uname -r',
    accepts: /names must be unique/
  },
  ...['1KEY', 'MY-KEY', 'A B', '$(id)', 'KEY;rm'].map(value => ({
    input: 'root-key-env',
    value,
    accepts: /letters, digits and _, not starting with a digit/
  })),
  ...['a/b', 'x:y', 'what?'].map(value => ({
    input: 'artifact-name',
    value,
    accepts: /character artifacts cannot have/
  })),
  { input: 'image', value: 'bootImage --impure', accepts: /give one attribute/ },
  // Values that reach Nix's configuration files or the installer's URL (issue 13): a newline in
  // the token would have added its own lines (a post-build-hook) to the effective configuration.
  ...['x\npost-build-hook = /tmp/evil-hook', 'ghs_abc def', 'ghs_abc\tdef'].map(value => ({
    input: 'github-token',
    value,
    accepts: /white space or a control character.*a token is one word/
  })),
  ...['2.35.2; rm -rf /', 'latest', '2.35'].map(value => ({
    input: 'nix-version',
    value,
    accepts: /not a version like '2\.35\.2'/
  })),
  ...['sandbox=false', 'rm -rf /', 'substituters =https://evil.example'].map(value => ({
    input: 'extra-nix-conf',
    value,
    accepts: /is not a Nix setting: write one 'name = value' per line/
  })),
  {
    input: 'build-in',
    value: 'devshell',
    with: { devshell: '' },
    accepts: /needs a devshell to build in.*'host'/
  }
]

export interface NixInputCase {
  name: string
  inputs: (flake: string) => Record<string, string>
  result: string
  /** The error the log and the report must carry. */
  says: RegExp
}

/** Inputs only Nix can judge: a flake or attribute that is not there, an image with no ISO. */
export const NIX_INPUTS: NixInputCase[] = [
  {
    name: 'a flake path that does not exist',
    inputs: () => ({ flake: '/nonexistent/boot-image-vm-flake', image: 'bootImage' }),
    result: 'eval-failed',
    says: /nonexistent\/boot-image-vm-flake/
  },
  {
    name: 'a flake without the attribute',
    inputs: flake => ({ flake, image: 'noSuchImage' }),
    result: 'eval-failed',
    says: /noSuchImage/
  },
  {
    name: 'an attribute that builds no ISO (notAnIso)',
    inputs: flake => ({ flake, image: 'notAnIso' }),
    result: 'build-failed',
    says: /no.*\.iso|ISO/i
  }
]

export type FaultId =
  | 'qemu-missing'
  | 'results-fail-all'
  | 'results-fail-then-recover'
  | 'results-hang'
  | 'temp-read-only'
  | 'temp-full'
  | 'cancel-during-build'
  | 'qemu-killed'
  | 'guest-panics'
  | 'no-sshd'
  | 'key-rejected'
  | 'probe-hangs-test-missing'
  | 'cancel-during-test'
  | 'cancel-during-boot'
  | 'killed-during-boot'

/** One test each in tests/e2e/hardening-faults.test.ts. */
export const FAULT_CASES: { id: FaultId; name: string }[] = [
  {
    id: 'qemu-missing',
    name: 'QEMU missing from PATH with qemu: path: setup-failed before any build, naming the three ways'
  },
  {
    id: 'results-fail-all',
    name: 'the results (and cache) service fails every call: result unchanged, a warning'
  },
  { id: 'results-fail-then-recover', name: 'the results service fails, then recovers: uploaded' },
  { id: 'results-hang', name: 'the results service hangs: the upload is bounded' },
  { id: 'temp-read-only', name: 'RUNNER_TEMP is read-only: the report goes elsewhere' },
  { id: 'temp-full', name: 'RUNNER_TEMP is full (64 KiB tmpfs): still a result and an upload' },
  { id: 'cancel-during-build', name: 'SIGTERM during the build: cancelled, build-failed' },
  { id: 'qemu-killed', name: 'QEMU killed mid-boot: boot-failed' },
  { id: 'guest-panics', name: 'the guest panics: boot-failed with the panic' },
  { id: 'no-sshd', name: 'sshd never starts: boot-failed at boot-timeout' },
  { id: 'key-rejected', name: "the guest trusts another key and rejects the action's" },
  {
    id: 'probe-hangs-test-missing',
    name: 'a probe hangs past its timeout, the test command does not exist: test-failed'
  },
  { id: 'cancel-during-test', name: 'SIGTERM while a test command hangs: test-failed, cancelled' },
  { id: 'cancel-during-boot', name: 'SIGTERM during the boot: cancelled, boot-failed' },
  {
    id: 'killed-during-boot',
    name: 'main SIGKILLed during the boot (a cancel that escalated): post delivers the report'
  }
]

/** Planted by tests/e2e/hardening-secrets.test.ts (ACTIONS_RUNTIME_TOKEN, made per run, too). */
export const SECRET_CANARIES: { name: string; value: string }[] = [
  { name: 'GITHUB_TOKEN', value: 'ghs_CanaryGithubToken7f3a9c1e5b2d8f4a6c0e' },
  { name: 'github-token input', value: 'ghp_CanaryInputToken4d2b8e6f1a3c5e7b9d0f' },
  { name: 'MY_API_TOKEN', value: 'canary-api-token-91c4e7a2b5d8f3e6' },
  { name: 'CUSTOM_SERVICE_TOKEN', value: 'canary-custom-token-5e8b2d4f7a1c3e9b' },
  { name: 'DEPLOY_PASSWORD', value: 'canary-Pa55w0rd-3c7e1a9f5b2d8e4a' }
]

/** Where the secrets test looks; one test each. */
export const SECRET_PLACES = [
  'artifact',
  'report on disk',
  'job summary',
  'outputs',
  'exported variables and paths',
  'state for post',
  'job log'
] as const
