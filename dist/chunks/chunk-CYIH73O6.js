import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  BOOT_HISTORY_FILE,
  LineSplitter,
  baselineFrom,
  baselineJson,
  bootHistoryCsv,
  buildImage,
  cacheReport,
  cacheSaveState,
  capabilitiesFor,
  devshellEnvPath,
  errorMessage,
  parseBaseline,
  parseNixVersion,
  renderSummary,
  require_lib,
  restoreImageCache,
  run,
  setupNix,
  signalChildren,
  stringEnv,
  withTimeout,
  writeReportFiles
} from "./chunk-VK5SQI6Y.js";
import {
  __toESM
} from "./chunk-3BV2LLEE.js";

// src/inputs-nix.ts
var NIX_VERSION = /^\d+\.\d+\.\d+(?:@sha256:[0-9a-fA-F]{64})?$/;
function nixVersionProblem(value) {
  if (!value || NIX_VERSION.test(value)) return void 0;
  return `'${value}' is not a version like '2.35.2' or '2.35.2@sha256:<64 hex digits>' (or empty for the pinned version).`;
}
function githubTokenProblem(value) {
  if (!/[\s\x00-\x1f\x7f]/.test(value)) return void 0;
  return "contains white space or a control character (a newline would add lines to Nix\u2019s configuration); a token is one word: pass the token alone, e.g. ${{ github.token }}.";
}
var SETTING = /^[A-Za-z][A-Za-z0-9-]*[ \t]+=(?:[ \t]+\S.*)?$/;
var INCLUDE = /^!?include[ \t]+\S.*$/;
function extraNixConfProblem(lines) {
  for (const [index, line] of lines.entries()) {
    if (line.startsWith("#") || SETTING.test(line) || INCLUDE.test(line)) continue;
    return `line ${index + 1} ('${line}') is not a Nix setting: write one 'name = value' per line (spaces around '='), 'include <file>' or '!include <file>'.`;
  }
  return void 0;
}

// src/inputs.ts
var INPUT_DEFAULTS = {
  flake: ".",
  image: "bootImage",
  devshell: "bootImageTest",
  "build-in": "host",
  "root-key-env": "PRE_NIXOS_ROOT_KEY",
  nix: "auto",
  "nix-version": "",
  "extra-nix-conf": "",
  "github-token": "",
  kvm: "auto",
  qemu: "auto",
  memory: "2048",
  cpus: "2",
  firmware: "bios",
  "boot-timeout": "600",
  probes: "",
  "test-command": "",
  "test-timeout": "1800",
  upload: "always",
  "artifact-name": "boot-image-vm-logs",
  "retention-days": "",
  cache: "true",
  "cache-max-size": "4096",
  "cache-timeout": "120",
  compare: "auto",
  "fail-on-regression": "false",
  "slowdown-threshold": "25"
};
var InputError = class extends Error {
  constructor(input, message) {
    super(`Input '${input}': ${message}`);
    this.input = input;
    this.name = "InputError";
  }
  input;
};
var DEFAULT_PROBES = `
system-state [timeout=120]: systemctl is-system-running --wait || true; systemctl is-system-running
failed-units [optional]: systemctl list-units --failed --no-pager --plain
journal [optional]: journalctl -b --no-pager -o short-monotonic
addresses [optional]: ip -json address show || ip address show
routes [optional]: ip -json route show || ip route show
dns [optional]: resolvectl status --no-pager 2>/dev/null || cat /etc/resolv.conf
listening [optional]: ss -tulpn
os-release [optional]: cat /etc/os-release
kernel [optional]: uname -a
`;
var PROBE_LINE = /^(?<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?<options>[^\]]*)\])?\s*:\s*(?<command>.*)$/;
var DEFAULT_PROBE_TIMEOUT = 60;
var VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
function parseProbes(text, input = "probes") {
  const probes = [];
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = `line ${index + 1} ('${line}')`;
    const match = PROBE_LINE.exec(line);
    if (!match?.groups) {
      throw new InputError(input, `${where} is not 'name: command' (name: letters, digits, . _ -).`);
    }
    const { name, options = "", command } = match.groups;
    if (!command.trim()) throw new InputError(input, `${where} has no command after the colon.`);
    if (probes.some((probe2) => probe2.name === name)) {
      throw new InputError(
        input,
        `${where} repeats the probe name '${name}'; names must be unique.`
      );
    }
    const probe = {
      name,
      command: command.trim(),
      required: true,
      timeoutSeconds: DEFAULT_PROBE_TIMEOUT
    };
    for (const option of options.split(",").map((o) => o.trim()).filter(Boolean)) {
      const timeout = /^timeout=(\d+)$/.exec(option);
      if (option === "optional") probe.required = false;
      else if (option === "required") probe.required = true;
      else if (timeout && Number(timeout[1]) > 0) probe.timeoutSeconds = Number(timeout[1]);
      else {
        throw new InputError(
          input,
          `${where} has the unknown option '${option}'; use 'optional', 'required' or 'timeout=<seconds>'.`
        );
      }
    }
    probes.push(probe);
  });
  return probes;
}
function oneOf(input, value, allowed) {
  if (allowed.includes(value)) return value;
  throw new InputError(input, `'${value}' is not one of ${allowed.map((a) => `'${a}'`).join(", ")}.`);
}
function integer(input, value, min, max, unit = "") {
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(number) && number >= min && number <= max) return number;
  throw new InputError(input, `'${value}' is not a whole number from ${min} to ${max}${unit}.`);
}
function checked(input, value, problem) {
  const wrong = problem(value);
  if (wrong) throw new InputError(input, wrong);
  return value;
}
function boolean(input, value) {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new InputError(input, `'${value}' is not 'true' or 'false'.`);
}
function parseInputs(read) {
  const get = (name) => read(name).trim() || INPUT_DEFAULTS[name];
  const nonEmpty = (name) => {
    const value = get(name);
    if (!value) throw new InputError(name, "must not be empty.");
    return value;
  };
  const rootKeyEnv = get("root-key-env");
  if (!VARIABLE_NAME.test(rootKeyEnv)) {
    throw new InputError(
      "root-key-env",
      `'${rootKeyEnv}' is not a valid environment variable name (letters, digits and _, not starting with a digit).`
    );
  }
  const artifactName = nonEmpty("artifact-name");
  if (/[":<>|*?\\/\r\n]/.test(artifactName)) {
    throw new InputError(
      "artifact-name",
      `'${artifactName}' contains a character artifacts cannot have (" : < > | * ? \\ / or a newline).`
    );
  }
  const retention = get("retention-days");
  const image = nonEmpty("image");
  if (/\s/.test(image))
    throw new InputError(
      "image",
      `'${image}' contains white space; give one attribute, e.g. 'bootImage'.`
    );
  const probesText = read("probes").trim();
  const devshell = read("devshell").trim();
  const buildIn = oneOf("build-in", get("build-in"), ["host", "devshell", "both"]);
  if (buildIn !== "host" && !devshell) {
    throw new InputError(
      "build-in",
      `'${buildIn}' needs a devshell to build in; set 'devshell' (e.g. bootImageTest) or use 'host'.`
    );
  }
  return {
    flake: nonEmpty("flake"),
    image,
    // Empty is meaningful here (skip the diff); the runner and the CLI fill in the default.
    devshell,
    buildIn,
    rootKeyEnv,
    nix: oneOf("nix", get("nix"), ["auto", "install", "existing"]),
    nixVersion: checked("nix-version", get("nix-version"), nixVersionProblem),
    extraNixConf: checked(
      "extra-nix-conf",
      read("extra-nix-conf").split("\n").map((l) => l.trim()).filter(Boolean),
      extraNixConfProblem
    ),
    githubToken: checked("github-token", read("github-token").trim(), githubTokenProblem),
    kvm: oneOf("kvm", get("kvm"), ["auto", "require", "off"]),
    qemu: oneOf("qemu", get("qemu"), ["auto", "path", "nix", "apt"]),
    memoryMiB: integer("memory", get("memory"), 128, 1048576, " (MiB)"),
    cpus: integer("cpus", get("cpus"), 1, 256),
    firmware: oneOf("firmware", get("firmware"), ["bios", "uefi"]),
    bootTimeoutSeconds: integer("boot-timeout", get("boot-timeout"), 5, 86400, " (seconds)"),
    probes: parseProbes(probesText || DEFAULT_PROBES, probesText ? "probes" : "probes (default)"),
    testCommand: read("test-command").trim(),
    testTimeoutSeconds: integer("test-timeout", get("test-timeout"), 1, 86400, " (seconds)"),
    upload: oneOf("upload", get("upload"), ["always", "failure", "never"]),
    artifactName,
    retentionDays: retention ? integer("retention-days", retention, 1, 90, " (days)") : void 0,
    cache: boolean("cache", get("cache")),
    cacheMaxSizeMiB: integer("cache-max-size", get("cache-max-size"), 1, 10240, " (MiB)"),
    cacheTimeoutSeconds: integer("cache-timeout", get("cache-timeout"), 5, 3600, " (seconds)"),
    compare: oneOf("compare", get("compare"), ["auto", "off"]),
    failOnRegression: boolean("fail-on-regression", get("fail-on-regression")),
    slowdownThresholdPercent: integer(
      "slowdown-threshold",
      get("slowdown-threshold"),
      1,
      1e3,
      " (percent)"
    )
  };
}

// src/secrets.ts
var SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH)/i;
var SECRET_NAMES = /* @__PURE__ */ new Set([
  "ACTIONS_RUNTIME_TOKEN",
  "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
  "ACTIONS_RESULTS_URL"
]);
var MIN_SECRET_LENGTH = 4;
function isSecretName(name) {
  return SECRET_NAMES.has(name) || SECRET_NAME.test(name);
}
var Secrets = class {
  constructor(onRegister = () => {
  }) {
    this.onRegister = onRegister;
  }
  onRegister;
  known = /* @__PURE__ */ new Set();
  /** Registers a value (and, in Actions, masks it in the job log). */
  add(value) {
    if (!value || value.length < MIN_SECRET_LENGTH || this.known.has(value)) return;
    this.known.add(value);
    this.onRegister(value);
    for (const line of value.split("\n")) {
      const trimmed = line.trim();
      if (trimmed.length >= 16 && !this.known.has(trimmed)) {
        this.known.add(trimmed);
        this.onRegister(trimmed);
      }
    }
  }
  /** Registers the values of every variable whose name looks secret. */
  addFromEnvironment(env) {
    for (const [name, value] of Object.entries(env)) if (isSecretName(name)) this.add(value);
  }
  values() {
    return [...this.known].sort((a, b) => b.length - a.length);
  }
  /** Replaces every known secret in the text with ***. */
  redact(text) {
    let out = text;
    for (const value of this.values()) if (out.includes(value)) out = out.split(value).join("***");
    return out;
  }
  /** The first known secret the text contains, if any. */
  findIn(text) {
    return this.values().find((value) => text.includes(value));
  }
};

// src/key.ts
var import_ssh2 = __toESM(require_lib(), 1);
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
function publicKeyLine(privateKey) {
  const parsed = import_ssh2.default.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw new Error(`the SSH private key cannot be read: ${key.message}`);
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}
function createEphemeralKey(parentDir) {
  const dir = join(parentDir, "ssh-key");
  mkdirSync(dir, { recursive: true, mode: 448 });
  const pair2 = import_ssh2.default.utils.generateKeyPairSync("ed25519", { comment: "boot-image-vm ephemeral key" });
  const privateKeyPath = join(dir, "id_ed25519");
  const publicKeyPath = `${privateKeyPath}.pub`;
  writeFileSync(privateKeyPath, pair2.private, { mode: 384 });
  writeFileSync(publicKeyPath, pair2.public + "\n", { mode: 384 });
  return { dir, privateKeyPath, publicKeyPath, privateKey: pair2.private };
}

// src/nix/env-stage.ts
import { mkdir as mkdir2, writeFile } from "node:fs/promises";
import { join as join3 } from "node:path";

// src/nix/env-capture.ts
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, realpath, rm, stat, statfs } from "node:fs/promises";
import { join as join2, resolve } from "node:path";

// src/nix/env-diff.ts
import { createHmac, randomBytes } from "node:crypto";

// src/nix/env-verdicts.ts
var SUN_PATH_MAX = 108;
var byteLength = (text) => Buffer.byteLength(text, "utf8");
function socketHeadroom(dir) {
  return SUN_PATH_MAX - 1 - byteLength(dir.replace(/\/+$/, "") + "/");
}
function versionAtLeast(version, major, minor) {
  const match = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (!match) return false;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return a > major || a === major && b >= minor;
}
function drvName(drvPath) {
  const base = drvPath.slice(drvPath.lastIndexOf("/") + 1);
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base;
}
function plannedBuildDir(input) {
  const { settings, mode } = input;
  if (mode !== "in-process") {
    const note2 = mode === "daemon" ? "builds run in the daemon, under the daemon's own TMPDIR or build-dir: this context's TMPDIR does not reach them" : "builds run on another store";
    return { buildDir: null, builderDir: null, socketHeadroom: null, buildDirNote: note2 };
  }
  let base;
  let why;
  if (settings["build-dir"]) {
    base = settings["build-dir"];
    why = "the build-dir setting";
  } else if (versionAtLeast(input.version, 2, 30)) {
    base = "/nix/var/nix/builds";
    why = "Nix 2.30+ builds under the state dir";
  } else {
    base = input.tmpdir;
    why = `Nix ${input.version ?? "< 2.30"} builds in-process under TMPDIR`;
  }
  const buildDir = `${base.replace(/\/+$/, "")}/nix-build-${input.drvName}-0`;
  const sandboxed = settings.sandbox === "true" || settings.sandbox === "relaxed";
  const builderDir = sandboxed ? settings["sandbox-build-dir"] || "/build" : buildDir;
  const note = sandboxed ? `${why}; the sandbox shows it to the builder as ${builderDir}` : why;
  return { buildDir, builderDir, socketHeadroom: socketHeadroom(builderDir), buildDirNote: note };
}
var isPseudoVariable = (name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
var SETTING_REASON = {
  store: ["high", "which store builds go to"],
  sandbox: ["high", "whether builders see the host filesystem, and where their build dir appears"],
  "build-dir": ["high", "where build directories are created"],
  "experimental-features": ["high", "flakes and nix-command must be on for nix build .#\u2026"],
  "build-users-group": ["high", "whether builds run as build users or as the caller"],
  "system-features": ["high", "a derivation that requires a missing feature (kvm) cannot build"],
  substituters: ["medium", "where prebuilt paths come from; an unreachable one costs time"],
  "sandbox-build-dir": ["medium", "the path a sandboxed builder sees as its build directory"]
};
function factDifferences(host, dev) {
  const out = [];
  if (!dev.ok) return out;
  const add = (name, a, b, likelihood, reason) => {
    if ((a ?? null) === (b ?? null)) return;
    const kind = a == null ? "added" : b == null ? "removed" : "changed";
    const values = { ...a == null ? {} : { host: a }, ...b == null ? {} : { devshell: b } };
    out.push({ name, kind, ...values, likelihood, reason });
  };
  add(".drv", host.drvPath, dev.drvPath, "high", "another derivation is another build");
  const [h, d] = [host.nix, dev.nix];
  add("nix version", h.version, d.version, "high", "another nix: other defaults and rules");
  if (h.version === d.version) {
    add("nix binary", h.realPath, d.realPath, "medium", "another build of the same nix version");
  }
  add("store mode", host.store.mode, dev.store.mode, "high", "in-process builds use TMPDIR");
  if (!host.settingsError && !dev.settingsError) {
    const keys = /* @__PURE__ */ new Set([...Object.keys(host.settings), ...Object.keys(dev.settings)]);
    for (const key of [...keys].sort()) {
      const [likelihood, reason] = SETTING_REASON[key] ?? ["medium", "a nix setting"];
      add(`nix.conf ${key}`, host.settings[key], dev.settings[key], likelihood, reason);
    }
  }
  const [m, n] = [host.tmpdir.socketHeadroom, dev.tmpdir.socketHeadroom];
  if (m !== null && n !== null) {
    const reason = "bytes left for a unix socket's path in the image's build directory";
    add("socket headroom", `${m} bytes`, `${n} bytes`, n < m ? "high" : "low", reason);
  }
  return out;
}
var SETTING_WEIGHT = {
  store: 62,
  sandbox: 60,
  "build-dir": 60,
  "experimental-features": 58,
  "build-users-group": 52,
  substituters: 50
};
var firstLine = (text) => (text ?? "").split("\n")[0].slice(0, 300);
function describeDrv(c) {
  return c.drvPath ?? `no .drv (${firstLine(c.evalError) || "not evaluated"})`;
}
function drvVerdicts(host, dev, image, keyNames) {
  const out = [];
  const keyChanged = keyNames.filter((k) => host.env[k] !== dev.env[k]);
  if (host.drvPath && dev.drvPath) {
    if (host.drvPath === dev.drvPath) {
      out.push({ weight: 10, text: `same .drv in both contexts: ${host.drvPath}` });
    } else {
      const why = keyChanged.length ? `; ${keyChanged.join(", ")} differs between them` : "";
      out.push({
        weight: 90,
        text: `the devshell evaluates ${image} to a different .drv (host: ${host.drvPath}, devshell: ${dev.drvPath})${why}`
      });
    }
  } else if (dev.ok && !dev.drvPath && host.drvPath) {
    const text = `${image} does not evaluate in the devshell: ${firstLine(dev.evalError)}`;
    out.push({ weight: 92, text });
  } else if (!host.drvPath && dev.drvPath) {
    const text = `${image} does not evaluate on the host (${firstLine(host.evalError)}), but does in the devshell: ${dev.drvPath}`;
    out.push({ weight: 90, text });
  } else if (!dev.ok) {
    const text = host.drvPath ? `the host evaluates ${image} to ${host.drvPath}` : `${image} does not evaluate on the host: ${firstLine(host.evalError)}`;
    out.push({ weight: host.drvPath ? 10 : 70, text });
  } else {
    out.push({ weight: 70, text: `${image} evaluates in neither context: ${describeDrv(host)}` });
  }
  return out;
}
var mib = (bytes2) => `${Math.floor(bytes2 / 2 ** 20)} MiB`;
function tmpdirVerdicts(host, dev) {
  const out = [];
  if (!dev.exists || !dev.writable) {
    const state = dev.exists ? "is not writable" : "does not exist";
    out.push({ weight: 88, text: `the devshell's TMPDIR ${dev.path} ${state}` });
  }
  const n = dev.socketHeadroom;
  const m = host.socketHeadroom;
  if (n !== null && dev.builderDir) {
    const where = dev.buildDir && dev.buildDir.startsWith(dev.path.replace(/\/+$/, "") + "/") ? `in-process under ${dev.path.replace(/\/+$/, "")}/` : `in ${dev.builderDir}/`;
    const room = n < 0 ? `already ${-n} bytes over the unix socket path limit` : `leaving ${n} bytes for socket paths`;
    const text = `builds in the devshell run ${where}, ${room} (host: ${m ?? "n/a, daemon"})`;
    const weight = m !== null && n < m ? n < 40 ? 86 : 64 : 30;
    out.push({ weight, text });
  } else {
    out.push({
      weight: 25,
      text: `builds in the devshell do not run under its TMPDIR: ${dev.buildDirNote}`
    });
  }
  if (dev.freeBytes !== null && dev.freeBytes < 2 ** 30 && dev.buildDir) {
    out.push({
      weight: 50,
      text: `only ${mib(dev.freeBytes)} free under the devshell's TMPDIR ${dev.path}`
    });
  }
  return out;
}
function nixVerdicts(host, dev) {
  const out = [];
  const [h, d] = [host.nix, dev.nix];
  if (!d.onPath) {
    const text = `the devshell has no nix on its PATH: a harness that runs \`nix\` inside it fails`;
    out.push({ weight: 85, text });
  }
  if (h.version && d.version && h.version !== d.version) {
    const text = `the devshell's nix is ${d.version} (${d.path}), the host's is ${h.version} (${h.path})`;
    out.push({ weight: 80, text });
  } else if (h.realPath !== d.realPath) {
    const text = `the devshell runs another nix binary (${d.path}) than the host (${h.path}), both ${h.version ?? "of unknown version"}`;
    out.push({ weight: 45, text });
  } else if (d.onPath) {
    out.push({ weight: 5, text: `same nix in both contexts: ${h.version ?? "?"} (${h.path})` });
  }
  if (d.error)
    out.push({ weight: 40, text: `the devshell's nix did not run: ${firstLine(d.error)}` });
  if (host.store.mode !== dev.store.mode) {
    const text = `builds in the devshell go ${dev.store.mode === "daemon" ? "through the daemon" : dev.store.mode}, on the host ${host.store.mode === "daemon" ? "through the daemon" : host.store.mode}`;
    out.push({ weight: 75, text });
  }
  for (const [c, label] of [
    [host, "host"],
    [dev, "devshell"]
  ]) {
    if (c.settingsError) {
      out.push({
        weight: 20,
        text: `the ${label}'s nix configuration could not be read: ${firstLine(c.settingsError)}`
      });
    }
  }
  const keys = /* @__PURE__ */ new Set([...Object.keys(host.settings), ...Object.keys(dev.settings)]);
  for (const key of [...keys].sort()) {
    const [a, b] = [host.settings[key], dev.settings[key]];
    if (a === b || host.settingsError || dev.settingsError) continue;
    const text = `the devshell's nix has ${key} = ${b ?? "(unset)"} (host: ${a ?? "(unset)"})`;
    out.push({ weight: SETTING_WEIGHT[key] ?? 48, text });
  }
  return out;
}
var SKIP_AS_VARIABLE = /* @__PURE__ */ new Set(["TMPDIR", "TMP", "TEMP", "TEMPDIR", "NIX_BUILD_TOP", "PATH"]);
var VARIABLE_WEIGHT = {
  NIX_CONFIG: 56,
  NIX_REMOTE: 56,
  SSL_CERT_FILE: 54
};
function verdictsFor(host, dev, differences, options) {
  const image = options.image ?? "the image";
  const keyNames = options.keyNames ?? [];
  const out = [];
  const variables = differences.filter((d) => !isPseudoVariable(d.name));
  if (!dev.ok) {
    const what = options.installable ? `\`nix develop ${options.installable}\`` : "nix develop";
    out.push({ weight: 100, text: `${what} failed: ${firstLine(dev.error)}` });
  }
  out.push(...drvVerdicts(host, dev, image, keyNames));
  if (dev.ok) {
    out.push(...tmpdirVerdicts(host.tmpdir, dev.tmpdir));
    out.push(...nixVerdicts(host, dev));
  }
  for (const d of variables) {
    if (d.likelihood !== "high" || SKIP_AS_VARIABLE.has(d.name)) continue;
    if (keyNames.includes(d.name) && host.drvPath !== dev.drvPath) continue;
    const verb = d.kind === "added" ? "sets" : d.kind === "removed" ? "unsets" : "changes";
    out.push({
      weight: VARIABLE_WEIGHT[d.name] ?? 42,
      text: `the devshell ${verb} ${d.name}: ${d.reason}`
    });
  }
  if (variables.length) {
    const count = (l) => variables.filter((d) => d.likelihood === l).length;
    const text = `${variables.length} variables differ: ${count("high")} likely to change a build, ${count("medium")} possibly, ${count("low")} unlikely`;
    out.push({ weight: 8, text });
  }
  return out.sort((a, b) => b.weight - a.weight).map((v) => v.text);
}

// src/nix/env-render.ts
var MAX_CELL = 160;
function cell(text, max = MAX_CELL) {
  const flat = text.replace(/\r?\n/g, "\u23CE").replace(/\|/g, "\\|");
  return flat.length > max ? `${flat.slice(0, max - 1)}\u2026` : flat;
}
function code(text, max = MAX_CELL) {
  if (text === null || text === void 0) return "\u2013";
  if (text === "") return "(empty)";
  const body = cell(text, max);
  const fence = body.includes("`") ? "``" : "`";
  return `${fence}${fence.length > 1 ? " " : ""}${body}${fence.length > 1 ? " " : ""}${fence}`;
}
function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
function pair(label, host, devshell) {
  const mark = host === devshell ? label : `**${label}**`;
  return [mark, host, devshell];
}
function bytes(n) {
  if (n === null) return "\u2013";
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.floor(n / 2 ** 20)} MiB`;
}
function nixRows(h, d) {
  const rows = [
    pair("nix", code(h.nix.path), code(d.nix.path)),
    pair("resolves to", code(h.nix.realPath), code(d.nix.realPath)),
    pair("first nix on PATH", code(h.nix.onPath), code(d.nix.onPath)),
    pair("version", code(h.nix.version), code(d.nix.version)),
    pair("store mode", h.store.mode, d.store.mode),
    pair("NIX_REMOTE", code(h.store.nixRemote), code(d.store.nixRemote)),
    pair("daemon socket", String(h.store.daemonSocket), String(d.store.daemonSocket)),
    pair("state dir writable", String(h.store.stateDirWritable), String(d.store.stateDirWritable)),
    pair("uid", String(h.store.uid), String(d.store.uid))
  ];
  const keys = [.../* @__PURE__ */ new Set([...Object.keys(h.settings), ...Object.keys(d.settings)])].sort();
  for (const key of keys) rows.push(pair(key, code(h.settings[key]), code(d.settings[key])));
  if (h.settingsError || d.settingsError) {
    rows.push(["config error", cell(h.settingsError ?? ""), cell(d.settingsError ?? "")]);
  }
  return rows;
}
function tmpdirRows(h, d) {
  const [a, b] = [h.tmpdir, d.tmpdir];
  const path = (t) => code(t.path) + (t.set ? "" : " (unset)");
  return [
    pair("TMPDIR", path(a), path(b)),
    pair("bytes", String(a.bytes), String(b.bytes)),
    pair("exists / writable", `${a.exists} / ${a.writable}`, `${b.exists} / ${b.writable}`),
    pair("free", bytes(a.freeBytes), bytes(b.freeBytes)),
    pair("build directory", code(a.buildDir), code(b.buildDir)),
    pair("the builder sees", code(a.builderDir), code(b.builderDir)),
    pair(
      "socket headroom (bytes)",
      String(a.socketHeadroom ?? "\u2013"),
      String(b.socketHeadroom ?? "\u2013")
    ),
    pair("why there", cell(a.buildDirNote), cell(b.buildDirNote))
  ];
}
function differenceRow(d) {
  let devshell = code(d.devshell);
  if (d.host && d.devshell && d.devshell.length > d.host.length && d.devshell.endsWith(`:${d.host}`)) {
    devshell = `${code(d.devshell.slice(0, -d.host.length - 1))} + the host's`;
  }
  return [code(d.name), d.kind, d.likelihood, code(d.host), devshell, cell(d.reason, 300)];
}
function renderDiffMarkdown(report) {
  const { host, devshell } = report.contexts;
  const { flake, image } = report.request;
  const installable = `${flake}#${report.request.devshell}`;
  const out = [
    "# What is different inside the devshell",
    `The build's own context compared with \`nix develop ${installable}\`, for \`${flake}#${image}\`.`
  ];
  if (report.error) out.push(`**The comparison is incomplete:** ${cell(report.error, 1e3)}`);
  out.push("## Verdicts", report.verdicts.map((v) => `- ${v}`).join("\n") || "- no differences");
  out.push(
    "## Derivation",
    table(
      ["", "Host", "Devshell"],
      [
        pair(".drv", code(host.drvPath), code(devshell.drvPath)),
        pair("evaluation error", cell(host.evalError ?? ""), cell(devshell.evalError ?? ""))
      ]
    )
  );
  out.push("## Nix", table(["", "Host", "Devshell"], nixRows(host, devshell)));
  out.push(
    "## TMPDIR",
    table(["", "Host", "Devshell"], tmpdirRows(host, devshell)),
    `Socket headroom = ${SUN_PATH_MAX - 1} (sun_path's ${SUN_PATH_MAX} bytes less the NUL) \u2212 the bytes of "<the builder sees>/": what is left for a socket path inside the build directory. The devshell's TMPDIR is shown as it is for you: the capture ran in a private scratch directory and its prefix is written back as your TMPDIR.`
  );
  const variables = report.differences.filter((d) => !isPseudoVariable(d.name));
  const counts = ["high", "medium", "low"].map((l) => `${variables.filter((d) => d.likelihood === l).length} ${l}`).join(", ");
  out.push(`## Variables (${variables.length} differ: ${counts})`);
  if (variables.length) {
    const header = ["Variable", "Change", "Likelihood", "Host", "Devshell", "Why it matters"];
    out.push(table(header, variables.map(differenceRow)));
  }
  out.push(
    `Host: ${host.variables} variables, devshell: ${devshell.variables}. Whole environments (secret values redacted to a keyed hash: equal tags mean equal values): \`env/host.env\`, \`env/devshell.env\`.`
  );
  return out.join("\n\n") + "\n";
}

// src/nix/env-diff.ts
var NAME = /^[A-Za-z_][A-Za-z0-9_]*=/;
var NAME_AFTER_NEWLINE = /\n([A-Za-z_][A-Za-z0-9_]*=)/;
function parseEnv0(text) {
  const env = {};
  const records = text.split("\0");
  for (let i = 0; i < records.length; i++) {
    let record = records[i];
    if (i === 0 && !NAME.test(record)) {
      const match = NAME_AFTER_NEWLINE.exec(record);
      if (!match) continue;
      record = record.slice(match.index + 1);
    }
    const eq = record.indexOf("=");
    if (eq <= 0) continue;
    env[record.slice(0, eq)] = record.slice(eq + 1);
  }
  return env;
}
var REDACTION_KEY = randomBytes(32);
function redactedTag(value) {
  const digest = createHmac("sha256", REDACTION_KEY).update(value).digest("hex");
  return `<redacted sha256:${digest.slice(0, 8)}>`;
}
function redactEnv(env, secrets) {
  const known = secrets.values();
  for (const [name, value] of Object.entries(env)) {
    if (isSecretName(name) && value.length >= 4) known.push(value);
  }
  const out = {};
  for (const [name, value] of Object.entries(env)) {
    const secret = value !== "" && (isSecretName(name) || known.some((s) => value.includes(s)));
    out[name] = secret ? redactedTag(value) : value;
  }
  return out;
}
var CAPTURED_SETTINGS = [
  "store",
  "sandbox",
  "sandbox-build-dir",
  "build-dir",
  "build-users-group",
  "experimental-features",
  "substituters",
  "system-features"
];
var XP_FEATURES = [
  "ca-derivations",
  "impure-derivations",
  "flakes",
  "nix-command",
  "recursive-nix",
  "no-url-literals",
  "fetch-closure"
];
function renderSetting(key, value) {
  if (Array.isArray(value)) {
    const items = value.map(
      (v) => key === "experimental-features" && typeof v === "number" ? XP_FEATURES[v] ?? `#${v}` : v
    );
    return items.map(String).join(" ");
  }
  if (value === null || value === void 0) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
function parseConfigJson(text) {
  const config = JSON.parse(text);
  const out = {};
  for (const key of CAPTURED_SETTINGS) {
    if (key in config) out[key] = renderSetting(key, config[key]?.value);
  }
  return out;
}
var ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
function nixError(stderr, fallback) {
  const lines = stderr.replace(ANSI, "").split("\n").filter((line) => line.trim() && !/^warning: Git tree '.*' is dirty$/.test(line));
  const first = lines.findIndex((line) => line.startsWith("error"));
  const kept = (first >= 0 ? lines.slice(first) : lines).slice(0, 20).join("\n").slice(0, 2e3);
  return kept || fallback;
}
var TMP_NAMES = ["TMPDIR", "TMP", "TEMP", "TEMPDIR", "NIX_BUILD_TOP"];
var TMP_REASON = "in-process builds (no daemon, Nix < 2.30) put their build directory under it: a longer path leaves less room for unix sockets, a removed one breaks the build";
var HIGH = {
  NIX_BUILD_TOP: "nix develop's own temp dir, which TMPDIR then points at; it is never deleted",
  NIX_CONFIG: "extra nix.conf lines that every nix command in the context applies",
  NIX_REMOTE: "chooses the store: the daemon, or in-process with the build directory under TMPDIR",
  NIX_PATH: "resolves <nixpkgs> and other <\u2026> lookups in impure evaluation",
  NIX_CONF_DIR: "the directory nix.conf is read from",
  NIX_USER_CONF_FILES: "the user nix.conf files read after the system one",
  NIX_STATE_DIR: "which store nix opens",
  NIX_STORE_DIR: "which store nix opens",
  NIX_DAEMON_SOCKET_PATH: "which daemon nix talks to",
  SSL_CERT_FILE: "the CA bundle for downloads: nix develop drops it (NixOS/nix#12234), which breaks single-user substitution",
  NIX_SSL_CERT_FILE: "the CA bundle nix uses for substituters and fetchers",
  HOME: "the user nix.conf (~/.config/nix/nix.conf) and the fetcher caches live under it",
  XDG_CONFIG_HOME: "the user nix.conf is read from $XDG_CONFIG_HOME/nix/nix.conf",
  XDG_CONFIG_DIRS: "nix.conf is also read from each $XDG_CONFIG_DIRS/nix/nix.conf"
};
var LOCALE = /^(LANG|LANGUAGE|LC_[A-Z_]+|LOCALE_ARCHIVE(_.*)?|TZ|TZDIR)$/;
var DERIVATION_ATTRS = new Set(
  "builder name system shellHook out outputs args stdenv src buildInputs nativeBuildInputs propagatedBuildInputs propagatedNativeBuildInputs depsBuildBuild depsHostHost depsTargetTarget buildPhase installPhase phases patches doCheck doInstallCheck strictDeps preferLocalBuild allowSubstitutes configureFlags cmakeFlags mesonFlags dontAddDisableDepTrack __structuredAttrs __ignoreNulls passAsFile".split(" ")
);
var SHELL_BOOKKEEPING = /* @__PURE__ */ new Set(["SHLVL", "PWD", "OLDPWD", "_", "SHELL", "BASHOPTS", "SHELLOPTS"]);
function classifyVariable(name, options = {}) {
  const high = (reason) => ({ likelihood: "high", reason });
  const medium = (reason) => ({ likelihood: "medium", reason });
  const low = (reason) => ({ likelihood: "low", reason });
  if (options.keyNames?.includes(name)) {
    return high(
      "the flake reads it with builtins.getEnv under --impure: another value, another .drv"
    );
  }
  if (HIGH[name]) return high(HIGH[name]);
  if (TMP_NAMES.includes(name)) return high(TMP_REASON);
  if (name === "PATH") {
    const nix = options.pathNix;
    if (nix?.differs) {
      const where = (path) => path ?? "none";
      return high(`the first nix on PATH differs: ${where(nix.host)} vs ${where(nix.devshell)}`);
    }
    return medium(
      `other tools come first; nix still resolves to ${nix?.host ?? "the same binary"} in both`
    );
  }
  if (name === "IN_NIX_SHELL") {
    return medium("tells tools they run inside nix develop: flakes and test harnesses branch on it");
  }
  if (name.startsWith("NIX_")) return medium("read by nix or by Nix-aware tools");
  if (name.startsWith("LD_")) {
    return medium("changes which shared libraries nix and the builders it starts load");
  }
  if (LOCALE.test(name)) return medium("locale: changes messages, sorting and encodings in tools");
  if (name.startsWith("GIT_")) return medium("git reads it, and flake evaluation fetches git trees");
  if (DERIVATION_ATTRS.has(name)) {
    return low("a derivation attribute that nix develop exports; nix itself does not read it");
  }
  if (SHELL_BOOKKEEPING.has(name)) return low("shell bookkeeping");
  return low("nix does not read it; it matters only to the tools that do");
}
var RANK = { high: 0, medium: 1, low: 2 };
function byLikelihood(a, b) {
  const pseudo = Number(isPseudoVariable(b.name)) - Number(isPseudoVariable(a.name));
  return RANK[a.likelihood] - RANK[b.likelihood] || pseudo || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
function diffEnvironments(host, devshell, options = {}) {
  const pathNix = {
    differs: (host.nix.onPathRealPath ?? null) !== (devshell.nix.onPathRealPath ?? null),
    host: host.nix.onPath,
    devshell: devshell.nix.onPath
  };
  const names = /* @__PURE__ */ new Set([...Object.keys(host.env), ...Object.keys(devshell.env)]);
  const differences = [];
  for (const name of names) {
    const a = host.env[name];
    const b = devshell.env[name];
    if (a === b) continue;
    const kind = a === void 0 ? "added" : b === void 0 ? "removed" : "changed";
    const { likelihood, reason } = classifyVariable(name, { keyNames: options.keyNames, pathNix });
    differences.push({ name, kind, host: a, devshell: b, likelihood, reason });
  }
  differences.push(...factDifferences(host, devshell));
  differences.sort(byLikelihood);
  const verdicts = verdictsFor(host, devshell, differences, options);
  return { verdicts, differences };
}
function contextFacts(capture) {
  const { env, ...facts } = capture;
  return { ...facts, variables: Object.keys(env).length };
}
function storeMode(facts) {
  const store = facts.store ?? facts.nixRemote ?? "auto";
  if (store === "" || store === "auto") {
    if (facts.stateDirWritable) return "in-process";
    return facts.daemonSocket ? "daemon" : "in-process";
  }
  if (store === "daemon" || store.startsWith("unix://")) return "daemon";
  if (store === "local" || store.startsWith("/") || store.startsWith("local?")) return "in-process";
  return "remote";
}

// src/nix/env-capture.ts
async function resolveOnPath(path, cwd) {
  for (const dir of (path ?? "").split(":")) {
    const candidate = resolve(cwd, dir || ".", "nix");
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
    }
  }
  return null;
}
var escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
var realOrSelf = (path) => realpath(path).catch(() => path);
var holds = (promise, test = () => true) => promise.then(test, () => false);
async function measureDir(path, statfsPath = path) {
  const exists = await holds(stat(path), (s) => s.isDirectory());
  const writable = exists && await holds(access(path, constants.W_OK));
  const freeBytes = await statfs(statfsPath).then(
    (s) => s.bavail * s.bsize,
    () => null
  );
  return { exists, writable, freeBytes };
}
async function storeFacts(env, settings) {
  const stateDir = env.NIX_STATE_DIR || "/nix/var/nix";
  const socket = env.NIX_DAEMON_SOCKET_PATH || `${stateDir}/daemon-socket/socket`;
  const facts = {
    nixRemote: env.NIX_REMOTE ?? null,
    store: settings.store ?? null,
    daemonSocket: await holds(stat(socket), (s) => s.isSocket()),
    stateDirWritable: await holds(access(stateDir, constants.R_OK | constants.W_OK)),
    uid: process.getuid?.() ?? -1
  };
  return { ...facts, mode: storeMode(facts) };
}
async function probeNix(p) {
  const [config, evaluation] = await Promise.all([
    run(p.nix.path, [...p.configShow, "--json"], { env: p.env, cwd: p.cwd }),
    run(
      p.nix.path,
      ["eval", "--raw", "--impure", `${p.request.flake}#${p.request.image}.drvPath`],
      {
        env: p.env,
        cwd: p.cwd
      }
    )
  ]);
  let settings = {};
  let settingsError;
  try {
    if (config.exitCode !== 0)
      throw new Error(nixError(config.stderr, config.startError ?? "failed"));
    settings = parseConfigJson(config.stdout);
  } catch (error) {
    settingsError = errorMessage(error);
  }
  const drvPath = evaluation.exitCode === 0 ? evaluation.stdout.trim() || null : null;
  const evalError = evaluation.exitCode === 0 ? void 0 : nixError(evaluation.stderr, evaluation.startError ?? `exit code ${evaluation.exitCode}`);
  return { settings, settingsError, drvPath, evalError };
}
async function identify(onPath, fallback, known) {
  const path = onPath ?? fallback.nixPath;
  const realPath = await realOrSelf(path);
  const onPathRealPath = onPath ? realPath : null;
  let error;
  if (!known.has(realPath)) {
    const result = await run(path, ["--version"]);
    let parsed2 = null;
    try {
      if (result.exitCode !== 0) {
        throw new Error(result.startError ?? nixError(result.stderr, "nix --version failed"));
      }
      parsed2 = parseNixVersion(result.stdout);
    } catch (e) {
      error = errorMessage(e);
    }
    known.set(realPath, parsed2);
  }
  const parsed = known.get(realPath) ?? null;
  const version = parsed?.version ?? null;
  const variant = parsed?.variant ?? null;
  return { onPath, onPathRealPath, path, realPath, version, variant, ...error ? { error } : {} };
}
async function captureContexts(nix, request, options) {
  const cwd = options.cwd ?? process.cwd();
  const hostEnv = stringEnv({ ...options.env, ...nix.env, ...request.keyEnv });
  const userTmp = (hostEnv.TMPDIR || "/tmp").replace(/(.)\/+$/, "$1");
  const known = /* @__PURE__ */ new Map([
    [await realOrSelf(nix.nixPath), { version: nix.version, variant: nix.variant }]
  ]);
  await mkdir(options.tempDir, { recursive: true });
  const scratch = await mkdtemp(join2(options.tempDir, "env-capture-"));
  try {
    const [host, devshell] = await Promise.all([
      captureHost(nix, request, hostEnv, cwd, known),
      captureDevshell(nix, request, { hostEnv, scratch, userTmp, cwd, known, debug: options.debug })
    ]);
    const name = drvName(host.drvPath ?? devshell.drvPath ?? `${request.image}.drv`);
    for (const capture of [host, devshell]) {
      const lix = capture.nix.variant === "lix";
      const planned = plannedBuildDir({
        tmpdir: capture.tmpdir.realPath,
        version: lix ? "2.18" : capture.nix.version,
        mode: capture.store.mode,
        settings: capture.settings,
        drvName: drvName(capture.drvPath ?? "") || name
      });
      Object.assign(capture.tmpdir, planned);
    }
    return { host, devshell };
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => void 0);
  }
}
var NO_BUILD_DIR = { buildDir: null, builderDir: null, socketHeadroom: null, buildDirNote: "" };
async function captureHost(nix, request, env, cwd, known) {
  const started = Date.now();
  const onPath = await resolveOnPath(env.PATH, cwd);
  const identity = await identify(null, nix, known);
  identity.onPath = onPath;
  identity.onPathRealPath = onPath ? await realOrSelf(onPath) : null;
  const probe = await probeNix({
    env,
    nix: identity,
    configShow: nix.capabilities.configShow,
    cwd,
    request
  });
  const tmp = env.TMPDIR || "/tmp";
  const tmpdir2 = {
    path: tmp,
    set: Boolean(env.TMPDIR),
    bytes: Buffer.byteLength(tmp),
    realPath: await realOrSelf(tmp),
    ...await measureDir(tmp),
    ...NO_BUILD_DIR
  };
  const store = await storeFacts(env, probe.settings);
  const durationMs = Date.now() - started;
  return { context: "host", ok: true, env, nix: identity, ...probe, store, tmpdir: tmpdir2, durationMs };
}
async function captureDevshell(nix, request, o) {
  const started = Date.now();
  const installable = `${request.flake}#${request.devshell}`;
  o.debug?.(`nix develop ${installable} -c env -0 (TMPDIR=${o.scratch})`);
  const entered = await run(nix.nixPath, ["develop", installable, "-c", "env", "-0"], {
    env: { ...o.hostEnv, TMPDIR: o.scratch },
    cwd: o.cwd
  });
  const realEnv = entered.exitCode === 0 ? parseEnv0(entered.stdout) : {};
  const scratchPrefix = new RegExp(escapeRegExp(o.scratch) + "(?=/|:|$)", "g");
  const rewrite = (value) => value.replace(scratchPrefix, () => o.userTmp);
  const env = Object.fromEntries(Object.entries(realEnv).map(([k, v]) => [k, rewrite(v)]));
  const tmp = env.TMPDIR || "/tmp";
  const realTmp = realEnv.TMPDIR || "/tmp";
  const tmpdir2 = {
    path: tmp,
    set: Boolean(env.TMPDIR),
    bytes: Buffer.byteLength(tmp),
    // Nix resolves symlinks in TMPDIR: resolve the user's part of the rewritten path.
    realPath: tmp === realTmp ? await realOrSelf(tmp) : await realOrSelf(o.userTmp) + tmp.slice(o.userTmp.length),
    ...await measureDir(realTmp, tmp === realTmp ? realTmp : o.userTmp),
    ...NO_BUILD_DIR
  };
  if (entered.exitCode !== 0 || !Object.keys(realEnv).length) {
    const error = nixError(entered.stderr, entered.startError ?? `exit code ${entered.exitCode}`);
    const identity2 = { ...await identify(null, nix, o.known), onPath: null, onPathRealPath: null };
    const store2 = await storeFacts(o.hostEnv, {});
    const durationMs2 = Date.now() - started;
    return {
      context: "devshell",
      ok: false,
      error,
      env,
      nix: identity2,
      settings: {},
      store: store2,
      tmpdir: tmpdir2,
      drvPath: null,
      durationMs: durationMs2
    };
  }
  const identity = await identify(await resolveOnPath(realEnv.PATH, o.cwd), nix, o.known);
  const same = identity.realPath === await realOrSelf(nix.nixPath);
  const configShow = same || !identity.version ? nix.capabilities.configShow : capabilitiesFor(identity.version, identity.variant ?? "nix").configShow;
  const probe = await probeNix({ env: realEnv, nix: identity, configShow, cwd: o.cwd, request });
  const store = await storeFacts(realEnv, probe.settings);
  const durationMs = Date.now() - started;
  return { context: "devshell", ok: true, env, nix: identity, ...probe, store, tmpdir: tmpdir2, durationMs };
}

// src/nix/env-stage.ts
var ENV_FILES = ["env/diff.md", "env/diff.json", "env/host.env", "env/devshell.env"];
function renderEnvFile(env) {
  const escape = (value) => value.replace(/\\/g, "\\\\").replace(/\r/g, "\\r").replace(/\n/g, "\\n");
  return Object.keys(env).sort().map((name) => `${name}=${escape(env[name])}
`).join("");
}
async function diffBuildEnvironment(nix, request, ctx) {
  const started = Date.now();
  const dir = join3(ctx.reportDir, "env");
  await mkdir2(dir, { recursive: true });
  const installable = `${request.flake}#${request.devshell}`;
  let captures;
  try {
    captures = await captureContexts(nix, request, {
      env: ctx.env,
      tempDir: ctx.tempDir,
      debug: (message) => ctx.log.debug(message)
    });
  } catch (error2) {
    const message = `the environment capture failed: ${errorMessage(error2)}`;
    const result2 = { ok: false, error: message, verdicts: [], differences: [], durationMs: 0 };
    result2.durationMs = Date.now() - started;
    await writeFile(join3(dir, "diff.json"), ctx.secrets.redact(JSON.stringify(result2, null, 2)));
    return result2;
  }
  ctx.secrets.addFromEnvironment(captures.host.env);
  ctx.secrets.addFromEnvironment(captures.devshell.env);
  const redacted = (c) => ({
    ...c,
    env: redactEnv(c.env, ctx.secrets)
  });
  const host = redacted(captures.host);
  const devshell = redacted(captures.devshell);
  const keyNames = Object.keys(request.keyEnv);
  const { verdicts, differences } = diffEnvironments(host, devshell, {
    image: request.image,
    installable,
    keyNames
  });
  const error = devshell.ok ? void 0 : `nix develop ${installable} failed: ${devshell.error}`;
  const result = {
    ok: devshell.ok,
    ...error ? { error } : {},
    verdicts,
    differences,
    durationMs: Date.now() - started
  };
  const files = devshell.ok ? ENV_FILES : ENV_FILES.filter((f) => f !== "env/devshell.env");
  const report = {
    schemaVersion: 1,
    ...result,
    request: { flake: request.flake, image: request.image, devshell: request.devshell, keyNames },
    contexts: { host: contextFacts(host), devshell: contextFacts(devshell) },
    files
  };
  const write = (name, text) => writeFile(join3(dir, name), ctx.secrets.redact(text));
  await Promise.all([
    write("diff.md", renderDiffMarkdown(report)),
    write("diff.json", JSON.stringify(report, null, 2) + "\n"),
    write("host.env", renderEnvFile(host.env)),
    devshell.ok ? write("devshell.env", renderEnvFile(devshell.env)) : Promise.resolve()
  ]);
  for (const verdict of verdicts.slice(0, 6)) ctx.log.info(ctx.secrets.redact(verdict));
  ctx.log.info(
    `env diff: ${differences.length} differences; capture took ${result.durationMs} ms (host ${host.durationMs} ms, devshell ${devshell.durationMs} ms)`
  );
  return {
    ...result,
    verdicts: verdicts.map((v) => ctx.secrets.redact(v)),
    ...error ? { error: ctx.secrets.redact(error) } : {}
  };
}

// src/nix/setup-env.ts
import { delimiter, dirname, join as join4 } from "node:path";
function nixStepEnv(nix, env) {
  const paths = [dirname(nix.nixPath)];
  if (env.HOME) paths.push(join4(env.HOME, ".nix-profile", "bin"));
  return { paths: [...new Set(paths)], variables: { ...nix.env } };
}
function missingPaths(step, pathVariable) {
  const present = new Set((pathVariable ?? "").split(delimiter).filter(Boolean));
  return step.paths.filter((dir) => !present.has(dir));
}
function withNixStepEnv(env, step) {
  const missing = missingPaths(step, env.PATH);
  const path = [...missing, ...env.PATH ? [env.PATH] : []].join(delimiter);
  return { ...env, ...step.variables, PATH: path };
}

// src/vm/kvm.ts
import { spawn } from "node:child_process";
import { constants as constants2 } from "node:fs";
import { access as access2, mkdtemp as mkdtemp2, rm as rm2, stat as stat2, writeFile as writeFile2 } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as join5 } from "node:path";
var KVM_DEVICE = "/dev/kvm";
var KVM_TEST_LOOPS = 5e7;
function kvmTestRom(loops = KVM_TEST_LOOPS) {
  const rom = Buffer.alloc(65536);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(loops);
  const code2 = Buffer.concat([
    Buffer.from([250]),
    // cli
    Buffer.from([186, 248, 3]),
    // mov dx, 0x3f8
    Buffer.from([176, 83, 238]),
    // mov al, 'S'; out dx, al
    Buffer.from([102, 185]),
    // mov ecx, loops
    count,
    Buffer.from([102, 73, 117, 252]),
    // loop: dec ecx; jnz loop
    Buffer.from([176, 75, 238, 176, 10, 238]),
    // mov al, 'K'; out; mov al, 10; out
    Buffer.from([244, 235, 253])
    // halt: hlt; jmp halt
  ]);
  code2.copy(rom, 0);
  Buffer.from([234, 0, 0, 0, 240]).copy(rom, 65520);
  return rom;
}
function kvmCheckArgs(rom, accel = "kvm") {
  return [
    "-accel",
    accel,
    "-cpu",
    "max",
    "-machine",
    "pc",
    "-nodefaults",
    "-m",
    "16",
    "-bios",
    rom,
    "-serial",
    "stdio",
    "-monitor",
    "none",
    "-display",
    "none",
    "-no-reboot"
  ];
}
var FAILURES = /KVM internal error[^\n]*|failed to set MSR[^\n]*|emulation failure[^\n]*|Could not access KVM kernel module[^\n]*|failed to initialize kvm[^\n]*|(?:kvm|KVM)[^\n]*(?:not supported|unavailable|Permission denied|No such file)[^\n]*|Assertion[^\n]*failed[^\n]*/;
function kvmFailureFromOutput(text) {
  return FAILURES.exec(text)?.[0].replace(/^qemu-system-\S+: /, "").trim();
}
async function deviceProblem(device) {
  try {
    await stat2(device);
  } catch {
    return `${device} does not exist: this machine exposes no hardware virtualization`;
  }
  try {
    await access2(device, constants2.R_OK | constants2.W_OK);
  } catch {
    const info = await stat2(device);
    return `${device} is not readable and writable by this user (mode ${(info.mode & 511).toString(8)}, uid ${info.uid}, gid ${info.gid}); a udev rule with MODE="0666" opens it`;
  }
  return void 0;
}
async function checkKvm(options) {
  const started = Date.now();
  const done = (runsGuest, reason) => ({
    runsGuest,
    reason,
    durationMs: Date.now() - started
  });
  const problem = await deviceProblem(options.device ?? KVM_DEVICE);
  if (problem) return done(false, problem);
  const timeoutMs = options.timeoutMs ?? 3e3;
  const runBudgetMs = options.runBudgetMs ?? 1e3;
  let dir;
  try {
    dir = await mkdtemp2(join5(tmpdir(), "biv-kvm-"));
    const rom = join5(dir, "kvm-test.rom");
    await writeFile2(rom, kvmTestRom());
    const outcome = await runTestGuest(
      options.qemu,
      kvmCheckArgs(rom, options.accel),
      timeoutMs,
      runBudgetMs
    );
    return done(outcome.runsGuest, outcome.reason);
  } catch (error) {
    return done(false, `the check failed: ${errorMessage(error)}`);
  } finally {
    if (dir) await rm2(dir, { recursive: true, force: true });
  }
}
function runTestGuest(qemu, args, timeoutMs, runBudgetMs) {
  return new Promise((resolve2) => {
    const started = Date.now();
    const child = spawn(qemu, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish2 = (runsGuest, reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(runTimer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const exited = () => resolve2({ runsGuest, reason });
      if (child.exitCode !== null || child.signalCode !== null) exited();
      else child.once("close", exited);
    };
    const timer = setTimeout(() => {
      finish2(
        false,
        `the test guest printed nothing under KVM within ${(timeoutMs / 1e3).toFixed(1)} s` + (stderr.trim() ? `: ${lastLine(stderr)}` : "")
      );
    }, timeoutMs);
    let runTimer;
    const tooSlow = () => finish2(
      false,
      `KVM started the test guest but did not run it at hardware speed: ${2 * KVM_TEST_LOOPS / 1e6} million instructions took more than ${(runBudgetMs / 1e3).toFixed(1)} s (hardware takes milliseconds); /dev/kvm is emulated or nested without vmx/svm`
    );
    child.stdin.on("error", () => {
    });
    child.stdout.setEncoding("utf8").on("data", (chunk2) => {
      stdout += chunk2;
      if (!runTimer && stdout.includes("S")) runTimer = setTimeout(tooSlow, runBudgetMs);
      if (stdout.includes("K")) {
        const ms = Date.now() - started;
        finish2(
          true,
          `a test guest ran ${2 * KVM_TEST_LOOPS / 1e6}M instructions under KVM (${ms} ms)`
        );
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk2) => {
      stderr += chunk2;
      const failure = kvmFailureFromOutput(stderr);
      if (failure) finish2(false, `QEMU under KVM: ${failure}`);
    });
    child.on("error", (error) => finish2(false, `could not start ${qemu}: ${error.message}`));
    child.on("exit", (code2, signal) => {
      if (settled) return;
      const failure = kvmFailureFromOutput(stderr);
      finish2(
        false,
        `QEMU under KVM ${signal ? `died of ${signal}` : `exited with ${code2}`}: ${failure ?? (lastLine(stderr) || "no output")}`
      );
    });
  });
}
function lastLine(text) {
  const lines = text.trim().split("\n");
  return (lines[lines.length - 1] ?? "").replace(/^qemu-system-\S+: /, "").trim();
}

// src/qemu/apt.ts
import { existsSync as existsSync2, readFileSync } from "node:fs";

// src/qemu/apt-policy.ts
function aptPackages(firmware) {
  return firmware === "uefi" ? ["qemu-system-x86", "ovmf"] : ["qemu-system-x86"];
}
function aptCommand(step, packages, asRoot) {
  const options = ["-q", "-y", "-o", "DPkg::Lock::Timeout=120", "-o", "Acquire::Retries=3"];
  const action = step === "update" ? ["update"] : ["install", "--no-install-recommends", ...packages];
  const aptGet = ["apt-get", ...options, ...action];
  if (asRoot) return { command: "env", args: ["DEBIAN_FRONTEND=noninteractive", ...aptGet] };
  return { command: "sudo", args: ["-n", "DEBIAN_FRONTEND=noninteractive", ...aptGet] };
}
var DENIED = /a password is required|a terminal is required|not in the sudoers file|are you root\?|\(13: Permission denied\)|sudo: not found|sudo: command not found/i;
var STALE = /\b404\s+Not Found\b/i;
var TRANSIENT = /Temporary failure resolving|Could not resolve|Could not connect|Connection failed|Connection timed out|Connection reset|Error reading from server|Hash Sum mismatch|File has unexpected size|Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock (?:the )?(?:administration )?directory|\b50[0234]\s+\w|Undetermined Error|Failed to fetch/i;
var UNKNOWN_PACKAGE = /Unable to locate package|has no installation candidate|is not available, but is referred to|maybe run apt-get update/i;
function classifyAptFailure(output) {
  if (DENIED.test(output)) return "denied";
  if (STALE.test(output)) return "needs-update";
  if (TRANSIENT.test(output)) return "transient";
  if (UNKNOWN_PACKAGE.test(output)) return "needs-update";
  return "other";
}
var APT_BACKOFF_MS = [5e3, 15e3];
var APT_MAX_FAILURES = APT_BACKOFF_MS.length + 1;
function nextAptStep(failed2, failure, failures, updated) {
  if (failure === "denied") {
    return {
      delayMs: 0,
      why: "apt-get needs root: this user is not root and sudo asks for a password"
    };
  }
  if (failures >= APT_MAX_FAILURES) {
    return { delayMs: 0, why: `apt-get failed ${failures} times` };
  }
  if (failure === "needs-update") {
    if (failed2 === "install" && !updated) {
      return { step: "update", delayMs: 0, why: "the package index looks stale: apt-get update" };
    }
    return {
      delayMs: 0,
      why: updated ? "the packages are not in this system\u2019s apt sources, even after apt-get update" : "apt-get update could not refresh the package index"
    };
  }
  if (failure === "transient") {
    const delayMs = APT_BACKOFF_MS[Math.min(failures - 1, APT_BACKOFF_MS.length - 1)];
    return {
      step: failed2,
      delayMs,
      why: `a mirror or lock problem: trying again in ${delayMs / 1e3} s`
    };
  }
  return { delayMs: 0, why: "apt-get failed for a reason a retry would not change" };
}

// src/qemu/os-release.ts
function parseOsRelease(text) {
  const fields = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    fields[match[1]] = value;
  }
  return fields;
}
function isDebianLike(fields) {
  const ids = [fields.ID ?? "", ...(fields.ID_LIKE ?? "").split(/\s+/)].map((id) => id.toLowerCase());
  return ids.some((id) => id === "debian" || id === "ubuntu");
}
function describeOs(fields) {
  const name = fields.PRETTY_NAME || fields.NAME || fields.ID || "unknown";
  const like = fields.ID_LIKE ? `, like ${fields.ID_LIKE}` : "";
  return `${name} (ID=${fields.ID ?? "unset"}${like})`;
}

// src/qemu/path.ts
import { accessSync, constants as constants3, statSync } from "node:fs";
import { delimiter as delimiter2, join as join7 } from "node:path";

// src/vm/qemu.ts
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join as join6 } from "node:path";
var QEMU_BINARY = "qemu-system-x86_64";
var ROOT_KEY_CREDENTIAL = "io.systemd.credential:ssh.authorized_keys.root";
function qemuEscape(value) {
  return value.replaceAll(",", ",,");
}
function qemuArgs(config) {
  const args = [];
  const uefi = config.firmware === "uefi";
  args.push("-machine", uefi ? "q35" : "pc");
  args.push("-accel", config.accel, "-cpu", "max");
  args.push("-m", String(config.memoryMiB), "-smp", String(config.cpus));
  if (uefi) {
    if (!config.ovmfCode || !config.ovmfVars) {
      throw new Error("UEFI needs the OVMF code and a writable copy of the OVMF variables.");
    }
    args.push("-drive", `if=pflash,format=raw,readonly=on,file=${qemuEscape(config.ovmfCode)}`);
    args.push("-drive", `if=pflash,format=raw,file=${qemuEscape(config.ovmfVars)}`);
  }
  args.push(
    "-drive",
    `file=${qemuEscape(config.iso)},format=raw,media=cdrom,readonly=on,if=ide`,
    "-boot",
    "order=d"
  );
  args.push(
    "-netdev",
    `user,id=net0,hostfwd=tcp:127.0.0.1:${config.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=net0"
  );
  args.push(
    "-chardev",
    `stdio,id=serial0,signal=off,logfile=${qemuEscape(config.serialLog)},logappend=on`,
    "-serial",
    "chardev:serial0"
  );
  if (config.rootPublicKey) {
    args.push(
      "-smbios",
      `type=11,value=${qemuEscape(`${ROOT_KEY_CREDENTIAL}=${config.rootPublicKey}`)}`
    );
  }
  args.push("-qmp", `unix:${qemuEscape(config.qmpSocket)},server=on,wait=off`);
  args.push("-monitor", "none", "-display", "none", "-vga", "std", "-no-reboot");
  return args;
}
function ovmfCandidates(env = process.env) {
  const pairs = [];
  for (const root of [env.OVMF, env.OVMF_FD].filter((v) => Boolean(v))) {
    pairs.push([join6(root, "FV", "OVMF_CODE.fd"), join6(root, "FV", "OVMF_VARS.fd")]);
    pairs.push([join6(root, "OVMF_CODE.fd"), join6(root, "OVMF_VARS.fd")]);
  }
  for (const dir of ["/usr/share/OVMF", "/usr/share/ovmf", "/usr/share/edk2/ovmf"]) {
    pairs.push([join6(dir, "OVMF_CODE_4M.fd"), join6(dir, "OVMF_VARS_4M.fd")]);
    pairs.push([join6(dir, "OVMF_CODE.fd"), join6(dir, "OVMF_VARS.fd")]);
  }
  pairs.push(["/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"]);
  pairs.push(["/run/libvirt/nix-ovmf/OVMF_CODE.fd", "/run/libvirt/nix-ovmf/OVMF_VARS.fd"]);
  pairs.push([
    "/run/libvirt/nix-ovmf/edk2-x86_64-code.fd",
    "/run/libvirt/nix-ovmf/edk2-i386-vars.fd"
  ]);
  return pairs;
}
function findOvmf(env = process.env, exists = existsSync) {
  const candidates = ovmfCandidates(env);
  const found = candidates.find(([code2, vars]) => exists(code2) && exists(vars));
  if (found) return { code: found[0], vars: found[1] };
  throw new Error(
    `firmware 'uefi' needs OVMF, and none was found (looked for ${candidates.slice(0, 4).map(([code2]) => code2).join(", ")}, \u2026). Install the 'ovmf' package (apt-get install ovmf), or on NixOS set OVMF to the output of pkgs.OVMF.fd.`
  );
}
function freePort() {
  return new Promise((resolve2, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => port ? resolve2(port) : reject(new Error("no free port")));
    });
  });
}

// src/qemu/path.ts
function findOnPath(name, pathVariable) {
  for (const dir of pathVariable.split(delimiter2).filter((d) => d.startsWith("/"))) {
    const candidate = join7(dir, name);
    try {
      accessSync(candidate, constants3.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
    }
  }
  return void 0;
}
function ovmfFor(firmware, env) {
  if (firmware !== "uefi") return {};
  try {
    return { ovmf: findOvmf(env) };
  } catch (error) {
    return { reason: errorMessage(error) };
  }
}
function fromPath(firmware, env) {
  const binary = findOnPath(QEMU_BINARY, env.PATH ?? "");
  if (!binary) return { reason: `${QEMU_BINARY} is not on PATH (${env.PATH || "empty"})` };
  const { ovmf, reason } = ovmfFor(firmware, env);
  if (reason) return { reason: `${binary} is there, but no OVMF: ${reason}` };
  return { binary, ovmf };
}

// src/qemu/run.ts
import { spawn as spawn2 } from "node:child_process";
var KILL_AFTER_MS = 5e3;
function runStoppable(command, args, options) {
  const { signal } = options;
  if (signal?.aborted)
    return Promise.resolve({ exitCode: null, stdout: "", stderr: "", stopped: true });
  return new Promise((resolve2) => {
    const child = spawn2(command, args, { env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let stopped = false;
    let startError;
    let killTimer;
    const stop = () => {
      stopped = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
    };
    const killOnExit = () => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    signal?.addEventListener("abort", stop, { once: true });
    const lines = (chunk2) => {
      if (options.onLine) {
        for (const line of chunk2.split("\n")) if (line.trim()) options.onLine(line);
      }
    };
    child.stdout.setEncoding("utf8").on("data", (chunk2) => {
      stdout += chunk2;
      lines(chunk2);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk2) => {
      stderr += chunk2;
      lines(chunk2);
    });
    child.on("error", (error) => startError = error.message);
    child.on("close", (code2) => {
      clearTimeout(killTimer);
      process.off("exit", killOnExit);
      signal?.removeEventListener("abort", stop);
      resolve2({ exitCode: startError ? null : code2, stdout, stderr, startError, stopped });
    });
  });
}
function pause(ms, signal) {
  return new Promise((resolve2) => {
    if (signal?.aborted) return resolve2();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve2();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
function lastError(text) {
  const lines = text.replace(/\r/g, "").split("\n").map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /^(E:|error:|sudo:)/.test(line));
  return (errors[errors.length - 1] ?? lines[lines.length - 1] ?? "no output").slice(0, 500);
}

// src/qemu/apt.ts
function defaultAptEnvironment() {
  return {
    osReleaseFiles: ["/etc/os-release", "/usr/lib/os-release"],
    qemuPath: "/usr/bin/qemu-system-x86_64",
    asRoot: process.getuid?.() === 0
  };
}
function readOsRelease(files) {
  const file = files.find((f) => existsSync2(f));
  return file ? parseOsRelease(readFileSync(file, "utf8")) : void 0;
}
async function fromApt(firmware, ctx, signals, machine = defaultAptEnvironment()) {
  const os = readOsRelease(machine.osReleaseFiles);
  if (!os)
    return {
      reason: `no os-release file (${machine.osReleaseFiles.join(", ")}): not Debian or Ubuntu`
    };
  if (!isDebianLike(os)) return { reason: `${describeOs(os)} is not Debian or Ubuntu` };
  if (!machine.asRoot && !findOnPath("sudo", ctx.env.PATH ?? "")) {
    return { reason: "this user is not root and there is no sudo on PATH" };
  }
  const packages = aptPackages(firmware);
  const env = stringEnv(ctx.env);
  let step = "install";
  let failures = 0;
  let updated = false;
  for (; ; ) {
    if (signals.stop.aborted) return { reason: "stopped before apt-get ran" };
    const { command, args } = aptCommand(step, packages, machine.asRoot);
    ctx.log.info(`QEMU (apt): ${command} ${args.join(" ")}`);
    const ran = await runStoppable(command, args, { env, signal: signals.cancel });
    if (ran.exitCode === 0) {
      if (step === "install") break;
      updated = true;
      step = "install";
      continue;
    }
    if (ran.stopped) return { reason: "apt-get was stopped (the job was cancelled)" };
    failures++;
    const output = ran.startError ?? `${ran.stdout}
${ran.stderr}`;
    const next = nextAptStep(step, classifyAptFailure(output), failures, updated);
    const said = lastError(output);
    if (!next.step) return { reason: `${next.why}; apt-get ${step} said: ${said}` };
    ctx.log.info(`QEMU (apt): apt-get ${step} failed (${said}); ${next.why}`);
    await pause(next.delayMs, AbortSignal.any([signals.stop, signals.cancel]));
    step = next.step;
  }
  if (!existsSync2(machine.qemuPath)) {
    return {
      reason: `apt-get installed ${packages.join(" ")}, but ${machine.qemuPath} is not there`
    };
  }
  const { ovmf, reason } = ovmfFor(firmware, ctx.env);
  if (reason) return { reason: `apt-get installed ${packages.join(" ")}, but ${reason}` };
  return { binary: machine.qemuPath, ovmf };
}

// src/qemu/nix.ts
import { existsSync as existsSync3 } from "node:fs";
import { join as join8 } from "node:path";

// src/qemu/nix-output.ts
function nixQemuArgs(flake, firmware, printOutPaths) {
  return [
    "build",
    "--inputs-from",
    flake,
    "nixpkgs#qemu_kvm",
    ...firmware === "uefi" ? ["nixpkgs#OVMF.fd"] : [],
    "--no-link",
    printOutPaths ? "--print-out-paths" : "--json"
  ];
}
function parseBuildOutputs(stdout, printOutPaths) {
  if (printOutPaths) {
    return stdout.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("/"));
  }
  try {
    const built = JSON.parse(stdout);
    if (!Array.isArray(built)) return [];
    return built.flatMap(
      (item) => Object.values(item?.outputs ?? {}).filter((p) => typeof p === "string")
    );
  } catch {
    return [];
  }
}
function hasNixpkgsInput(metadataJson) {
  try {
    const metadata = JSON.parse(metadataJson);
    const locks = metadata.locks;
    if (!locks?.nodes) return void 0;
    const root = locks.nodes[locks.root ?? "root"];
    return root?.inputs?.nixpkgs !== void 0;
  } catch {
    return void 0;
  }
}

// src/qemu/nix.ts
async function fromNix(nix, request, ctx, signal) {
  const env = { ...stringEnv(ctx.env), ...nix.env };
  const metadata = await runStoppable(
    nix.nixPath,
    ["flake", "metadata", "--json", "--no-write-lock-file", request.flake],
    { env, signal }
  );
  if (metadata.exitCode !== 0) {
    return {
      reason: `could not read the flake's inputs (nix flake metadata ${request.flake}): ${metadata.startError ?? lastError(metadata.stderr)}`
    };
  }
  const has = hasNixpkgsInput(metadata.stdout);
  if (has === void 0)
    return { reason: `nix flake metadata printed no lock for ${request.flake}` };
  if (!has) return { reason: `the flake ${request.flake} has no nixpkgs input` };
  const args = nixQemuArgs(request.flake, request.firmware, nix.capabilities.printOutPaths);
  ctx.log.info(`QEMU (nix): ${nix.nixPath} ${args.join(" ")}`);
  const built = await runStoppable(nix.nixPath, args, { env, signal });
  if (built.exitCode !== 0) {
    return {
      reason: `nix ${args.slice(0, 5).join(" ")} failed: ${built.startError ?? lastError(built.stderr)}`
    };
  }
  const outputs = parseBuildOutputs(built.stdout, nix.capabilities.printOutPaths);
  const qemu = outputs.find((out) => existsSync3(join8(out, "bin", QEMU_BINARY)));
  if (!qemu) {
    return {
      reason: `nixpkgs#qemu_kvm has no bin/${QEMU_BINARY} (outputs: ${outputs.join(", ") || "none"})`
    };
  }
  const binary = join8(qemu, "bin", QEMU_BINARY);
  if (request.firmware !== "uefi") return { binary, detail: qemu };
  const fv = (out, file) => join8(out, "FV", file);
  const fd = outputs.find(
    (out) => existsSync3(fv(out, "OVMF_CODE.fd")) && existsSync3(fv(out, "OVMF_VARS.fd"))
  );
  if (!fd) return { reason: `nixpkgs#OVMF.fd has no FV/OVMF_CODE.fd and FV/OVMF_VARS.fd` };
  return {
    binary,
    ovmf: { code: fv(fd, "OVMF_CODE.fd"), vars: fv(fd, "OVMF_VARS.fd") },
    detail: qemu
  };
}

// src/qemu/plan.ts
var QEMU_SOURCES = ["path", "nix", "apt"];
function sourcesFor(mode) {
  return mode === "auto" ? [...QEMU_SOURCES] : [mode];
}
function notTried(mode, source) {
  return {
    source,
    outcome: "skipped",
    reason: `not tried: input 'qemu' is '${mode}'`,
    durationMs: 0
  };
}
function notNeeded(source, used) {
  return { source, outcome: "skipped", reason: `not needed: ${used} gave QEMU`, durationMs: 0 };
}
function fixFor(source, firmware) {
  const uefi = firmware === "uefi";
  switch (source) {
    case "path":
      return `install QEMU in an earlier step (\`sudo apt-get install qemu-system-x86${uefi ? " ovmf" : ""}\`) or put a directory holding qemu-system-x86_64 on PATH` + (uefi ? ", with OVMF in /usr/share/OVMF or $OVMF" : "");
    case "nix":
      return 'give the flake a `nixpkgs` input (`inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05"`) and commit its flake.lock: QEMU then comes from that nixpkgs, pinned, through your substituters';
    case "apt":
      return "run on Debian or Ubuntu as root or with passwordless sudo (GitHub\u2019s ubuntu runners have both)";
  }
}
function noQemuError(mode, firmware, attempts) {
  const what = firmware === "uefi" ? "QEMU and OVMF" : "QEMU";
  const lines = [
    `No source could provide ${what} (input 'qemu' is '${mode}'). The three ways, and how to make each work:`
  ];
  for (const source of QEMU_SOURCES) {
    const attempt3 = attempts.find((a) => a.source === source) ?? notTried(mode, source);
    lines.push(`- ${source}: ${attempt3.reason}. To use it: ${fixFor(source, firmware)}.`);
  }
  if (mode !== "auto") {
    lines.push(`Or set 'qemu: auto' to try path, then nix, then apt.`);
  }
  return lines.join("\n");
}
function describeProvision(provision) {
  const passed = provision.attempts.filter((a) => a.source !== provision.source).map((a) => `${a.source}: ${a.reason}`);
  const others = passed.length ? `; ${passed.join("; ")}` : "";
  switch (provision.status) {
    case "ready":
      return `qemu-system-x86_64 ${provision.version ?? "(version unknown)"} from ${provision.source}${others}`;
    case "stopped":
      return `stopped before QEMU was ready (not needed any more)${others}`;
    case "failed":
      return `no source gave QEMU${others}`;
  }
}

// src/qemu/version.ts
var VERSION = /QEMU emulator version\s+(\d+(?:\.\d+)*\S*(?:\s+\([^)]*\))?)/;
function parseQemuVersion(text) {
  return VERSION.exec(text)?.[1].trim();
}

// src/qemu/index.ts
async function qemuFromPath(request, ctx) {
  if (!sourcesFor(request.mode).includes("path")) return notTried(request.mode, "path");
  const started = Date.now();
  const tried = await tryOne(
    "path",
    fromPath(request.firmware, ctx.env),
    ctx,
    new AbortController().signal
  );
  if ("reason" in tried) return attempt("path", "failed", tried.reason, started);
  return ready(request, ctx, tried, [attempt("path", "used", tried.detail, started)]);
}
async function provisionQemu(request, ctx, signals, earlier = []) {
  const attempts = [...earlier];
  const either = AbortSignal.any([signals.stop, signals.cancel]);
  let current = "path";
  try {
    for (const source of sourcesFor(request.mode)) {
      if (attempts.some((a) => a.source === source)) continue;
      current = source;
      if (either.aborted) return ended(request, "stopped", attempts);
      const started = Date.now();
      const tried = await tryOne(source, await gather(source, request, ctx, signals), ctx, either);
      if ("reason" in tried) {
        attempts.push(attempt(source, "failed", tried.reason, started));
        ctx.log.info(`QEMU (${source}): passed over: ${tried.reason}`);
        continue;
      }
      return ready(request, ctx, tried, [
        ...attempts,
        attempt(source, "used", tried.detail, started)
      ]);
    }
  } catch (error) {
    attempts.push({
      source: current,
      outcome: "failed",
      reason: `provisioning crashed: ${errorMessage(error)}`,
      durationMs: 0
    });
  }
  return ended(request, either.aborted ? "stopped" : "failed", attempts, ctx);
}
async function gather(source, request, ctx, signals) {
  switch (source) {
    case "path":
      return fromPath(request.firmware, ctx.env);
    case "nix": {
      const nix = await request.nix();
      if (!nix) return { reason: "setup gave no usable Nix" };
      return fromNix(nix, request, ctx, AbortSignal.any([signals.stop, signals.cancel]));
    }
    case "apt":
      return fromApt(request.firmware, ctx, signals, request.apt);
  }
}
async function tryOne(source, result, ctx, signal) {
  if ("reason" in result) return result;
  const probe = await runStoppable(result.binary, ["--version"], {
    env: stringEnv(ctx.env),
    signal
  });
  const version = parseQemuVersion(probe.stdout);
  if (probe.exitCode !== 0 || !version) {
    const said = probe.startError ?? lastError(`${probe.stdout}
${probe.stderr}`);
    return { reason: `${result.binary} --version did not name a QEMU version (${said})` };
  }
  const where = result.detail && result.detail !== result.binary ? ` in ${result.detail}` : "";
  return { ...result, version, detail: `QEMU ${version} at ${result.binary}${where} (${source})` };
}
function attempt(source, outcome, reason = "", started = Date.now()) {
  return { source, outcome, reason, durationMs: Date.now() - started };
}
function ready(request, ctx, found, attempts) {
  const used = attempts[attempts.length - 1].source;
  const rest = ["path", "nix", "apt"];
  const all = rest.map(
    (source) => attempts.find((a) => a.source === source) ?? (sourcesFor(request.mode).includes(source) ? notNeeded(source, used) : notTried(request.mode, source))
  );
  const provision = {
    status: "ready",
    mode: request.mode,
    source: used,
    binary: found.binary,
    version: found.version,
    ...found.ovmf ? { ovmf: found.ovmf } : {},
    attempts: all,
    readyAfterMs: Date.now() - request.startedAt
  };
  ctx.log.info(
    `QEMU ready after ${(provision.readyAfterMs / 1e3).toFixed(1)} s: ${describeProvision(provision)}`
  );
  return provision;
}
function ended(request, status, attempts, ctx) {
  const stoppedBefore = (source) => ({
    source,
    outcome: "skipped",
    reason: "not tried: provisioning was stopped (QEMU was not needed any more)",
    durationMs: 0
  });
  const all = ["path", "nix", "apt"].map(
    (source) => attempts.find((a) => a.source === source) ?? (status === "stopped" && sourcesFor(request.mode).includes(source) ? stoppedBefore(source) : notTried(request.mode, source))
  );
  const provision = {
    status,
    mode: request.mode,
    attempts: all,
    readyAfterMs: Date.now() - request.startedAt
  };
  if (status === "failed") {
    provision.error = noQemuError(request.mode, request.firmware, all);
    ctx?.log.error(provision.error, { title: "No QEMU" });
  }
  return provision;
}

// src/vm/stage.ts
import { existsSync as existsSync4, readFileSync as readFileSync2, renameSync } from "node:fs";
import { join as join12, relative as relative3 } from "node:path";

// src/vm/machine.ts
import { spawn as spawn3 } from "node:child_process";
import {
  copyFileSync,
  createWriteStream,
  mkdirSync as mkdirSync2,
  mkdtempSync,
  rmSync,
  writeFileSync as writeFileSync2
} from "node:fs";
import { readFile } from "node:fs/promises";
import { join as join9 } from "node:path";

// src/vm/png.ts
import { deflateSync } from "node:zlib";
function parsePpm(data) {
  let offset = 0;
  const token = () => {
    for (; ; ) {
      while (offset < data.length && /\s/.test(String.fromCharCode(data[offset]))) offset++;
      if (data[offset] !== 35) break;
      while (offset < data.length && data[offset] !== 10) offset++;
    }
    const start = offset;
    while (offset < data.length && !/\s/.test(String.fromCharCode(data[offset]))) offset++;
    return data.subarray(start, offset).toString("latin1");
  };
  if (token() !== "P6") throw new Error("not a binary PPM (P6) image");
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  offset++;
  if (!(width > 0 && height > 0 && maxval > 0 && maxval < 256)) {
    throw new Error(`unsupported PPM header ${width}x${height} maxval ${maxval}`);
  }
  const size = width * height * 3;
  if (data.length - offset < size) throw new Error("PPM image data is truncated");
  let rgb = data.subarray(offset, offset + size);
  if (maxval !== 255) rgb = Buffer.from(rgb.map((v) => Math.round(v * 255 / maxval)));
  return { width, height, rgb: Buffer.from(rgb) };
}
var CRC_TABLE = (() => {
  const table2 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 3988292384 ^ c >>> 1 : c >>> 1;
    table2[n] = c >>> 0;
  }
  return table2;
})();
function crc32(data) {
  let crc = 4294967295;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 255] ^ crc >>> 8;
  return (crc ^ 4294967295) >>> 0;
}
function chunk(type, body) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, "latin1"), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}
function encodePng(image) {
  const { width, height, rgb } = image;
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0))
  ]);
}
function ppmToPng(ppm) {
  return encodePng(parsePpm(ppm));
}

// src/vm/qmp.ts
import { connect } from "node:net";
var QmpClient = class _QmpClient {
  constructor(socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk2) => this.receive(chunk2));
    const fail = (error) => {
      this.closed = true;
      for (const pending of [this.greeted, ...this.queue.splice(0)]) pending?.reject(error);
      this.greeted = void 0;
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("QMP connection closed")));
  }
  socket;
  buffer = "";
  queue = [];
  greeted;
  closed = false;
  /** Connects (retrying while QEMU creates the socket) and negotiates capabilities. */
  static async connect(path, timeoutMs = 5e3) {
    const deadline = Date.now() + timeoutMs;
    let lastError2;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise((resolve2, reject) => {
          const s = connect(path);
          s.once("connect", () => resolve2(s));
          s.once("error", reject);
        });
        const client = new _QmpClient(socket);
        await client.handshake(Math.max(500, deadline - Date.now()));
        return client;
      } catch (error) {
        lastError2 = error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(
      `QMP socket ${path} did not answer within ${timeoutMs} ms: ${String(lastError2)}`
    );
  }
  async handshake(timeoutMs) {
    await withTimeout(
      new Promise((resolve2, reject) => this.greeted = { resolve: resolve2, reject }),
      timeoutMs,
      `QMP greeting timed out after ${timeoutMs} ms`
    );
    await this.execute("qmp_capabilities", void 0, timeoutMs);
  }
  receive(chunk2) {
    this.buffer += chunk2;
    let newline;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      if ("QMP" in message) {
        this.greeted?.resolve(message);
        this.greeted = void 0;
      } else if ("return" in message) {
        this.queue.shift()?.resolve(message.return);
      } else if ("error" in message) {
        const error = message.error;
        this.queue.shift()?.reject(new Error(`QMP error ${error.class}: ${error.desc}`));
      }
    }
  }
  /** Runs one command; rejects on a QMP error, a closed socket or the timeout. */
  execute(command, args, timeoutMs = 5e3) {
    if (this.closed) return Promise.reject(new Error("QMP connection closed"));
    const reply = new Promise(
      (resolve2, reject) => this.queue.push({ resolve: (value) => resolve2(value), reject })
    );
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n"
    );
    return withTimeout(reply, timeoutMs, `QMP ${command} timed out after ${timeoutMs} ms`);
  }
  close() {
    this.closed = true;
    this.socket.destroy();
  }
};

// src/vm/timeline.ts
var MILESTONES = [
  ["firmware", /SeaBIOS|iPXE|ISOLINUX|SYSLINUX|GRUB|GNU GRUB|Booting `|UEFI|BdsDxe|EFI stub/i],
  ["kernel", /Linux version \d/],
  [
    "init",
    /Run \/init|Run \/\S*init as init process|systemd\[1\]:|Welcome to (?!GRUB)|boot-image-vm: init/
  ],
  [
    "network",
    /DHCP lease|DHCPv4 address|lease of \d|network up|Reached target Network\b|Reached target network\.target\b|boot-image-vm: network/
  ],
  [
    "sshd",
    /Server listening on|Started .*OpenSSH|Started .*OpenBSD Secure Shell|Started .*SSH Daemon|Started sshd|Started ssh\.service|dropbear.*(started|Running in background|Not backgrounding)|sshd listening/i
  ],
  ["ready", /\blogin: |boot-image-vm: ready|Reached target Multi-User|Reached target .*Multi-User/]
];
function isSshdLine(text) {
  return MILESTONES.some(
    ([name, pattern]) => (name === "sshd" || name === "ready") && pattern.test(text)
  );
}
function bootTimeline(lines) {
  const milestones = [];
  for (const [name, pattern] of MILESTONES) {
    const found = lines.find((line) => pattern.test(line.text));
    if (found) milestones.push({ name, seconds: found.seconds, line: found.text.trim() });
  }
  return milestones.sort((a, b) => a.seconds - b.seconds);
}
var PANIC = /Kernel panic - not syncing|end Kernel panic|Attempted to kill init|KVM internal error|emulation failure|BUG: unable to handle|general protection fault.*\bkernel\b|Oops: |Unable to mount root fs|No working init found|VFS: Cannot open root device/;
function findPanic(line) {
  return PANIC.test(line) ? line.trim() : void 0;
}
function cleanConsoleText(text) {
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "").replace(/\x1b[()][0-9A-Za-z]|\x1b[=>c78DEHM]/g, "").replace(/\r/g, "").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
}
function findFingerprint(line) {
  const match = /SHA256:([A-Za-z0-9+/]{43})=?/i.exec(line);
  return match ? `SHA256:${match[1]}` : void 0;
}

// src/vm/machine.ts
var MAX_SOCKET_PATH = 100;
var Machine = class {
  constructor(options) {
    this.options = options;
    mkdirSync2(options.dir, { recursive: true });
    this.serialLog = join9(options.dir, "serial.log");
    this.qemuLog = join9(options.dir, "qemu.log");
  }
  options;
  lines = [];
  serialLog;
  qemuLog;
  exited = new Promise(() => {
  });
  child;
  qmp;
  startedAt = 0;
  stderrTail = "";
  runtimeDir;
  listeners = /* @__PURE__ */ new Set();
  exitInfo;
  bytes = 0;
  get pid() {
    return this.child?.pid;
  }
  get running() {
    return this.child !== void 0 && this.exitInfo === void 0;
  }
  /** The last 64 KiB QEMU wrote to stderr. */
  get stderr() {
    return this.stderrTail;
  }
  /** Bytes the guest has printed on the serial console (escape sequences included). */
  get consoleBytes() {
    return this.bytes;
  }
  secondsSinceStart() {
    return this.startedAt ? (Date.now() - this.startedAt) / 1e3 : 0;
  }
  /** Starts QEMU and connects to its QMP socket. Throws when QEMU cannot be started at all. */
  async start() {
    const { options } = this;
    const socketDir = join9(options.tempDir, "qemu");
    this.runtimeDir = socketDir.length + 10 <= MAX_SOCKET_PATH ? socketDir : mkdtempSync("/tmp/biv-");
    mkdirSync2(this.runtimeDir, { recursive: true });
    const qmpSocket = join9(this.runtimeDir, "qmp.sock");
    rmSync(qmpSocket, { force: true });
    let ovmf = {};
    if (options.firmware === "uefi") {
      const found = options.ovmf ?? findOvmf();
      const vars = join9(options.tempDir, "OVMF_VARS.fd");
      copyFileSync(found.vars, vars);
      ovmf = { code: found.code, vars };
    }
    const args = qemuArgs({
      accel: options.accel,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      iso: options.iso,
      firmware: options.firmware,
      ovmfCode: ovmf.code,
      ovmfVars: ovmf.vars,
      sshPort: options.sshPort,
      serialLog: this.serialLog,
      qmpSocket,
      rootPublicKey: options.rootPublicKey
    });
    const qemu = options.qemu;
    writeFileSync2(join9(options.dir, "qemu-args.txt"), [qemu, ...args].join("\n") + "\n");
    const qemuLog = createWriteStream(this.qemuLog, { flags: "a" });
    const prefix = options.name ?? "vm";
    const redact = options.redact ?? ((text) => text);
    this.startedAt = Date.now();
    const child = spawn3(qemu, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    const killOnExit = () => {
      child.kill("SIGKILL");
    };
    process.once("exit", killOnExit);
    this.exited = new Promise((resolve2) => {
      child.once("exit", (code2, signal) => {
        process.off("exit", killOnExit);
        this.exitInfo = { code: code2, signal };
        resolve2(this.exitInfo);
      });
      child.once("error", (error) => {
        this.stderrTail += `${error.message}
`;
        this.exitInfo = { code: null, signal: null };
        resolve2(this.exitInfo);
      });
    });
    const serial = new LineSplitter((raw) => {
      const line = { seconds: this.secondsSinceStart(), text: cleanConsoleText(raw) };
      this.lines.push(line);
      options.log.info(`[${prefix} +${line.seconds.toFixed(1)}s] ${redact(line.text)}`);
      for (const listener of this.listeners) listener(line);
    });
    child.stdout?.setEncoding("utf8").on("data", (chunk2) => {
      this.bytes += chunk2.length;
      serial.push(chunk2);
    });
    child.stdout?.on("end", () => serial.end());
    child.stderr?.on("data", (chunk2) => {
      qemuLog.write(chunk2);
      this.stderrTail = (this.stderrTail + chunk2.toString("utf8")).slice(-65536);
    });
    child.stderr?.on("end", () => qemuLog.end());
    child.stdin?.on("error", () => {
    });
    const connected = QmpClient.connect(qmpSocket, 1e4);
    const outcome = await Promise.race([
      connected.then((client) => ({ client })),
      this.exited.then((exit) => ({ exit }))
    ]);
    if ("exit" in outcome) {
      connected.then((client) => client.close()).catch(() => {
      });
      throw new Error(
        `QEMU exited at once (${describeExit(outcome.exit)}): ${this.stderrTail.trim() || "no output"}`
      );
    }
    this.qmp = outcome.client;
  }
  /** Calls listener with every console line from now on; returns the unsubscribe function. */
  onLine(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** The first console line (already seen or still to come) that matches, or an error. */
  waitForLine(pattern, timeoutMs) {
    const seen = this.lines.find((line) => pattern.test(line.text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve2, reject) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no console line matching ${pattern} within ${timeoutMs / 1e3} s`));
      }, timeoutMs);
      const unsubscribe = this.onLine((line) => {
        if (!pattern.test(line.text)) return;
        done();
        resolve2(line);
      });
      void this.exited.then((exit) => {
        done();
        reject(new Error(`QEMU exited (${describeExit(exit)}) before a line matching ${pattern}`));
      });
    });
  }
  /** QMP query-status: 'running', 'paused', 'internal-error', 'shutdown', … (undefined: no answer). */
  async status() {
    if (!this.qmp || !this.running) return void 0;
    try {
      const reply = await this.qmp.execute("query-status", void 0, 2e3);
      return reply.status;
    } catch {
      return void 0;
    }
  }
  /** Saves the screen as vm/screen-<name>.png; returns its absolute path, or undefined. */
  async screenshot(name) {
    if (!this.qmp || !this.running || !this.runtimeDir) return void 0;
    const ppm = join9(this.runtimeDir, `screen-${name}.ppm`);
    const png = join9(this.options.dir, `screen-${name}.png`);
    try {
      await this.qmp.execute("screendump", { filename: ppm }, 5e3);
      writeFileSync2(png, ppmToPng(await readFile(ppm)));
      rmSync(ppm, { force: true });
      return png;
    } catch (error) {
      this.options.log.debug(`screenshot ${name} failed: ${String(error)}`);
      return void 0;
    }
  }
  /** QMP quit, then SIGTERM, then SIGKILL, each bounded; always leaves no QEMU behind. */
  async shutdown(graceMs = 3e3) {
    const child = this.child;
    if (!child) return void 0;
    const waitExit = (ms) => withTimeout(this.exited, ms, "QEMU exit").then(
      () => true,
      () => false
    );
    if (this.running && this.qmp) {
      await this.qmp.execute("quit", void 0, 1e3).catch(() => void 0);
    }
    if (this.running && !await waitExit(graceMs)) {
      child.kill("SIGTERM");
      if (!await waitExit(graceMs)) {
        child.kill("SIGKILL");
        await waitExit(graceMs);
      }
    }
    this.qmp?.close();
    this.qmp = void 0;
    if (this.runtimeDir) rmSync(this.runtimeDir, { recursive: true, force: true });
    return this.exitInfo;
  }
};
function describeExit(exit) {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

// src/vm/ssh.ts
var import_ssh22 = __toESM(require_lib(), 1);
import { createHash } from "node:crypto";
import { connect as connect2 } from "node:net";
function sshFingerprint(key) {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}
var SshSession = class {
  constructor(client, reconnect) {
    this.client = client;
    this.reconnect = reconnect;
  }
  client;
  reconnect;
  stale = false;
  closed = false;
  async exec(command, options) {
    if (this.closed) return failed("the SSH session is closed");
    if (this.stale) {
      if (!this.reconnect) return failed("the SSH connection was dropped after a timeout");
      try {
        this.client = await this.reconnect();
        this.stale = false;
      } catch (error) {
        return failed(`could not reconnect over SSH: ${String(error)}`);
      }
      if (this.closed) {
        this.client.end();
        return failed("the SSH session is closed");
      }
    }
    return this.run(this.client, command, options.timeoutMs);
  }
  run(client, command, timeoutMs) {
    return new Promise((resolve2) => {
      let stdout = "";
      let stderr = "";
      let settled = false;
      const finish2 = (result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve2({ ...result, stdout, stderr });
      };
      const timer = setTimeout(() => {
        this.stale = true;
        client.end();
        finish2({ exitCode: null, timedOut: true });
      }, timeoutMs);
      const onClose = () => {
        stderr += "the SSH connection closed\n";
        finish2({ exitCode: null, timedOut: false });
      };
      client.once("close", onClose);
      client.exec(command, (error, channel) => {
        if (error) {
          stderr += `${error.message}
`;
          client.off("close", onClose);
          finish2({ exitCode: null, timedOut: false });
          return;
        }
        let exitCode = null;
        let signal;
        channel.on("data", (chunk2) => stdout += chunk2.toString("utf8"));
        channel.stderr.on("data", (chunk2) => stderr += chunk2.toString("utf8"));
        channel.on("exit", (code2, signalName) => {
          exitCode = typeof code2 === "number" ? code2 : null;
          if (signalName) signal = signalName;
        });
        channel.on("close", () => {
          client.off("close", onClose);
          finish2({ exitCode, signal, timedOut: false });
        });
      });
    });
  }
  close() {
    this.closed = true;
    this.client.end();
  }
};
function failed(message) {
  return { exitCode: null, stdout: "", stderr: `${message}
`, timedOut: false };
}
var LOGGED_IN_MS = 2e4;
function attempt2(options, timeoutMs, progress = { startedAt: Date.now(), answered: false }) {
  return new Promise((resolve2) => {
    const client = new import_ssh22.default.Client();
    let fingerprint;
    let settled = false;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result.client) {
        client.end();
        socket.destroy();
      }
      resolve2({ ...result, answered: progress.answered });
    };
    let timer = setTimeout(() => settle({ error: `no answer in ${timeoutMs} ms` }), timeoutMs);
    const socket = connect2({ host: options.host ?? "127.0.0.1", port: options.port });
    socket.setNoDelay(true);
    socket.once("data", () => progress.answered = true);
    socket.on("error", () => {
    });
    client.on("error", (error) => settle({ error: error.message }));
    client.on("close", () => settle({ error: "connection closed" }));
    client.on("ready", () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => settle({ error: `'true' did not finish within ${LOGGED_IN_MS} ms of the login` }),
        LOGGED_IN_MS
      );
      client.exec("true", (error, channel) => {
        if (error) return settle({ error: error.message });
        channel.on("exit", (code2) => {
          if (code2 === 0) settle({ client, fingerprint });
          else settle({ error: `'true' exited with ${code2}` });
        });
        channel.on("close", () => settle({ error: "'true' ended without an exit code" }));
        channel.resume();
      });
    });
    try {
      client.connect({
        sock: socket,
        username: options.username ?? "root",
        privateKey: options.privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: 1e4,
        hostVerifier: (key) => {
          fingerprint = sshFingerprint(key);
          return true;
        }
      });
    } catch (error) {
      settle({ error: error instanceof Error ? error.message : String(error) });
    }
  });
}
var MAX_ATTEMPT_MS = 16e3;
function nextAttemptBudget(currentMs, ended2) {
  const ranOutOfTime = /^no answer in|Timed out while waiting for handshake/.test(ended2.error ?? "");
  return ended2.answered && ranOutOfTime ? Math.min(currentMs * 2, MAX_ATTEMPT_MS) : currentMs;
}
var MAX_UNDER_WAY = 2;
var STALLED_AFTER_MS = 1e3;
var MAX_OPEN = 6;
async function waitForSsh(options) {
  let aborted;
  const abort = options.abort.then(
    (reason) => aborted = reason,
    (error) => aborted = error instanceof Error ? error.message : String(error)
  );
  let winner;
  let attempts = 0;
  let attemptMs = options.attemptTimeoutMs ?? 4e3;
  let lastError2 = "no attempt made";
  const inFlight = /* @__PURE__ */ new Map();
  const launch = (timeoutMs) => {
    attempts++;
    const progress = { startedAt: Date.now(), answered: false };
    const tracked = attempt2(options, timeoutMs, progress).then((result) => {
      attemptMs = nextAttemptBudget(attemptMs, result);
      if (!result.client) lastError2 = result.error ?? "unknown error";
      else if (winner || aborted !== void 0) result.client.end();
      else winner = result;
    }).finally(() => inFlight.delete(tracked));
    inFlight.set(tracked, progress);
  };
  const stallTimes = () => [...inFlight.values()].filter((p) => !p.answered).map((p) => p.startedAt + STALLED_AFTER_MS);
  const underWay = (now) => [...inFlight.values()].filter((p) => p.answered || now < p.startedAt + STALLED_AFTER_MS).length;
  let backoff = 250;
  let nextLaunch = Date.now();
  let nudged = false;
  let wakeUp = () => {
  };
  const unsubscribe = options.nudge?.(() => {
    nudged = true;
    wakeUp();
  });
  try {
    for (; ; ) {
      if (winner?.client) {
        const reconnect = async () => {
          for (let tries = 1; ; tries++) {
            const again = await attempt2(options, options.attemptTimeoutMs ?? 4e3);
            if (again.client && again.fingerprint !== winner?.fingerprint) {
              again.client.end();
              throw new Error(
                `the host key changed (${again.fingerprint}, was ${winner?.fingerprint})`
              );
            }
            if (again.client) return again.client;
            if (tries >= 3) throw new Error(again.error);
            await new Promise((resolve2) => setTimeout(resolve2, 500));
          }
        };
        const session = new SshSession(winner.client, reconnect);
        return { client: session, fingerprint: winner.fingerprint ?? "" };
      }
      if (aborted !== void 0) throw new Error(aborted);
      const now = Date.now();
      const remaining = options.deadline - now;
      if (remaining <= 0 && inFlight.size === 0) break;
      const hinted = nudged;
      if (nudged) {
        nudged = false;
        nextLaunch = now;
        backoff = 250;
      }
      const slotFree = hinted || underWay(now) < MAX_UNDER_WAY;
      if (remaining > 0 && slotFree && inFlight.size < MAX_OPEN && now >= nextLaunch) {
        launch(Math.max(500, Math.min(attemptMs, remaining)));
        nextLaunch = now + backoff;
        backoff = Math.min(2e3, backoff * 2);
      }
      const nextStall = Math.min(...stallTimes().filter((at) => at > Date.now()));
      const wait = Math.max(20, Math.min(nextLaunch, nextStall, options.deadline) - Date.now());
      let timer;
      await Promise.race([
        ...inFlight.keys(),
        abort,
        new Promise((resolve2) => {
          timer = setTimeout(resolve2, wait);
          wakeUp = resolve2;
        })
      ]);
      clearTimeout(timer);
    }
  } finally {
    unsubscribe?.();
  }
  throw new Error(
    `SSH on 127.0.0.1:${options.port} did not run a command before the deadline (${attempts} attempts; last: ${lastError2})`
  );
}

// src/vm/boot.ts
var KVM_SILENT_CONSOLE_SECONDS = 8;
var PORT_TAKEN = /Could not set up host forwarding rule/;
async function bootAttempt(options, ctx) {
  const machine = new Machine({
    accel: options.accel,
    memoryMiB: options.memoryMiB,
    cpus: options.cpus,
    iso: options.iso,
    firmware: options.firmware,
    sshPort: options.sshPort,
    qemu: options.qemu,
    ovmf: options.ovmf,
    rootPublicKey: publicKeyLine(options.privateKey),
    dir: options.vmDir,
    tempDir: ctx.tempDir,
    log: ctx.log,
    redact: (text) => ctx.secrets.redact(text)
  });
  try {
    await machine.start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (PORT_TAKEN.test(message)) return { machine, outcome: { kind: "port-taken" } };
    const kvm = options.accel === "kvm" ? kvmFailureFromOutput(message) : void 0;
    if (kvm) return { machine, outcome: { kind: "kvm-failed", reason: kvm } };
    return { machine, outcome: { kind: "failed", error: `QEMU did not start: ${message}` } };
  }
  if (machine.pid) options.onQemuStarted?.(machine.pid);
  ctx.log.info(
    `QEMU started (pid ${machine.pid}, ${options.accel}, SSH forwarded from 127.0.0.1:${options.sshPort})`
  );
  let stop;
  let trigger = () => {
  };
  const stopped = new Promise((resolve2) => {
    trigger = (value) => {
      if (stop) return;
      stop = value;
      resolve2(value);
    };
  });
  const unsubscribe = machine.onLine((line) => {
    const panic = findPanic(line.text);
    if (panic) trigger({ kind: "failed", error: `the guest panicked: ${panic}`, panic });
  });
  void machine.exited.then((exit) => {
    const stderr = machine.stderr;
    const kvm = options.accel === "kvm" ? kvmFailureFromOutput(stderr) : void 0;
    if (kvm) return trigger({ kind: "kvm-failed", reason: kvm });
    const panic = machine.lines.map((line) => findPanic(line.text)).find(Boolean);
    const last = stderr.trim().split("\n").pop();
    trigger({
      kind: "failed",
      error: `QEMU exited (${describeExit(exit)}) after ${machine.secondsSinceStart().toFixed(1)} s, before SSH answered` + (panic ? `; the guest panicked: ${panic}` : last ? `: ${last}` : ""),
      panic
    });
  });
  const onAbort = () => trigger({ kind: "failed", error: "cancelled before SSH answered" });
  if (ctx.signal.aborted) onAbort();
  ctx.signal.addEventListener("abort", onAbort);
  const watchdog = options.accel === "kvm" ? kvmWatchdog(machine, trigger) : void 0;
  try {
    const ready2 = await waitForSsh({
      port: options.sshPort,
      privateKey: options.privateKey,
      deadline: options.deadline,
      abort: stopped.then((value) => value.kind === "failed" ? value.error : value.reason),
      nudge: (wake) => machine.onLine((line) => isSshdLine(line.text) ? wake() : void 0)
    });
    const bootSeconds = machine.secondsSinceStart();
    return { machine, outcome: { kind: "ready", ...ready2, session: ready2.client, bootSeconds } };
  } catch (error) {
    if (stop) return { machine, outcome: stop };
    const lastLine2 = machine.lines.filter((line) => line.text.trim()).pop();
    return {
      machine,
      outcome: {
        kind: "failed",
        error: `${error instanceof Error ? error.message : String(error)}; ` + (lastLine2 ? `last console line at +${lastLine2.seconds.toFixed(1)} s: ${lastLine2.text.trim()}` : "the serial console stayed empty (does the image pass console=ttyS0?)")
      }
    };
  } finally {
    if (watchdog) clearInterval(watchdog);
    unsubscribe();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}
function kvmWatchdog(machine, trigger) {
  let busy = false;
  return setInterval(() => {
    if (busy || !machine.running) return;
    const kvm = kvmFailureFromOutput(machine.stderr);
    if (kvm) return trigger({ kind: "kvm-failed", reason: kvm });
    const seconds2 = machine.secondsSinceStart();
    if (machine.consoleBytes === 0 && seconds2 >= KVM_SILENT_CONSOLE_SECONDS) {
      return trigger({
        kind: "kvm-failed",
        reason: `the serial console stayed silent for ${seconds2.toFixed(0)} s under KVM`
      });
    }
    busy = true;
    void machine.status().then((status) => {
      if (status && status !== "running" && status !== "prelaunch" && machine.running) {
        trigger({ kind: "kvm-failed", reason: `QEMU reports the VM as '${status}' under KVM` });
      }
    }).finally(() => busy = false);
  }, 500);
}

// src/vm/probes.ts
import { mkdirSync as mkdirSync3, writeFileSync as writeFileSync3 } from "node:fs";
import { join as join10, relative } from "node:path";
function isMissingCommand(result) {
  if (result.exitCode === 127) return true;
  return result.exitCode !== 0 && result.exitCode !== null && /(?:command not found|: not found|No such file or directory)\s*$/m.test(result.stderr) && !result.stdout.trim();
}
function renderProbeFile(spec, result, durationMs) {
  const outcome = result.timedOut ? `timed out after ${spec.timeoutSeconds} s` : result.exitCode !== null ? String(result.exitCode) : `none (signal ${result.signal ?? "unknown"})`;
  return [
    `probe: ${spec.name}${spec.required ? "" : " (optional)"}`,
    `command: ${spec.command}`,
    `exit code: ${outcome}`,
    `duration: ${(durationMs / 1e3).toFixed(2)} s`,
    "",
    "--- stdout ---",
    result.stdout.replace(/\n?$/, "\n"),
    "--- stderr ---",
    result.stderr.replace(/\n?$/, "\n")
  ].join("\n");
}
async function runProbes(session, probes, dir, ctx) {
  mkdirSync3(dir, { recursive: true });
  const results = [];
  for (const spec of probes) {
    if (ctx.signal.aborted) break;
    const started = Date.now();
    const result = await session.exec(spec.command, { timeoutMs: spec.timeoutSeconds * 1e3 });
    const durationMs = Date.now() - started;
    const path = join10(dir, `${spec.name}.txt`);
    writeFileSync3(path, ctx.secrets.redact(renderProbeFile(spec, result, durationMs)));
    const missing = isMissingCommand(result);
    const probe = {
      name: spec.name,
      command: spec.command,
      required: spec.required,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      missing,
      durationMs,
      file: relative(ctx.reportDir, path)
    };
    if (result.signal) probe.signal = result.signal;
    results.push(probe);
    const passed = result.exitCode === 0 && !result.timedOut;
    const what = result.timedOut ? `timed out after ${spec.timeoutSeconds} s` : missing ? "command not found on the guest" : result.exitCode !== null ? `exit ${result.exitCode}` : result.signal ? `killed by signal ${result.signal}` : `no exit status (${result.stderr.trim().split("\n").pop() || "unknown"})`;
    const line = `probe ${spec.name}: ${what} (${(durationMs / 1e3).toFixed(1)} s)`;
    if (passed || !spec.required) ctx.log.info(line);
    else ctx.log.warning(`${line}; see ${probe.file}`, { title: `Probe ${spec.name} failed` });
  }
  return results;
}

// src/vm/test-command.ts
import { spawn as spawn4 } from "node:child_process";
import { createWriteStream as createWriteStream2, mkdirSync as mkdirSync4 } from "node:fs";
import { join as join11, relative as relative2 } from "node:path";
function testCommandEnv(options, env) {
  return {
    ...stringEnv(env),
    BOOT_IMAGE_VM_SSH_HOST: "127.0.0.1",
    BOOT_IMAGE_VM_SSH_PORT: String(options.sshPort),
    BOOT_IMAGE_VM_SSH_USER: "root",
    BOOT_IMAGE_VM_SSH_KEY: options.privateKeyPath,
    BOOT_IMAGE_VM_ISO: options.iso,
    BOOT_IMAGE_VM_SERIAL_LOG: options.serialLog
  };
}
async function runTestCommand(options, ctx) {
  const dir = join11(ctx.reportDir, "test");
  mkdirSync4(dir, { recursive: true });
  const file = join11(dir, "output.log");
  const output = createWriteStream2(file);
  const started = Date.now();
  const write = (line) => {
    const clean = ctx.secrets.redact(line);
    output.write(clean + "\n");
    ctx.log.info(`[test] ${clean}`);
  };
  write(`$ ${options.command}`);
  const child = spawn4("bash", ["-c", options.command], {
    detached: true,
    env: testCommandEnv(options, ctx.env),
    stdio: ["ignore", "pipe", "pipe"]
  });
  const lines = new LineSplitter(write);
  child.stdout.setEncoding("utf8").on("data", (chunk2) => lines.push(chunk2));
  child.stderr.setEncoding("utf8").on("data", (chunk2) => lines.push(chunk2));
  let timedOut = false;
  const killGroup = (signal) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
    }
  };
  let killTimer;
  const stop = (why) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    write(`boot-image-vm: ${why}; stopping the test command`);
    killGroup("SIGTERM");
    killTimer = setTimeout(() => killGroup("SIGKILL"), 3e3);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop(`timed out after ${options.timeoutSeconds} s`);
  }, options.timeoutSeconds * 1e3);
  const onAbort = () => stop("the job was cancelled");
  ctx.signal.addEventListener("abort", onAbort);
  const closed = new Promise((resolve2) => child.once("close", () => resolve2()));
  const exitCode = await new Promise((resolve2) => {
    child.on("error", (error) => {
      write(`boot-image-vm: could not start bash: ${error.message}`);
      resolve2(null);
    });
    child.on("exit", (code2) => resolve2(code2));
  });
  clearTimeout(timer);
  clearTimeout(killTimer);
  ctx.signal.removeEventListener("abort", onAbort);
  killGroup("SIGKILL");
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2e3))]);
  lines.end();
  const durationMs = Date.now() - started;
  write(`boot-image-vm: exit code ${exitCode ?? "none"} after ${(durationMs / 1e3).toFixed(1)} s`);
  await new Promise((resolve2) => output.end(resolve2));
  return { exitCode, timedOut, durationMs, file: relative2(ctx.reportDir, file) };
}

// src/vm/stage.ts
var MAX_PORT_TRIES = 3;
var DEFAULT_TEST_TIMEOUT_SECONDS = Number(INPUT_DEFAULTS["test-timeout"]);
var TCG_COST = "TCG emulates the CPU in software and is roughly 5\u201310\xD7 slower than KVM";
function chooseAccelerator(mode, check) {
  if (mode === "off") return { accel: "tcg" };
  if (check?.runsGuest) return { accel: "kvm" };
  const reason = check?.reason ?? "not checked";
  if (mode === "require") {
    return {
      accel: "kvm",
      error: `input 'kvm' is 'require', but KVM cannot run a guest on this machine: ${reason}`
    };
  }
  return {
    accel: "tcg",
    warning: `KVM cannot run a guest on this machine (${reason}); booting under TCG instead. ${TCG_COST}: raise boot-timeout if boots time out, or use a runner with working KVM.`
  };
}
async function runVm(request, ctx) {
  const boot = { status: "failed", timeline: [], screenshots: [] };
  const result = { boot, probes: [] };
  const vmDir = join12(ctx.reportDir, "vm");
  let machine;
  let session;
  const closeSession = () => session?.close();
  ctx.signal.addEventListener("abort", closeSession);
  const screenshot = async (name) => {
    const png = await machine?.screenshot(name);
    if (png) boot.screenshots.push(relative3(ctx.reportDir, png));
  };
  try {
    let check = request.kvmCheck;
    if (request.kvm !== "off" && !check) check = await checkKvm({ qemu: request.qemu });
    if (check) boot.kvmCheck = check;
    const choice = chooseAccelerator(request.kvm, check);
    boot.accel = choice.accel;
    if (choice.error) {
      boot.error = choice.error;
      return result;
    }
    if (choice.warning) ctx.log.warning(choice.warning, { title: "Booting without KVM" });
    const privateKey = readFileSync2(request.privateKeyPath, "utf8");
    const deadline = Date.now() + request.bootTimeoutSeconds * 1e3;
    let accel = choice.accel;
    let outcome;
    let sshPort = 0;
    let portsTaken = 0;
    for (; ; ) {
      sshPort = await freePort();
      const attempt3 = await bootAttempt(
        { ...request, accel, sshPort, privateKey, deadline, vmDir },
        ctx
      );
      machine = attempt3.machine;
      outcome = attempt3.outcome;
      if (outcome.kind === "port-taken") {
        await machine.shutdown(1e3);
        if (++portsTaken < MAX_PORT_TRIES) {
          ctx.log.info(`Port ${sshPort} was taken before QEMU could bind it; trying another.`);
          machine = void 0;
          continue;
        }
        outcome = {
          kind: "failed",
          error: `QEMU could not bind a port for the SSH forward (${MAX_PORT_TRIES} tries; the last: ${sshPort})`
        };
      }
      if (outcome.kind !== "kvm-failed") break;
      await screenshot("kvm-failure");
      await machine.shutdown(1e3);
      keepKvmAttemptLogs(vmDir);
      if (request.kvm === "require") {
        outcome = {
          kind: "failed",
          error: `input 'kvm' is 'require', but KVM could not run the guest: ${outcome.reason}`
        };
        break;
      }
      ctx.log.warning(
        `KVM could not run the guest (${outcome.reason}); restarting under TCG. ${TCG_COST}.`,
        { title: "Booting without KVM" }
      );
      accel = "tcg";
      boot.accel = "tcg";
      machine = void 0;
    }
    if (outcome.kind !== "ready") {
      boot.error = outcome.error;
      if (Date.now() >= deadline) {
        boot.error += ` (input 'boot-timeout' is ${request.bootTimeoutSeconds} s)`;
      }
      if (outcome.panic) boot.panic = outcome.panic;
      ctx.log.error(boot.error, { title: "Boot failed" });
      await screenshot("failure");
      return result;
    }
    session = outcome.session;
    boot.status = "passed";
    boot.bootSeconds = Math.round(outcome.bootSeconds * 10) / 10;
    boot.hostKeyFingerprint = outcome.fingerprint;
    ctx.log.info(
      `SSH ready after ${boot.bootSeconds} s under ${accel} (host key ${outcome.fingerprint})`
    );
    checkConsoleFingerprint(boot, machine, ctx);
    result.probes = await runProbes(session, request.probes, join12(ctx.reportDir, "probes"), ctx);
    if (request.testCommand && !ctx.signal.aborted) {
      result.test = await runTestCommand(
        {
          command: request.testCommand,
          sshPort,
          privateKeyPath: request.privateKeyPath,
          iso: request.iso,
          serialLog: machine?.serialLog ?? join12(vmDir, "serial.log"),
          timeoutSeconds: request.testTimeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS
        },
        ctx
      );
    }
    await screenshot("final");
    return result;
  } catch (error) {
    const stage = boot.status === "passed" ? "after the boot" : "during the boot";
    boot.error ??= `the VM stage failed ${stage}: ${error instanceof Error ? error.message : String(error)}`;
    ctx.log.error(boot.error);
    return result;
  } finally {
    ctx.signal.removeEventListener("abort", closeSession);
    if (machine) boot.timeline = bootTimeline(machine.lines);
    await teardown(machine, session, ctx);
  }
}
function checkConsoleFingerprint(boot, machine, ctx) {
  const printed = (machine?.lines ?? []).map((line) => findFingerprint(line.text)).filter((f) => Boolean(f));
  if (!printed.length) return;
  const match = printed.find((f) => f === boot.hostKeyFingerprint);
  boot.consoleHostKeyFingerprint = match ?? printed[printed.length - 1];
  if (match) ctx.log.info(`The host key matches the fingerprint the console printed.`);
  else {
    ctx.log.warning(
      `The SSH host key (${boot.hostKeyFingerprint}) is not among the fingerprints the guest printed on its console (${printed.join(", ")}): SSH may not have reached this guest.`,
      { title: "Host key mismatch" }
    );
  }
}
function keepKvmAttemptLogs(vmDir) {
  for (const [from, to] of [
    ["serial.log", "serial-kvm.log"],
    ["qemu.log", "qemu-kvm.log"],
    ["qemu-args.txt", "qemu-args-kvm.txt"]
  ]) {
    if (existsSync4(join12(vmDir, from))) renameSync(join12(vmDir, from), join12(vmDir, to));
  }
}
async function teardown(machine, session, ctx) {
  if (session && machine?.running && !ctx.signal.aborted) {
    await session.exec("poweroff", { timeoutMs: 2e3 }).catch(() => void 0);
    await Promise.race([machine.exited, new Promise((r) => setTimeout(r, 5e3))]);
  }
  session?.close();
  if (machine) await machine.shutdown(ctx.signal.aborted ? 1e3 : 3e3);
}

// src/pipeline.ts
import { join as join13 } from "node:path";
function decideVerdict(report) {
  if (report.setup && !report.setup.ok) return { result: "setup-failed", decidedBy: "setup" };
  if (report.qemu?.status === "failed") return { result: "setup-failed", decidedBy: "qemu" };
  const failedBuild = report.builds.find((build) => build.status !== "passed");
  if (failedBuild) return { result: failedBuild.status, decidedBy: "build" };
  const vm = report.vm;
  if (vm?.boot.status === "failed") return { result: "boot-failed", decidedBy: "boot" };
  if (vm?.probes.some((probe) => probe.required && (probe.exitCode !== 0 || probe.timedOut))) {
    return { result: "probe-failed", decidedBy: "probes" };
  }
  if (vm?.test && (vm.test.exitCode !== 0 || vm.test.timedOut)) {
    return { result: "test-failed", decidedBy: "test" };
  }
  if (report.cancelled) {
    return vm ? { result: "boot-failed", decidedBy: "boot" } : { result: "build-failed", decidedBy: "build" };
  }
  return { result: "passed", decidedBy: null };
}
function buildContexts(inputs) {
  return inputs.buildIn === "both" ? ["host", "devshell"] : [inputs.buildIn];
}
var KVM_NOT_CHECKED_YET = {
  runsGuest: false,
  reason: "not checked before the build: QEMU is provisioned beside it (the kvm system feature only matters to derivations that require it)",
  durationMs: 0
};
async function runPipeline(inputs, ctx, hooks = {}) {
  const beside = { stopQemu: new AbortController() };
  try {
    return await runStages(inputs, ctx, hooks, beside);
  } finally {
    beside.stopQemu.abort();
    await beside.qemu;
    await beside.kvm;
    await beside.envDiff;
  }
}
async function runStages(inputs, ctx, hooks, beside) {
  const startedAt = Date.now();
  const report = {
    schemaVersion: 1,
    result: "passed",
    decidedBy: null,
    complete: false,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: "",
    stages: {},
    builds: []
  };
  const save = () => {
    Object.assign(report, decideVerdict(report), { finishedAt: (/* @__PURE__ */ new Date()).toISOString() });
    writeReportFiles(ctx.reportDir, report, renderSummary(report));
  };
  const stage = async (name, title, work, judge) => {
    const started = Date.now();
    const result = await ctx.log.group(title, work);
    report.stages[name] = { ...judge(result), durationMs: Date.now() - started };
    save();
    return result;
  };
  const cancelled = () => ctx.signal.aborted;
  const end = async () => {
    beside.stopQemu.abort();
    await beside.qemu;
    await beside.kvm;
    await beside.envDiff;
    return finish(report, save, ctx.signal);
  };
  const kvmCheck = (qemu2) => beside.kvm ??= inputs.kvm === "off" ? Promise.resolve({
    runsGuest: false,
    reason: "not checked: input 'kvm' is off",
    durationMs: 0
  }) : checkKvm({ qemu: qemu2 });
  const key = createEphemeralKey(ctx.tempDir);
  ctx.secrets.add(key.privateKey);
  hooks.onKey?.(key);
  let nixReady = () => {
  };
  const setupNixPromise = new Promise((r) => nixReady = r);
  const buildStop = new AbortController();
  let building = false;
  const qemu = await startQemu(
    inputs,
    ctx,
    { startedAt, nix: () => setupNixPromise },
    beside,
    (provision2) => {
      report.qemu = provision2;
      report.stages.qemu = qemuStageRecord(provision2);
      if (provision2.status === "ready" && provision2.binary) void kvmCheck(provision2.binary);
      if (provision2.status === "failed") {
        buildStop.abort();
        if (building) signalChildren("SIGTERM");
      }
      save();
    }
  );
  if (inputs.qemu === "path") await beside.qemu;
  const qemuFailed = () => report.qemu?.status === "failed";
  if (qemuFailed()) return end();
  const setupRun = stage(
    "setup",
    "Set up Nix",
    () => setupNix(
      {
        mode: inputs.nix,
        nixVersion: inputs.nixVersion,
        extraNixConf: inputs.extraNixConf,
        githubToken: inputs.githubToken,
        // Where Nix's own system features lack kvm, setup waits for this verdict to add it.
        // With QEMU already found it is the real check (the VM reuses it); while QEMU is still
        // being provisioned, setup does not wait for it: the kvm feature only matters to
        // derivations that require it (a NixOS test, not an ISO), and blocking the build on
        // provisioning for it would put apt or nixpkgs' QEMU on the critical path. The real
        // check runs once QEMU exists, for the boot.
        checkKvm: () => qemu.ready ? kvmCheck(qemu.ready) : Promise.resolve(KVM_NOT_CHECKED_YET)
      },
      ctx
    ),
    (result) => ({
      status: result.ok ? "passed" : "failed",
      detail: result.ok ? `${result.nix?.variant} ${result.nix?.version} (${result.nix?.storeMode}); KVM device: ${result.kvm.action}` : result.error ?? "failed"
    })
  );
  setupRun.then(
    (result) => nixReady(result.ok ? result.nix : void 0),
    () => nixReady(void 0)
  );
  const setup = await setupRun;
  report.setup = setup;
  hooks.onCleanupPaths?.(setup.cleanupPaths);
  hooks.onSetup?.(setup);
  const nix = setup.nix;
  if (!setup.ok || !nix || cancelled() || qemuFailed()) return end();
  const keyEnv = { [inputs.rootKeyEnv]: key.publicKeyPath };
  if (inputs.devshell) beside.envDiff = startEnvDiff(inputs, nix, keyEnv, ctx, report, save);
  const buildCtx = { ...ctx, signal: AbortSignal.any([ctx.signal, buildStop.signal]) };
  building = true;
  const builds = await runBuilds(inputs, nix, key, keyEnv, buildCtx, hooks, report, save);
  building = false;
  if (buildStop.signal.aborted && !cancelled()) {
    report.builds = builds.filter((build) => build.status === "passed");
    report.stages.build = {
      ...report.stages.build ?? { durationMs: 0 },
      status: "skipped",
      detail: "stopped: no source could provide QEMU (see the qemu stage)"
    };
    return end();
  }
  const iso = builds[0]?.isoPath;
  if (!iso || builds.some((build) => build.status !== "passed") || cancelled()) return end();
  const waitStarted = Date.now();
  if (!qemu.settled) ctx.log.info("The image is built; waiting for QEMU to be provisioned.");
  const provision = await beside.qemu;
  if (provision?.status !== "ready" || !provision.binary || cancelled()) return end();
  provision.bootWaitedMs = Date.now() - waitStarted;
  save();
  const provisioned = { binary: provision.binary, ovmf: provision.ovmf };
  await bootStage(inputs, iso, provisioned, key, kvmCheck, nix, ctx, hooks, report);
  return end();
}
async function startQemu(inputs, ctx, from, beside, settle) {
  const request = {
    mode: inputs.qemu,
    firmware: inputs.firmware,
    flake: inputs.flake,
    ...from
  };
  const state = { settled: false };
  const early = await qemuFromPath(request, ctx);
  if ("status" in early) state.ready = early.binary;
  const provisioning = "status" in early ? Promise.resolve(early) : provisionQemu(request, ctx, { stop: beside.stopQemu.signal, cancel: ctx.signal }, [early]);
  beside.qemu = provisioning.then((provision) => {
    state.settled = true;
    settle(provision);
    return provision;
  });
  return state;
}
function qemuStageRecord(provision) {
  const spent = provision.attempts.reduce((sum, a) => sum + a.durationMs, 0);
  const status = provision.status === "ready" ? "passed" : provision.status === "failed" ? "failed" : "skipped";
  return { status, durationMs: spent, detail: describeProvision(provision) };
}
function startEnvDiff(inputs, nix, keyEnv, ctx, report, save) {
  const started = Date.now();
  const log = labelledLog(ctx.log, "env diff");
  log.info(`Diffing the build environment against ${inputs.devshell}, beside the build`);
  return diffBuildEnvironment(
    nix,
    { flake: inputs.flake, image: inputs.image, devshell: inputs.devshell, keyEnv },
    { ...ctx, log }
  ).then(
    (result) => {
      report.envDiff = result;
      return {
        status: result.ok ? "passed" : "warning",
        detail: result.ok ? result.verdicts[0] ?? "no differences" : result.error ?? "failed"
      };
    },
    (error) => ({
      status: "warning",
      detail: `the env diff failed: ${errorMessage(error)}`
    })
  ).then((record) => {
    report.stages["env-diff"] = { ...record, durationMs: Date.now() - started };
    save();
  });
}
function labelledLog(log, label) {
  return {
    info: (message) => log.info(`[${label}] ${message}`),
    debug: (message) => log.debug(`[${label}] ${message}`),
    warning: (message, annotation) => log.warning(message, annotation),
    error: (message, annotation) => log.error(message, annotation),
    group: (_name, fn) => fn()
  };
}
async function runBuilds(inputs, nix, key, keyEnv, ctx, hooks, report, save) {
  const cancelled = () => ctx.signal.aborted;
  const contexts = buildContexts(inputs);
  const restore = inputs.cache ? await ctx.log.group(
    "Restore the image cache",
    () => restoreImageCache(
      nix,
      {
        flake: inputs.flake,
        image: inputs.image,
        keyEnv,
        buildDir: join13(ctx.reportDir, "build"),
        timeoutSeconds: inputs.cacheTimeoutSeconds
      },
      ctx
    )
  ) : { status: "disabled", hit: false, detail: "input 'cache' is false" };
  report.cache = cacheReport(restore);
  const builds = [];
  const started = Date.now();
  for (const [index, context] of contexts.entries()) {
    if (cancelled()) break;
    const dir = context === "devshell" && contexts.length > 1 ? "build/devshell" : "build";
    const buildEnv = index === 0 ? keyEnv : { [inputs.rootKeyEnv]: contextKey(key, context, ctx) };
    const build = await ctx.log.group(
      `Build ${inputs.image} (${context})`,
      () => buildImage(
        nix,
        {
          flake: inputs.flake,
          image: inputs.image,
          context,
          devshell: inputs.devshell || void 0,
          env: buildEnv,
          dir: join13(ctx.reportDir, dir),
          drvPath: index === 0 && context === "host" ? restore.drvPath : void 0
        },
        ctx
      )
    );
    builds.push(build);
    report.builds = builds;
    save();
  }
  const judged = judgeBuilds(builds, cancelled());
  report.stages.build = {
    ...judged,
    detail: `${judged.detail}; cache: ${restore.status}`,
    durationMs: Date.now() - started
  };
  save();
  if (restore.key && !cancelled()) {
    const devshellUsed = Boolean(inputs.devshell) || contexts.includes("devshell");
    const envPath = devshellUsed && inputs.devshell ? await devshellEnvPath(nix, `${inputs.flake}#${inputs.devshell}`, keyEnv, ctx.tempDir) : void 0;
    const state = cacheSaveState(restore, nix, {
      roots: [
        ...builds.flatMap((b) => b.outPath ? [b.outPath] : []),
        ...envPath ? [envPath] : []
      ],
      drvPaths: builds.flatMap((b) => b.drvPath ? [b.drvPath] : []),
      maxSizeMiB: inputs.cacheMaxSizeMiB,
      timeoutSeconds: inputs.cacheTimeoutSeconds
    });
    if (state) hooks.onCacheSave?.(state);
  }
  return builds;
}
async function bootStage(inputs, iso, qemu, key, kvmCheck, nix, ctx, hooks, report) {
  const vmStarted = Date.now();
  const vm = await runVm(
    {
      iso,
      firmware: inputs.firmware,
      qemu: qemu.binary,
      ovmf: qemu.ovmf,
      memoryMiB: inputs.memoryMiB,
      cpus: inputs.cpus,
      kvm: inputs.kvm,
      kvmCheck: inputs.kvm === "off" ? void 0 : await kvmCheck(qemu.binary),
      bootTimeoutSeconds: inputs.bootTimeoutSeconds,
      privateKeyPath: key.privateKeyPath,
      probes: inputs.probes,
      testCommand: inputs.testCommand,
      testTimeoutSeconds: inputs.testTimeoutSeconds,
      onQemuStarted: hooks.onQemuStarted
    },
    // The test command runs with the action's Nix, as later steps do.
    { ...ctx, env: withNixStepEnv(ctx.env, nixStepEnv(nix, ctx.env)) }
  );
  report.vm = vm;
  const boot = vm.boot;
  report.stages.boot = {
    status: boot.status === "passed" ? "passed" : "failed",
    durationMs: Date.now() - vmStarted,
    detail: boot.status === "passed" ? `SSH ready after ${boot.bootSeconds?.toFixed(1)} s under ${boot.accel}` : boot.error ?? "boot failed"
  };
  if (boot.status !== "passed") return;
  const failed2 = vm.probes.filter((probe) => probe.exitCode !== 0 || probe.timedOut);
  const failedRequired2 = failed2.filter((probe) => probe.required);
  report.stages.probes = {
    status: failedRequired2.length ? "failed" : failed2.length ? "warning" : "passed",
    durationMs: vm.probes.reduce((sum, probe) => sum + probe.durationMs, 0),
    detail: `${vm.probes.length - failed2.length}/${vm.probes.length} passed${failed2.length ? `; failed: ${failed2.map((probe) => probe.name).join(", ")}` : ""}`
  };
  if (vm.test) {
    report.stages.test = {
      status: vm.test.exitCode === 0 && !vm.test.timedOut ? "passed" : "failed",
      durationMs: vm.test.durationMs,
      detail: vm.test.timedOut ? "timed out" : `exit code ${vm.test.exitCode}`
    };
  }
}
function contextKey(key, context, ctx) {
  const extra = createEphemeralKey(join13(key.dir, context));
  ctx.secrets.add(extra.privateKey);
  ctx.log.info(
    `${context} build: its own ephemeral key, so Nix builds it instead of reusing the store`
  );
  return extra.publicKeyPath;
}
function judgeBuilds(builds, cancelled) {
  const failed2 = builds.filter((build) => build.status !== "passed");
  const status = failed2.length || cancelled ? "failed" : "passed";
  const describe = (build) => build.status === "passed" ? `${build.context}: built` : `${build.context}: ${build.status}${build.failures.length ? ` (${build.failures.map((f) => f.name).join(", ")})` : ""}`;
  return {
    status,
    detail: [...builds.map(describe), ...cancelled ? ["cancelled"] : []].join("; ")
  };
}
function finish(report, save, signal) {
  report.complete = true;
  if (signal?.aborted) report.cancelled = true;
  save();
  return report;
}

// src/report/baseline-file.ts
import { readFileSync as readFileSync4, statSync as statSync2, writeFileSync as writeFileSync4 } from "node:fs";
import { join as join15 } from "node:path";

// src/report/annotations.ts
import { readFileSync as readFileSync3 } from "node:fs";
import { join as join14 } from "node:path";
var MAX_PROBE_ERRORS = 5;
var MAX_MESSAGE = 4e3;
var clip = (text) => text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE - 1) + "\u2026" : text;
function probeOutputReader(reportDir) {
  return (file) => {
    try {
      return readFileSync3(join14(reportDir, file), "utf8");
    } catch {
      return void 0;
    }
  };
}
function annotateBuilds(report, log) {
  for (const build of report.builds) {
    if (build.status === "eval-failed") {
      log.error(clip(build.error ?? "Nix could not evaluate the image."), {
        title: `Evaluation failed (${build.context})`
      });
    } else if (build.status === "build-failed" && build.failures.length === 0) {
      log.error(clip(build.error ?? "nix build failed; see build/build.log in the artifact."), {
        title: `Build failed (${build.context})`
      });
    }
  }
}
function annotateBoot(report, log) {
  const boot = report.vm?.boot;
  if (boot?.status !== "failed") return;
  const parts = [boot.error ?? "The image did not boot to a working SSH server."];
  if (boot.panic) parts.push(`Console: ${boot.panic}`);
  parts.push("See vm/serial.log and vm/*.png in the artifact.");
  log.error(clip(parts.join("\n")), { title: "Boot failed" });
}
function failedRequired(probe) {
  return probe.required && (probe.exitCode !== 0 || probe.timedOut || probe.missing);
}
function describeProbe(probe) {
  if (probe.timedOut) return `timed out after ${Math.round(probe.durationMs / 1e3)} s`;
  if (probe.missing) return "its command was not found on the guest";
  if (probe.exitCode === null) return `ended by ${probe.signal ?? "a signal"}`;
  return `exited with code ${probe.exitCode}`;
}
function annotateProbes(report, log) {
  const failed2 = (report.vm?.probes ?? []).filter(failedRequired);
  for (const probe of failed2.slice(0, MAX_PROBE_ERRORS)) {
    log.error(clip(`\`${probe.command}\` ${describeProbe(probe)}. Output: ${probe.file}.`), {
      title: `Probe ${probe.name} failed`
    });
  }
  const rest = failed2.slice(MAX_PROBE_ERRORS);
  if (rest.length) {
    log.error(clip(`Also failed: ${rest.map((p) => p.name).join(", ")}. See probes/.`), {
      title: `${rest.length} more required probes failed`
    });
  }
}
function annotateTest(report, log) {
  const test = report.vm?.test;
  if (!test || test.exitCode === 0 && !test.timedOut) return;
  const what = test.timedOut ? "timed out" : `exited with code ${test.exitCode ?? "none"}`;
  log.error(`The test command ${what}. Output: ${test.file}.`, { title: "Test failed" });
}
function failedUnits(output) {
  const unit = /^\s*[●*]?\s*(\S+\.(?:service|socket|mount|automount|target|timer|path|device|swap|scope|slice))\s/;
  return output.split("\n").map((line) => unit.exec(line)?.[1]).filter((name) => Boolean(name));
}
function probeStdout(text) {
  const start = text.indexOf("--- stdout ---\n");
  if (start < 0) return text;
  const body = text.slice(start + "--- stdout ---\n".length);
  const end = body.lastIndexOf("--- stderr ---");
  return end < 0 ? body : body.slice(0, end);
}
function annotateGuestHealth(report, log, read) {
  const probes = report.vm?.probes ?? [];
  const stdout = (file) => {
    const text = read?.(file);
    return text === void 0 ? void 0 : probeStdout(text);
  };
  const state = probes.find((p) => p.name === "system-state");
  if (state && !failedRequired(state)) {
    const output = stdout(state.file)?.trim();
    const last = output?.split("\n").pop()?.trim();
    if (last !== void 0 && last !== "running") {
      log.warning(`systemctl is-system-running says '${last}', not 'running'.`, {
        title: "Guest degraded"
      });
    } else if (last === void 0 && state.exitCode !== 0) {
      log.warning(`The system-state probe ${describeProbe(state)}: the guest is not 'running'.`, {
        title: "Guest degraded"
      });
    }
  }
  const units = probes.find((p) => p.name === "failed-units");
  const names = units ? failedUnits(stdout(units.file) ?? "") : [];
  if (names.length) {
    const shown = names.slice(0, 20).join(", ") + (names.length > 20 ? ", \u2026" : "");
    log.warning(`Failed units on the guest: ${shown}. See ${units?.file}.`, {
      title: `${names.length} failed unit${names.length === 1 ? "" : "s"}`
    });
  }
}
function annotateUpload(report, log) {
  const upload = report.upload;
  if (!upload) return;
  if (upload.status === "failed") {
    log.warning(clip(`The report was not uploaded: ${upload.detail}`), { title: "Upload failed" });
  }
  if (upload.withheld.length) {
    log.warning(
      clip(`Withheld from the artifact because they held a secret: ${upload.withheld.join(", ")}`),
      { title: "Files withheld" }
    );
  }
}
function annotate(report, log, read) {
  annotateBuilds(report, log);
  annotateBoot(report, log);
  annotateProbes(report, log);
  annotateTest(report, log);
  annotateGuestHealth(report, log, read);
  annotateUpload(report, log);
}

// src/report/baseline-file.ts
var BASELINE_FILE = "baseline.json";
function parseClosureSize(json) {
  try {
    const value = JSON.parse(json);
    const entries = Array.isArray(value) ? value : Object.values(value);
    const size = entries[0]?.closureSize;
    return typeof size === "number" ? size : void 0;
  } catch {
    return void 0;
  }
}
async function closureBytes(nix, outPath) {
  const result = await run(nix.nixPath, ["path-info", "--closure-size", "--json", outPath], {
    env: { ...process.env, ...nix.env }
  });
  return result.exitCode === 0 ? parseClosureSize(result.stdout) : void 0;
}
async function currentBaseline(report, reportDir, facts) {
  const build = report.builds.find((b) => b.status === "passed" && b.outPath);
  const sizes = {};
  if (build?.isoPath) {
    try {
      sizes.isoBytes = statSync2(build.isoPath).size;
    } catch {
    }
  }
  const nix = report.setup?.nix;
  if (nix && build?.outPath) sizes.closureBytes = await closureBytes(nix, build.outPath);
  return baselineFrom(report, probeOutputReader(reportDir), { ...facts, ...sizes });
}
function writeBaselineFile(reportDir, baseline) {
  const path = join15(reportDir, BASELINE_FILE);
  writeFileSync4(path, baselineJson(baseline), { mode: 420 });
  return path;
}
function readBaselineFile(path) {
  let text;
  try {
    text = readFileSync4(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the baseline ${path}: ${error.message}`);
  }
  try {
    return parseBaseline(text);
  } catch (error) {
    throw new Error(`the baseline ${path} is unusable: ${error.message}`);
  }
}
function writeBootHistory(reportDir, comparison, log) {
  if (!comparison.history?.length) return;
  try {
    writeFileSync4(join15(reportDir, BOOT_HISTORY_FILE), bootHistoryCsv(comparison.history), {
      mode: 420
    });
  } catch (error) {
    log?.warning(`${BOOT_HISTORY_FILE} was not written: ${errorMessage(error)}`);
  }
}

// src/report/outputs.ts
var EXIT_CODES = {
  passed: 0,
  "internal-error": 1,
  "setup-failed": 2,
  "eval-failed": 3,
  "build-failed": 4,
  "boot-failed": 5,
  "probe-failed": 6,
  "test-failed": 7
};
function exitCodeFor(result) {
  return EXIT_CODES[result];
}
function primaryBuild(builds) {
  return builds.find((b) => b.status === "passed" && b.outPath) ?? builds.find((b) => b.drvPath) ?? builds[0];
}
function failedDrvs(builds) {
  const seen = /* @__PURE__ */ new Set();
  const list = [];
  for (const build of builds) {
    for (const f of build.failures) {
      if (seen.has(f.drv)) continue;
      seen.add(f.drv);
      list.push({ drv: f.drv, name: f.name, reason: f.reason, exitCode: f.exitCode, log: f.log });
    }
  }
  return JSON.stringify(list);
}
function seconds(value) {
  if (value === void 0 || !Number.isFinite(value)) return "";
  return String(Math.round(value * 10) / 10);
}
function actionOutputs(report, context) {
  const build = primaryBuild(report.builds);
  const boot = report.vm?.boot;
  const upload = report.upload;
  return {
    result: report.result,
    "iso-path": build?.isoPath ?? "",
    "out-path": build?.outPath ?? "",
    "drv-path": build?.drvPath ?? "",
    "failed-drvs": failedDrvs(report.builds),
    accel: boot?.accel ?? "",
    "boot-seconds": boot?.status === "passed" ? seconds(boot.bootSeconds) : "",
    "nix-version": context.nixVersion ?? report.setup?.nix?.version ?? "",
    "report-dir": context.reportDir,
    "artifact-id": upload?.artifactId === void 0 ? "" : String(upload.artifactId),
    "artifact-url": upload?.artifactUrl ?? "",
    regressions: JSON.stringify(report.comparison?.regressions ?? [])
  };
}

export {
  INPUT_DEFAULTS,
  InputError,
  parseInputs,
  nixStepEnv,
  missingPaths,
  Secrets,
  runPipeline,
  probeOutputReader,
  annotate,
  currentBaseline,
  writeBaselineFile,
  readBaselineFile,
  writeBootHistory,
  EXIT_CODES,
  exitCodeFor,
  actionOutputs
};
