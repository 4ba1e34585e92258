import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  debug,
  error,
  exec,
  group,
  info,
  warning
} from "./chunk-3BV2LLEE.js";

// src/log.ts
var actionsLog = {
  info: (message) => info(message),
  debug: (message) => debug(message),
  warning: (message, annotation) => warning(message, annotation ?? {}),
  error: (message, annotation) => error(message, annotation ?? {}),
  group: (name, fn) => group(name, fn)
};
function consoleLog(write = (line) => process.stderr.write(line + "\n")) {
  const titled = (level, message, annotation) => `${level}: ${annotation?.title ? annotation.title + ": " : ""}${message}`;
  return {
    info: (message) => write(message),
    debug: (message) => {
      if (process.env.BOOT_IMAGE_VM_DEBUG) write(`debug: ${message}`);
    },
    warning: (message, annotation) => write(titled("warning", message, annotation)),
    error: (message, annotation) => write(titled("error", message, annotation)),
    group: async (name, fn) => {
      write(`\u2500\u2500 ${name}`);
      return fn();
    }
  };
}

// src/process.ts
import { readdirSync, readFileSync } from "node:fs";
var LineSplitter = class {
  constructor(onLine) {
    this.onLine = onLine;
  }
  onLine;
  pending = "";
  push(chunk) {
    const parts = (this.pending + chunk).split("\n");
    this.pending = parts.pop() ?? "";
    for (const part of parts) this.onLine(part.endsWith("\r") ? part.slice(0, -1) : part);
  }
  end() {
    if (this.pending) this.onLine(this.pending);
    this.pending = "";
  }
};
async function run(command, args, options = {}) {
  const stdout = [];
  const stderr = [];
  const outLines = new LineSplitter((line) => options.onStdoutLine?.(line));
  const errLines = new LineSplitter((line) => options.onStderrLine?.(line));
  try {
    const exitCode = await exec(command, args, {
      cwd: options.cwd,
      env: stringEnv(options.env ?? process.env),
      input: options.input === void 0 ? void 0 : Buffer.from(options.input),
      silent: true,
      ignoreReturnCode: true,
      listeners: {
        stdout: (data) => {
          const text2 = data.toString();
          stdout.push(text2);
          outLines.push(text2);
        },
        stderr: (data) => {
          const text2 = data.toString();
          stderr.push(text2);
          errLines.push(text2);
        }
      }
    });
    outLines.end();
    errLines.end();
    return { exitCode, stdout: stdout.join(""), stderr: stderr.join("") };
  } catch (error2) {
    return {
      exitCode: null,
      stdout: stdout.join(""),
      stderr: stderr.join(""),
      startError: errorMessage(error2)
    };
  }
}
function stringEnv(env) {
  const out = {};
  for (const [name, value] of Object.entries(env)) if (value !== void 0) out[name] = value;
  return out;
}
function errorMessage(error2) {
  return error2 instanceof Error ? error2.message : String(error2);
}
function signalChildren(signal = "SIGTERM") {
  const pids = [];
  let tasks = [];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return pids;
  }
  for (const task of tasks) {
    let children = "";
    try {
      children = readFileSync(`/proc/self/task/${task}/children`, "utf8");
    } catch {
      continue;
    }
    for (const pid of children.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, signal);
        pids.push(pid);
      } catch {
      }
    }
  }
  return pids;
}

// src/nix/setup.ts
import { constants as constants2, rmSync } from "node:fs";
import { access as access2, mkdir as mkdir4, statfs, writeFile as writeFile4 } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join as join3 } from "node:path";

// src/nix/capabilities.ts
var VERSION_LINE = /^(?:\S+\s+)?\((?<product>[^)]*)\)\s+(?<version>\d+(?:\.\d+){1,2}\S*)\s*$/;
function parseNixVersion(text2) {
  const lines2 = text2.replace(/\r/g, "").split("\n").map((line) => line.trim()).filter(Boolean);
  for (const line of lines2) {
    const match = VERSION_LINE.exec(line);
    if (!match?.groups) continue;
    const { product, version } = match.groups;
    return { version, variant: variantOf(product) };
  }
  const shown = lines2[0] ?? "(no output)";
  throw new Error(
    `Cannot read the Nix version from \`nix --version\` output '${shown.slice(0, 200)}': expected e.g. 'nix (Nix) 2.26.3', 'nix (Lix, like Nix) 2.91.1' or 'nix (Determinate Nix 3.6.2) 2.29.0'.`
  );
}
function variantOf(product) {
  if (/^lix\b/i.test(product)) return "lix";
  if (/determinate/i.test(product)) return "determinate";
  return "nix";
}
function numbers(version) {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  if (!match) return [0, 0, 0];
  return [match[1], match[2], match[3]].map((part) => part === void 0 ? 0 : Number(part));
}
function compareVersions(a, b) {
  const left = numbers(a);
  const right = numbers(b);
  for (let index = 0; index < 3; index++) {
    if (left[index] !== right[index]) return left[index] - right[index];
  }
  return 0;
}
var atLeast = (version, minimum) => compareVersions(version, minimum) >= 0;
function capabilitiesFor(version, variant) {
  if (variant === "lix") {
    return {
      printOutPaths: true,
      configShow: ["config", "show"],
      derivationShow: ["derivation", "show"],
      storeInfo: ["store", "ping"],
      jsonLogPath: false
    };
  }
  return {
    printOutPaths: atLeast(version, "2.12"),
    configShow: atLeast(version, "2.20") ? ["config", "show"] : ["show-config"],
    derivationShow: atLeast(version, "2.15") ? ["derivation", "show"] : ["show-derivation"],
    storeInfo: atLeast(version, "2.19") ? ["store", "info"] : ["store", "ping"],
    jsonLogPath: atLeast(version, "2.30")
  };
}

// src/nix/install.ts
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
var PINNED_NIX_VERSION = "2.35.2";
var INSTALLER_SHA256 = {
  "2.35.2": "9adda97297d9e8ab360df95c729eabff4f4f93d6db091953c3a68f29e3fb130c"
};
var INSTALLER_URL_ENV = "BOOT_IMAGE_VM_NIX_INSTALLER_URL";
var DEFAULT_INSTALLER_BASE = "https://releases.nixos.org/nix";
function resolveInstallerPin(requested) {
  const text2 = requested.trim();
  if (!text2) return { version: PINNED_NIX_VERSION, sha256: INSTALLER_SHA256[PINNED_NIX_VERSION] };
  const match = /^(?<version>\d+\.\d+\.\d+)(?:@sha256:(?<sha256>[0-9a-fA-F]{64}))?$/.exec(text2);
  if (!match?.groups) {
    throw new Error(
      `nix-version '${text2}' is not a version like '2.35.2' or '2.35.2@sha256:<64 hex digits>'.`
    );
  }
  const { version, sha256 } = match.groups;
  if (sha256) return { version, sha256: sha256.toLowerCase() };
  const known = INSTALLER_SHA256[version];
  if (known) return { version, sha256: known };
  throw new Error(
    `nix-version '${version}': this action has no verified hash for that installer (it knows ${Object.keys(INSTALLER_SHA256).join(", ")}). Give one as '${version}@sha256:<sha256 of ${DEFAULT_INSTALLER_BASE}/nix-${version}/install>'.`
  );
}
function installerUrl(version, env) {
  const base = (env[INSTALLER_URL_ENV] || DEFAULT_INSTALLER_BASE).replace(/\/+$/, "");
  return `${base}/nix-${version}/install`;
}
var FinalDownloadError = class extends Error {
};
async function downloadVerified(url, expectedSha256, options = {}) {
  const attempts = options.attempts ?? 3;
  let wait = options.backoffMs ?? 2e3;
  let lastError = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const body = await fetchOnce(url, options);
      const actual = createHash("sha256").update(body).digest("hex");
      if (actual !== expectedSha256.toLowerCase()) {
        throw new FinalDownloadError(
          `Checksum mismatch for ${url}: expected sha256 ${expectedSha256.toLowerCase()}, got ${actual}. Refusing to run it.`
        );
      }
      return body;
    } catch (error2) {
      if (error2 instanceof FinalDownloadError || options.signal?.aborted) throw error2;
      lastError = errorMessage(error2);
      if (attempt === attempts) break;
      options.onRetry?.(
        `Downloading ${url} failed (${lastError}); attempt ${attempt + 1} of ${attempts} in ${wait} ms.`
      );
      await delay(wait, options.signal);
      wait *= 2;
    }
  }
  throw new Error(`Could not download ${url} after ${attempts} attempts: ${lastError}`);
}
async function fetchOnce(url, options) {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 6e4);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response;
  try {
    response = await fetch(url, { signal, redirect: "follow" });
  } catch (error2) {
    const cause = error2.cause;
    const detail = cause?.code ?? cause?.message ?? errorMessage(error2);
    throw new Error(timeout.aborted ? "timed out" : `network error: ${detail}`);
  }
  if (response.status >= 400 && response.status < 500) {
    throw new FinalDownloadError(
      `Could not download ${url}: HTTP ${response.status} ${response.statusText} (not retried).`
    );
  }
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return Buffer.from(await response.arrayBuffer());
}
function delay(ms, signal) {
  return new Promise((resolve3, reject) => {
    const timer = setTimeout(resolve3, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new Error("cancelled"));
      },
      { once: true }
    );
  });
}
function installerFlags(daemon, extraConfFile) {
  const mode = daemon ? "--daemon" : "--no-daemon";
  return [mode, "--yes", "--no-channel-add", "--nix-extra-conf-file", extraConfFile];
}
async function installNix(options, ctx) {
  const pin = resolveInstallerPin(options.nixVersion);
  const url = installerUrl(pin.version, ctx.env);
  const dir = join(ctx.tempDir, "nix-installer");
  await mkdir(dir, { recursive: true });
  ctx.log.info(`Downloading the Nix ${pin.version} installer from ${url}`);
  const script = await downloadVerified(url, pin.sha256, {
    signal: ctx.signal,
    onRetry: (message) => ctx.log.warning(message),
    ...options.download
  });
  const scriptPath = join(dir, "install");
  await writeFile(scriptPath, script, { mode: 448 });
  await chmod(scriptPath, 448);
  const user = ctx.env.USER || safeUserName();
  const extraConf = join(dir, "extra.conf");
  await writeFile(
    extraConf,
    [
      "experimental-features = nix-command flakes",
      "max-jobs = auto",
      `trusted-users = root${user && user !== "root" ? " " + user : ""}`,
      ""
    ].join("\n")
  );
  const daemon = existsSync(options.systemdDir ?? "/run/systemd/system");
  const flags = installerFlags(daemon, extraConf);
  ctx.log.info(
    `Running the verified installer (sha256 ${pin.sha256}): sh install ${flags.join(" ")}`
  );
  const tail = [];
  const keep = (line) => {
    ctx.log.info(line);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  const result = await run("sh", [scriptPath, ...flags], {
    env: { ...ctx.env, USER: user || "root" },
    onStdoutLine: keep,
    onStderrLine: keep
  });
  if (result.exitCode !== 0) {
    const why = result.startError ?? `exit code ${result.exitCode}`;
    throw new Error(
      `The Nix ${pin.version} installer failed (${why}). Its last lines:
${tail.join("\n")}`
    );
  }
  return {
    version: pin.version,
    flags,
    changes: [
      `installed Nix ${pin.version} (${daemon ? "multi-user, with the daemon" : "single-user"}) with the installer from ${url}, sha256 ${pin.sha256} verified before it ran`,
      `the installer wrote the system nix.conf with: experimental-features = nix-command flakes, max-jobs = auto, trusted-users = root${user && user !== "root" ? " " + user : ""}`
    ]
  };
}
function safeUserName() {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

// src/nix/setup-config.ts
import { existsSync as existsSync2 } from "node:fs";
import { chmod as chmod2, mkdir as mkdir2, writeFile as writeFile2 } from "node:fs/promises";
import { join as join2 } from "node:path";
function userConfFiles(env) {
  if (env.NIX_USER_CONF_FILES !== void 0) {
    return env.NIX_USER_CONF_FILES.split(":").filter(Boolean);
  }
  const home = env.HOME ?? "";
  const configHome = env.XDG_CONFIG_HOME || (home ? join2(home, ".config") : "");
  const configDirs = (env.XDG_CONFIG_DIRS || "/etc/xdg").split(":").filter(Boolean);
  return [configHome, ...configDirs].filter(Boolean).map((dir) => join2(dir, "nix", "nix.conf")).filter((file) => existsSync2(file));
}
function dropInText(options) {
  const lines2 = [
    "# Written by boot-image-vm for its own nix calls (through NIX_USER_CONF_FILES).",
    "# Your nix.conf files are not changed and still apply; settings here take precedence.",
    "extra-experimental-features = nix-command flakes"
  ];
  if (options.kvm) lines2.push("extra-system-features = kvm");
  if (options.extraNixConf.length) {
    lines2.push("# From the extra-nix-conf input:", ...options.extraNixConf);
  }
  if (options.tokenPath) lines2.push(`!include ${options.tokenPath}`);
  return lines2.join("\n") + "\n";
}
async function writeDropIn(options) {
  await mkdir2(options.dir, { recursive: true, mode: 448 });
  const changes = [];
  let tokenPath;
  if (options.githubToken) {
    options.secrets.add(options.githubToken);
    tokenPath = join2(options.dir, "access-tokens.conf");
    await writeFile2(tokenPath, `access-tokens = github.com=${options.githubToken}
`, {
      mode: 384
    });
    await chmod2(tokenPath, 384);
    changes.push(`wrote the GitHub access token to ${tokenPath} (mode 0600; post deletes it)`);
  }
  const confPath = join2(options.dir, "nix.conf");
  await writeFile2(
    confPath,
    dropInText({ extraNixConf: options.extraNixConf, kvm: options.kvm, tokenPath })
  );
  const files = [confPath, ...userConfFiles(options.env).filter((file) => file !== confPath)];
  const env = { NIX_USER_CONF_FILES: files.join(":") };
  changes.push(
    `wrote the action's Nix configuration ${confPath} (nix-command flakes${options.kvm ? ", system feature kvm" : ""}${options.extraNixConf.length ? `, ${options.extraNixConf.length} extra-nix-conf line(s)` : ""})`,
    `set NIX_USER_CONF_FILES=${env.NIX_USER_CONF_FILES} for every nix call and later steps`
  );
  return { confPath, tokenPath, env, changes };
}
function parseConfigText(text2) {
  const settings = {};
  for (const line of text2.split("\n")) {
    const match = /^([A-Za-z0-9-]+) = ?(.*)$/.exec(line.trimEnd());
    if (match) settings[match[1]] = match[2];
  }
  return settings;
}
function experimentalFeatures(config, textValue) {
  const value = config["experimental-features"]?.value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  if (textValue !== void 0) return textValue.split(/\s+/).filter(Boolean);
  return void 0;
}
function redactConfig(config, secrets) {
  const copy = JSON.parse(JSON.stringify(config));
  const tokens = copy["access-tokens"];
  if (tokens) {
    for (const key of ["value", "defaultValue"]) {
      const held = tokens[key];
      if (held && typeof held === "object") {
        tokens[key] = Object.fromEntries(Object.keys(held).map((host) => [host, "***"]));
      } else if (typeof held === "string" && held) {
        tokens[key] = "***";
      }
    }
  }
  return JSON.parse(secrets.redact(JSON.stringify(copy)));
}
async function effectiveConfig(nixPath, configShow, env) {
  const result = await run(nixPath, [...configShow, "--json"], { env });
  if (result.exitCode !== 0) {
    return {
      error: `nix ${configShow.join(" ")} --json: ${result.startError ?? result.stderr.trim()}`
    };
  }
  let json;
  try {
    json = JSON.parse(result.stdout);
  } catch (error2) {
    return { error: `nix ${configShow.join(" ")} --json printed no JSON: ${errorMessage(error2)}` };
  }
  let features = experimentalFeatures(json);
  if (!features) {
    const text2 = await run(nixPath, configShow, { env });
    features = experimentalFeatures(json, parseConfigText(text2.stdout)["experimental-features"]);
    if (features)
      json["experimental-features"] = { ...json["experimental-features"], value: features };
  }
  return { json, features };
}
function storeModeFor(store, stateDirWritable, socketExists) {
  const uri = store.trim() || "auto";
  if (uri === "daemon" || uri.startsWith("unix://")) {
    return { mode: "daemon", reason: `store '${uri}' is the daemon` };
  }
  if (uri === "local" || uri.startsWith("/") || uri.startsWith("local?") || uri.startsWith("local://")) {
    return { mode: "in-process", reason: `store '${uri}' is a local store opened in-process` };
  }
  if (uri !== "auto") return { mode: "daemon", reason: `store '${uri}' is a remote store` };
  if (stateDirWritable) {
    return { mode: "in-process", reason: "store 'auto' and the state directory is writable" };
  }
  if (socketExists) {
    return {
      mode: "daemon",
      reason: "store 'auto', state directory read-only, daemon socket exists"
    };
  }
  return { mode: "in-process", reason: "store 'auto' and no daemon socket" };
}

// src/nix/setup-kvm.ts
import { constants } from "node:fs";
import { access, mkdir as mkdir3, readFile, writeFile as writeFile3 } from "node:fs/promises";
import { dirname } from "node:path";
var KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"\n';
var KVM_UDEV_RULE_PATH = "/etc/udev/rules.d/99-boot-image-vm-kvm.rules";
function defaultKvmDeviceOptions() {
  return {
    devicePath: "/dev/kvm",
    rulePath: KVM_UDEV_RULE_PATH,
    udevadm: "udevadm",
    isRoot: process.getuid?.() === 0,
    exists: (path) => access(path, constants.F_OK).then(
      () => true,
      () => false
    ),
    usable: (path) => access(path, constants.R_OK | constants.W_OK).then(
      () => true,
      () => false
    )
  };
}
async function ensureKvmDevice(options, log) {
  const device = options.devicePath;
  if (!await options.exists(device)) {
    return {
      kvm: { action: `no ${device} on this machine (nothing to do)`, deviceUsable: false },
      changes: []
    };
  }
  if (await options.usable(device)) {
    return { kvm: { action: `${device} already usable`, deviceUsable: true }, changes: [] };
  }
  log.info(`${device} exists but is not read-write for this process: installing a udev rule.`);
  const changes = [];
  const step = async (what, result) => {
    if (result.exitCode === 0) return void 0;
    const detail = (result.startError ?? result.stderr.trim()) || `exit code ${result.exitCode}`;
    return `${what} failed: ${detail.split("\n").slice(-3).join(" ")}`;
  };
  const sudo = (command, args, input) => options.isRoot ? run(command, args, { input }) : run("sudo", ["-n", command, ...args], { input });
  let failure;
  const current = await readFile(options.rulePath, "utf8").catch(() => void 0);
  if (current === KVM_UDEV_RULE) {
    changes.push(`udev rule ${options.rulePath} was already in place`);
  } else if (options.isRoot) {
    try {
      await mkdir3(dirname(options.rulePath), { recursive: true });
      await writeFile3(options.rulePath, KVM_UDEV_RULE, { mode: 420 });
      changes.push(`installed udev rule ${options.rulePath}: ${KVM_UDEV_RULE.trim()}`);
    } catch (error2) {
      failure = `writing ${options.rulePath} failed: ${error2.message}`;
    }
  } else {
    failure = await step(
      `sudo -n tee ${options.rulePath}`,
      await sudo("tee", [options.rulePath], KVM_UDEV_RULE)
    );
    if (!failure)
      changes.push(`installed udev rule ${options.rulePath} (via sudo): ${KVM_UDEV_RULE.trim()}`);
  }
  if (!failure) {
    failure = await step(
      "udevadm control --reload-rules",
      await sudo(options.udevadm, ["control", "--reload-rules"])
    );
  }
  if (!failure) {
    failure = await step(
      "udevadm trigger --name-match=kvm",
      await sudo(options.udevadm, ["trigger", "--name-match=kvm"])
    );
    if (!failure) changes.push("reloaded udev rules and re-triggered the kvm device");
  }
  const usable = await waitUntilUsable(options);
  const how = options.isRoot ? "" : " (via sudo -n)";
  const action = failure ? `${device} was not read-write; udev rule not applied${how}: ${failure}` + (usable ? ` (it is usable now anyway)` : "") : usable ? `udev rule installed${how}; ${device} is now read-write` : `udev rule installed${how}, but ${device} is still not read-write for this process`;
  if (!usable) log.warning(action, { title: "KVM device" });
  return { kvm: { action, deviceUsable: usable }, changes };
}
async function waitUntilUsable(options) {
  const deadline = Date.now() + (options.settleMs ?? 3e3);
  for (; ; ) {
    if (await options.usable(options.devicePath)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve3) => setTimeout(resolve3, 100));
  }
}

// src/nix/setup.ts
function defaultSetupPaths(env) {
  const home = env.HOME ?? "";
  const stateDir = env.NIX_STATE_DIR || "/nix/var/nix";
  return {
    nixLocations: [
      "/nix/var/nix/profiles/default/bin/nix",
      ...home ? [join3(home, ".nix-profile/bin/nix")] : [],
      "/run/current-system/sw/bin/nix",
      "/usr/bin/nix",
      "/usr/local/bin/nix"
    ],
    stateDir,
    daemonSocket: env.NIX_DAEMON_SOCKET_PATH || join3(stateDir, "daemon-socket/socket"),
    systemdDir: "/run/systemd/system"
  };
}
var can = (path, mode = constants2.F_OK) => access2(path, mode).then(
  () => true,
  () => false
);
async function findNix(pathVariable, locations) {
  const onPath = pathVariable.split(delimiter).filter((dir) => dir.startsWith("/")).map((dir) => join3(dir, "nix"));
  for (const candidate of [...onPath, ...locations]) {
    if (await can(candidate, constants2.X_OK)) return candidate;
  }
  return void 0;
}
async function setupNix(options, ctx) {
  const paths = { ...defaultSetupPaths(ctx.env), ...options.paths };
  const dir = join3(ctx.reportDir, "setup");
  await mkdir4(dir, { recursive: true });
  const changes = [];
  const cleanupPaths = [];
  let kvm = { action: "not looked at (setup stopped earlier)", deviceUsable: false };
  const finish = async (result) => {
    const text2 = changes.length ? changes.map((c) => `- ${c}`).join("\n") : "(nothing changed)";
    await writeFile4(join3(dir, "changes.txt"), ctx.secrets.redact(text2) + "\n");
    return { ...result, changes, cleanupPaths, kvm };
  };
  try {
    const device = await ensureKvmDevice(
      { ...defaultKvmDeviceOptions(), ...options.kvmDevice },
      ctx.log
    );
    kvm = device.kvm;
    changes.push(...device.changes);
    const checked = options.checkKvm();
    const searched = () => `PATH (${ctx.env.PATH || "empty"}) and ${paths.nixLocations.join(", ") || "no other location"}`;
    let nixPath = options.mode === "install" ? void 0 : await findNix(ctx.env.PATH ?? "", paths.nixLocations);
    if (!nixPath && options.mode === "existing") {
      return await finish({
        ok: false,
        error: `nix: existing, but no nix was found: searched ${searched()}. Install Nix in an earlier step, put it on PATH, or use 'nix: auto' to let the action install Nix ${PINNED_NIX_VERSION}.`
      });
    }
    if (!nixPath) {
      ctx.log.info(
        options.mode === "install" ? "nix: install" : `No nix found (searched ${searched()}).`
      );
      const installed = await installNix(
        {
          nixVersion: options.nixVersion,
          systemdDir: paths.systemdDir,
          download: options.download
        },
        ctx
      );
      changes.push(...installed.changes);
      nixPath = await findNix("", paths.nixLocations);
      if (!nixPath) {
        return await finish({
          ok: false,
          error: `The Nix installer succeeded but no nix appeared in ${paths.nixLocations.join(", ")}.`
        });
      }
    }
    const probe = await run(nixPath, ["--version"], { env: ctx.env });
    if (probe.exitCode !== 0) {
      return await finish({
        ok: false,
        error: `${nixPath} --version failed (${probe.startError ?? `exit code ${probe.exitCode}`}): ${probe.stderr.trim()}`
      });
    }
    const { version, variant } = parseNixVersion(probe.stdout + "\n" + probe.stderr);
    const capabilities = capabilitiesFor(version, variant);
    ctx.log.info(`Using ${nixPath}: ${variant} ${version}`);
    const foundNix = nixPath;
    const configure = async (withKvm) => {
      const written = await writeDropIn({
        dir: join3(ctx.tempDir, "nix"),
        extraNixConf: options.extraNixConf,
        githubToken: options.githubToken,
        kvm: withKvm,
        env: ctx.env,
        secrets: ctx.secrets
      });
      const read = await effectiveConfig(foundNix, capabilities.configShow, {
        ...ctx.env,
        ...written.env
      });
      return { dropIn: written, config: read };
    };
    let { dropIn, config } = await configure(false);
    const features = config.json?.["system-features"]?.value;
    let check;
    if (Array.isArray(features) && features.includes("kvm")) {
      kvm = {
        ...kvm,
        action: `${kvm.action}; system feature kvm listed by Nix itself (the device is read-write for it)`
      };
    } else {
      check = await checked;
      if (check.runsGuest) ({ dropIn, config } = await configure(true));
      else kvm = { ...kvm, action: `${kvm.action}; system feature kvm not added: ${check.reason}` };
    }
    changes.push(...dropIn.changes);
    if (dropIn.tokenPath) cleanupPaths.push(dropIn.tokenPath);
    cleanupPaths.push(dropIn.confPath);
    if (ctx.env.NIX_CONFIG) {
      changes.push(
        "note: NIX_CONFIG is set and overrides every configuration file, the drop-in too"
      );
    }
    const redacted = config.json ? redactConfig(config.json, ctx.secrets) : void 0;
    await writeFile4(
      join3(dir, "config.json"),
      ctx.secrets.redact(JSON.stringify(redacted ?? { error: config.error }, null, 2)) + "\n"
    );
    const storeSetting = ctx.env.NIX_REMOTE ?? stringValue(config.json?.store?.value) ?? "auto";
    const writable = await can(paths.stateDir, constants2.R_OK | constants2.W_OK);
    const store = storeModeFor(storeSetting, writable, await can(paths.daemonSocket));
    if (store.mode === "daemon") {
      changes.push(
        "note: the daemon builds with its own system-features (kvm when /dev/kvm is read-write for it)"
      );
    }
    const nix = {
      nixPath,
      version,
      variant,
      capabilities,
      env: dropIn.env,
      storeMode: store.mode
    };
    await writeFile4(
      join3(dir, "nix.json"),
      JSON.stringify(
        { ...nix, storeSetting, storeModeReason: store.reason, kvmCheck: check },
        null,
        2
      ) + "\n"
    );
    await writeFile4(join3(dir, "disk.txt"), await diskReport(ctx.env));
    if (config.error) {
      ctx.log.warning(`Could not read Nix's effective configuration: ${config.error}`);
    } else if (config.features && !["nix-command", "flakes"].every((f) => config.features?.includes(f))) {
      return await finish({
        ok: false,
        nix,
        error: `The effective experimental-features are '${config.features.join(" ")}' although the action's drop-in enables nix-command and flakes: something later overrides them (NIX_CONFIG, or an extra-nix-conf line setting experimental-features).`
      });
    }
    return await finish({ ok: true, nix });
  } catch (error2) {
    return await finish({ ok: false, error: ctx.secrets.redact(errorMessage(error2)) });
  }
}
function stringValue(value) {
  return typeof value === "string" ? value : void 0;
}
async function diskReport(env) {
  const targets = [
    ["/nix", await can("/nix") ? "/nix" : "/"],
    ["TMPDIR", env.TMPDIR || tmpdir()]
  ];
  const lines2 = ["where	path	free	total"];
  for (const [label, path] of targets) {
    try {
      const stats = await statfs(path);
      const gib = (blocks2) => `${(blocks2 * stats.bsize / 2 ** 30).toFixed(1)} GiB`;
      lines2.push(`${label}	${path}	${gib(stats.bavail)}	${gib(stats.blocks)}`);
    } catch (error2) {
      lines2.push(`${label}	${path}	(statfs failed: ${errorMessage(error2)})`);
    }
  }
  return lines2.join("\n") + "\n";
}
function cleanupSetup(paths) {
  for (const path of paths) {
    try {
      rmSync(path, { force: true });
    } catch {
    }
  }
}

// src/report/compare.ts
var MIN_SLOWDOWN_SECONDS = 1;
var SIZE_CHANGE_PERCENT = 1;
var DIFF_MAX_LINES = 40;
function diffOps(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops = [];
  for (let i = 0; i < start; i++) ops.push({ kind: " ", line: a[i], a: i, b: i });
  if (midA.length * midB.length > 4e6) {
    midA.forEach((line, i) => ops.push({ kind: "-", line, a: start + i, b: start }));
    midB.forEach((line, i) => ops.push({ kind: "+", line, a: endA, b: start + i }));
  } else {
    const n = midA.length;
    const m = midB.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i2 = n - 1; i2 >= 0; i2--) {
      for (let j2 = m - 1; j2 >= 0; j2--) {
        lcs[i2][j2] = midA[i2] === midB[j2] ? lcs[i2 + 1][j2 + 1] + 1 : Math.max(lcs[i2 + 1][j2], lcs[i2][j2 + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: " ", line: midA[i], a: start + i++, b: start + j++ });
      } else if (j < m && (i === n || lcs[i][j + 1] > lcs[i + 1][j])) {
        ops.push({ kind: "+", line: midB[j], a: start + i, b: start + j++ });
      } else {
        ops.push({ kind: "-", line: midA[i], a: start + i++, b: start + j });
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) {
    ops.push({ kind: " ", line: a[endA + k], a: endA + k, b: endB + k });
  }
  return ops;
}
function unifiedDiff(before, after, options = {}) {
  if (before === after) return "";
  const context = options.context ?? 2;
  const maxLines = options.maxLines ?? DIFF_MAX_LINES;
  const [labelA, labelB] = options.labels ?? ["before", "after"];
  const split = (text2) => text2 === "" ? [] : text2.replace(/\n$/, "").split("\n");
  const ops = diffOps(split(before), split(after));
  const changed = ops.map((op, index2) => op.kind === " " ? -1 : index2).filter((i) => i >= 0);
  const lines2 = [`--- ${labelA}`, `+++ ${labelB}`];
  let index = 0;
  while (index < changed.length) {
    const first = Math.max(0, changed[index] - context);
    let last = Math.min(ops.length - 1, changed[index] + context);
    while (index + 1 < changed.length && changed[index + 1] - context <= last + 1) {
      index++;
      last = Math.min(ops.length - 1, changed[index] + context);
    }
    index++;
    const hunk = ops.slice(first, last + 1);
    const countA = hunk.filter((op) => op.kind !== "+").length;
    const countB = hunk.filter((op) => op.kind !== "-").length;
    const startA = hunk[0].a + (countA ? 1 : 0);
    const startB = hunk[0].b + (countB ? 1 : 0);
    lines2.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const op of hunk) lines2.push(op.kind + op.line);
  }
  if (lines2.length > maxLines) {
    const left = lines2.length - maxLines;
    return [...lines2.slice(0, maxLines), `\u2026 ${left} more diff line${left === 1 ? "" : "s"}`].join(
      "\n"
    );
  }
  return lines2.join("\n");
}
function compared(before, after) {
  const value = { before, after };
  if (before !== void 0 && after !== void 0 && before > 0) {
    value.deltaPercent = Math.round((after - before) / before * 1e3) / 10;
  }
  return value;
}
var seconds = (value) => `${value.toFixed(1)} s`;
function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
var signed = (percent) => `${percent > 0 ? "+" : ""}${percent}%`;
function probeOutcome(probe) {
  if (probe.timedOut) return "timed out";
  if (probe.missing) return "command missing";
  return probe.exitCode === null ? "no exit code" : `exit code ${probe.exitCode}`;
}
var probePassed = (probe) => probe.exitCode === 0 && !probe.timedOut && !probe.missing;
function compareProbes(before, after) {
  const changes = [];
  const old = new Map(before.map((probe) => [probe.name, probe]));
  for (const probe of after) {
    const then = old.get(probe.name);
    old.delete(probe.name);
    if (!then) {
      changes.push({
        kind: "probe-added",
        subject: probe.name,
        summary: `Probe ${probe.name} is new (${probeOutcome(probe)}).`,
        regression: false
      });
      continue;
    }
    if (probeOutcome(then) !== probeOutcome(probe)) {
      const worse = probePassed(then) && !probePassed(probe);
      changes.push({
        kind: "probe-result",
        subject: probe.name,
        summary: `Probe ${probe.name}: ${probeOutcome(then)} \u2192 ${probeOutcome(probe)}.`,
        before: probeOutcome(then),
        after: probeOutcome(probe),
        regression: worse
      });
    }
    if (then.digest && probe.digest && then.digest !== probe.digest) {
      const optional = !probe.required;
      const cut = then.truncated || probe.truncated ? " (of the first 8 KiB)" : "";
      changes.push({
        kind: "probe-output",
        subject: probe.name,
        summary: `Probe ${probe.name}: the output changed${optional ? " (an optional probe: not a regression)" : ""}.`,
        before: then.digest,
        after: probe.digest,
        regression: !optional,
        diff: unifiedDiff(then.output ?? "", probe.output ?? "", {
          labels: [`${probe.name} (last good run)${cut}`, `${probe.name} (this run)${cut}`]
        }) || void 0
      });
    }
  }
  for (const gone of old.values()) {
    changes.push({
      kind: "probe-removed",
      subject: gone.name,
      summary: `Probe ${gone.name} no longer runs.`,
      regression: false
    });
  }
  return changes;
}
function compareWithBaseline(baseline, current, options) {
  const threshold = options.slowdownThresholdPercent;
  const changes = [];
  if (baseline.result !== current.result) {
    changes.push({
      kind: "result",
      summary: `Result: ${baseline.result} \u2192 ${current.result}.`,
      before: baseline.result,
      after: current.result,
      regression: current.result !== "passed"
    });
  }
  const boot = compared(baseline.bootSeconds, current.bootSeconds);
  if (boot.before !== void 0 && boot.after !== void 0 && boot.deltaPercent !== void 0) {
    const delta = boot.after - boot.before;
    const text2 = `${seconds(boot.before)} \u2192 ${seconds(boot.after)} (${signed(boot.deltaPercent)})`;
    if (boot.deltaPercent > threshold && delta >= MIN_SLOWDOWN_SECONDS) {
      changes.push({
        kind: "boot-time",
        summary: `Boot is slower: ${text2}, more than the ${threshold}% allowed.`,
        before: boot.before,
        after: boot.after,
        regression: true
      });
    } else if (-boot.deltaPercent > threshold && -delta >= MIN_SLOWDOWN_SECONDS) {
      changes.push({
        kind: "boot-time",
        summary: `Boot is faster: ${text2}.`,
        before: boot.before,
        after: boot.after,
        regression: false
      });
    }
  }
  const iso = compared(baseline.image.isoBytes, current.image.isoBytes);
  const closure = compared(baseline.image.closureBytes, current.image.closureBytes);
  for (const [kind, name, value] of [
    ["iso-size", "ISO size", iso],
    ["closure-size", "Closure size", closure]
  ]) {
    if (value.deltaPercent === void 0 || Math.abs(value.deltaPercent) < SIZE_CHANGE_PERCENT)
      continue;
    changes.push({
      kind,
      summary: `${name}: ${formatBytes(value.before)} \u2192 ${formatBytes(value.after)} (${signed(value.deltaPercent)}).`,
      before: value.before,
      after: value.after,
      regression: false
    });
  }
  if (baseline.failedUnits && current.failedUnits) {
    const then = new Set(baseline.failedUnits);
    const now = new Set(current.failedUnits);
    for (const unit of current.failedUnits.filter((u) => !then.has(u))) {
      changes.push({
        kind: "failed-unit",
        subject: unit,
        summary: `Unit ${unit} fails now.`,
        regression: true
      });
    }
    for (const unit of baseline.failedUnits.filter((u) => !now.has(u))) {
      changes.push({
        kind: "resolved-unit",
        subject: unit,
        summary: `Unit ${unit} no longer fails.`,
        regression: false
      });
    }
  }
  if (baseline.systemState && current.systemState && baseline.systemState !== current.systemState) {
    changes.push({
      kind: "system-state",
      summary: `System state: ${baseline.systemState} \u2192 ${current.systemState}.`,
      before: baseline.systemState,
      after: current.systemState,
      regression: current.systemState !== "running"
    });
  }
  if (baseline.probes && current.probes)
    changes.push(...compareProbes(baseline.probes, current.probes));
  if (baseline.test && current.test) {
    const outcome = (test) => test.timedOut ? "timed out" : `exit code ${test.exitCode ?? "none"}`;
    const [then, now] = [outcome(baseline.test), outcome(current.test)];
    if (then !== now) {
      changes.push({
        kind: "test",
        summary: `Test command: ${then} \u2192 ${now}.`,
        before: then,
        after: now,
        regression: now !== "exit code 0"
      });
    }
  }
  const nixThen = baseline.nix && `${baseline.nix.variant} ${baseline.nix.version}`;
  const nixNow = current.nix && `${current.nix.variant} ${current.nix.version}`;
  if (nixThen && nixNow && nixThen !== nixNow) {
    changes.push({
      kind: "nix-version",
      summary: `Nix: ${nixThen} \u2192 ${nixNow}.`,
      before: nixThen,
      after: nixNow,
      regression: false
    });
  }
  if (baseline.accel && current.accel && baseline.accel !== current.accel) {
    changes.push({
      kind: "accelerator",
      summary: `Accelerator: ${baseline.accel} \u2192 ${current.accel}.`,
      before: baseline.accel,
      after: current.accel,
      regression: current.accel === "tcg"
    });
  }
  const regressions = changes.filter((change) => change.regression).map(({ regression: _regression, diff: _diff, ...rest }) => rest);
  const partly = baseline.probes && !current.probes ? " This run did not reach the probes: only what it has is compared." : "";
  const since = `since the last good run (${baseline.createdAt})`;
  return {
    status: changes.length ? "changed" : "unchanged",
    baselineSource: options.source,
    baselineCreatedAt: baseline.createdAt,
    baselineRun: baseline.run,
    detail: (changes.length ? `${changes.length} change${changes.length === 1 ? "" : "s"} ${since}, ${regressions.length} of them regression${regressions.length === 1 ? "" : "s"}.` : `Nothing changed ${since}.`) + partly,
    regressions,
    changes,
    bootSeconds: boot,
    isoBytes: iso,
    closureBytes: closure,
    slowdownThresholdPercent: threshold
  };
}
function noComparison(status, detail, source) {
  return { status, detail, regressions: [], baselineSource: source };
}

// src/report/markdown.ts
function byteLength(text2) {
  return Buffer.byteLength(text2, "utf8");
}
var ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
function stripControl(text2) {
  return text2.replace(ANSI, "").replace(CONTROL, "");
}
function escapeHtml(text2) {
  return text2.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
function escapeCell(text2, maxChars = 300) {
  const flat = stripControl(text2).replace(/\s*[\r\n]+\s*/g, " ");
  const short = flat.length > maxChars ? flat.slice(0, maxChars - 1) + "\u2026" : flat;
  return escapeHtml(short).replace(/[\\`*_[\]~|#!]/g, (character) => "\\" + character);
}
function codeCell(text2, maxChars = 300) {
  const flat = stripControl(text2).replace(/\s*[\r\n]+\s*/g, " ");
  if (!flat) return "";
  if (/[`<>]/.test(flat) || flat.length > maxChars) return escapeCell(flat, maxChars);
  return "`" + flat.replace(/\|/g, "\\|") + "`";
}
function headBytes(text2, maxBytes) {
  const bytes = Buffer.from(text2, "utf8");
  if (bytes.length <= maxBytes) return text2;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (bytes[end] & 192) === 128) end--;
  return bytes.subarray(0, end).toString("utf8");
}
function tailBytes(text2, maxBytes) {
  const bytes = Buffer.from(text2, "utf8");
  if (bytes.length <= maxBytes) return text2;
  let start = bytes.length - Math.max(0, maxBytes);
  while (start < bytes.length && (bytes[start] & 192) === 128) start++;
  return bytes.subarray(start).toString("utf8");
}
function clipTail(lines2, limits) {
  const maxLineChars = limits.maxLineChars ?? 2e3;
  const kept = [];
  let bytes = 0;
  let longLines = 0;
  for (let index = lines2.length - 1; index >= 0 && kept.length < limits.maxLines; index--) {
    let line = stripControl(lines2[index] ?? "").replace(/\r$/, "");
    if (line.length > maxLineChars) {
      line = "\u2026" + line.slice(-(maxLineChars - 1));
      longLines++;
    }
    const size2 = byteLength(line) + 1;
    if (bytes + size2 > limits.maxBytes) {
      if (kept.length === 0) kept.push(tailBytes(line, limits.maxBytes));
      break;
    }
    kept.push(line);
    bytes += size2;
  }
  kept.reverse();
  const dropped = lines2.length - kept.length;
  const parts = [];
  if (dropped > 0) parts.push(`${dropped} earlier line${dropped === 1 ? "" : "s"}`);
  if (longLines > 0) parts.push(`the start of ${longLines} long line${longLines === 1 ? "" : "s"}`);
  return { text: kept.join("\n"), cut: parts.join(" and ") };
}
function fence(text2, info2 = "text") {
  const longest = Math.max(0, ...(text2.match(/`+/g) ?? []).map((run2) => run2.length));
  const marks = "`".repeat(Math.max(3, longest + 1));
  return `${marks}${info2}
${text2}
${marks}`;
}
function details(summary, body, open = false) {
  return `<details${open ? " open" : ""}><summary>${escapeHtml(summary)}</summary>

${body}

</details>`;
}
function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
function formatDuration(ms) {
  if (ms === void 0 || !Number.isFinite(ms) || ms < 0) return "";
  const seconds2 = ms / 1e3;
  if (seconds2 < 60) return `${seconds2.toFixed(1)} s`;
  const minutes = Math.floor(seconds2 / 60);
  return `${minutes} min ${Math.round(seconds2 - minutes * 60)} s`;
}

// src/report/summary-sections.ts
var STAGES = [
  "setup",
  "build",
  "env-diff",
  "boot",
  "probes",
  "test",
  "upload"
];
var LIMITS = {
  tailLines: 80,
  tailBytes: 24 * 1024,
  errorLines: 60,
  errorBytes: 16 * 1024,
  derivationsWithLog: 10,
  derivationRows: 50,
  dependents: 20,
  verdicts: 10,
  differences: 15,
  probes: 150,
  screenshots: 20,
  withheld: 50
};
var STATUS_EMOJI = {
  passed: "\u2705",
  failed: "\u274C",
  warning: "\u26A0\uFE0F",
  skipped: "\u23ED\uFE0F"
};
var plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
var more = (left, what, where) => left > 0 ? `

_\u2026 and ${plural(left, what)} more (see ${where} in the artifact)._` : "";
var codeList = (items, limit, what, where) => items.slice(0, limit).map((item) => codeCell(item)).join(", ") + more(items.length - Math.min(items.length, limit), what, where);
function errorBlock(text2, where = "report.json") {
  const clipped = clipTail(text2.split("\n"), {
    maxLines: LIMITS.errorLines,
    maxBytes: LIMITS.errorBytes
  });
  const note = clipped.cut ? `

_Cut ${clipped.cut}; the full text is in ${where}._` : "";
  return fence(clipped.text) + note;
}
function stageTable(report) {
  const rows = STAGES.map((name) => {
    const stage = report.stages[name];
    if (!stage) return [name, "\u23ED\uFE0F not run", "", ""];
    return [
      name,
      `${STATUS_EMOJI[stage.status]} ${stage.status}`,
      formatDuration(stage.durationMs),
      escapeCell(stage.detail)
    ];
  });
  return "### Stages\n\n" + table(["Stage", "Status", "Duration", "Detail"], rows);
}
function derivationBlock(failure, open) {
  const clipped = clipTail(failure.tail, {
    maxLines: LIMITS.tailLines,
    maxBytes: LIMITS.tailBytes
  });
  const exit = failure.exitCode === null || /exit code/.test(failure.reason) ? "" : ` (exit code ${failure.exitCode})`;
  const cut = clipped.cut ? ` Cut ${clipped.cut} from this tail.` : "";
  const body = [
    `${codeCell(failure.drv)}: ${escapeCell(failure.reason)}${exit}.`,
    clipped.text ? fence(clipped.text, "log") : "_The log is empty._",
    `_Full log: ${codeCell(failure.log)} in the artifact.${cut}_`
  ].join("\n\n");
  return details(`\u274C ${failure.name}: ${failure.reason}`, body, open);
}
function buildSection(build, titled, openFirst = true) {
  const title = titled ? `### Build (${build.context})` : "### Build";
  const lines2 = [title, `**${build.status}** in ${formatDuration(build.durationMs)}.`];
  const paths = [];
  if (build.drvPath) paths.push(`- Derivation: ${codeCell(build.drvPath)}`);
  if (build.outPath) paths.push(`- Output: ${codeCell(build.outPath)}`);
  if (build.isoPath) paths.push(`- ISO: ${codeCell(build.isoPath)}`);
  if (paths.length) lines2.push(paths.join("\n"));
  if (build.error) lines2.push(errorBlock(build.error, "build/build.log"));
  const failures = build.failures;
  if (failures.length) {
    const own = failures.length === 1 ? "its own builder" : "their own builders";
    lines2.push(`${plural(failures.length, "derivation")} failed in ${own}:`);
    failures.slice(0, LIMITS.derivationsWithLog).forEach((failure, index) => lines2.push(derivationBlock(failure, openFirst && index === 0)));
    const rest = failures.slice(LIMITS.derivationsWithLog);
    if (rest.length) {
      const rows = rest.slice(0, LIMITS.derivationRows).map((f) => [escapeCell(f.name), escapeCell(f.reason), codeCell(f.log)]);
      lines2.push(
        table(["Derivation", "Reason", "Log"], rows) + more(rest.length - rows.length, "failed derivation", "build/failed/")
      );
    }
  }
  if (build.dependents.length) {
    const shown = build.dependents.slice(0, LIMITS.dependents);
    const list = shown.map((drv) => `- ${codeCell(drv)}`).join("\n");
    lines2.push(
      details(
        `${plural(build.dependents.length, "dependent")} failed only because of these`,
        list
      ) + more(build.dependents.length - shown.length, "dependent", "report.json")
    );
  }
  return lines2.join("\n\n");
}
function envDiffSection(diff, heading = "### Environment diff") {
  const lines2 = [heading];
  if (diff.error) lines2.push(`The diff did not complete: ${escapeCell(diff.error)}`);
  const verdicts = diff.verdicts.slice(0, LIMITS.verdicts);
  if (verdicts.length) lines2.push(verdicts.map((v) => `- ${escapeCell(v, 1e3)}`).join("\n"));
  const order = { high: 0, medium: 1, low: 2 };
  const likely = [...diff.differences].sort((a, b) => order[a.likelihood] - order[b.likelihood]);
  const shown = likely.slice(0, LIMITS.differences);
  if (shown.length) {
    const rows = shown.map((d) => [
      codeCell(d.name),
      d.kind,
      d.likelihood,
      codeCell(d.host ?? "", 120),
      codeCell(d.devshell ?? "", 120),
      escapeCell(d.reason)
    ]);
    const header = ["Variable", "Change", "Likelihood", "Host", "Devshell", "Why it matters"];
    lines2.push(
      table(header, rows) + more(likely.length - shown.length, "difference", "env/diff.md")
    );
  }
  lines2.push("_The whole comparison: `env/diff.md` (and `env/diff.json`) in the artifact._");
  return lines2.join("\n\n");
}
function bootSection(report) {
  const boot = report.vm?.boot;
  if (!boot) return "";
  const lines2 = ["### Boot"];
  const facts = [`- Status: **${boot.status}**`];
  if (boot.accel) facts.push(`- Accelerator: **${boot.accel}**`);
  if (boot.kvmCheck) {
    const verdict = boot.kvmCheck.runsGuest ? "KVM runs a guest" : "KVM cannot run a guest";
    const reason = boot.kvmCheck.reason ? `: ${escapeCell(boot.kvmCheck.reason)}` : "";
    facts.push(`- KVM check: ${verdict}${reason} (${formatDuration(boot.kvmCheck.durationMs)})`);
  }
  if (boot.bootSeconds !== void 0) facts.push(`- Ready after ${boot.bootSeconds.toFixed(1)} s`);
  if (boot.hostKeyFingerprint) facts.push(`- SSH host key: ${codeCell(boot.hostKeyFingerprint)}`);
  if (boot.consoleHostKeyFingerprint && boot.consoleHostKeyFingerprint !== boot.hostKeyFingerprint)
    facts.push(`- Host key printed on the console: ${codeCell(boot.consoleHostKeyFingerprint)}`);
  lines2.push(facts.join("\n"));
  if (boot.error) lines2.push(`**Error:** ${escapeCell(boot.error, 1e3)}`);
  if (boot.panic) lines2.push("The console said, before the boot ended:\n\n" + fence(boot.panic));
  if (boot.timeline.length) {
    const rows = boot.timeline.map((m) => [
      m.name,
      m.seconds.toFixed(1),
      m.line ? codeCell(m.line, 160) : ""
    ]);
    lines2.push(table(["Milestone", "Seconds", "Console line"], rows));
  }
  if (boot.screenshots.length) {
    lines2.push(
      "Screenshots: " + codeList(boot.screenshots, LIMITS.screenshots, "screenshot", "vm/")
    );
  }
  lines2.push("_Console: `vm/serial.log`; QEMU: `vm/qemu.log`, `vm/qemu-args.txt`._");
  return lines2.join("\n\n");
}
function probeFailed(probe) {
  return probe.exitCode !== 0 || probe.timedOut || probe.missing;
}
function probeOutcome2(probe) {
  if (probe.timedOut) return "\u23F1\uFE0F timed out";
  if (probe.missing) return "\u2753 command missing";
  if (probe.exitCode === 0) return "\u2705 0";
  const code = probe.exitCode === null ? probe.signal ?? "no exit code" : String(probe.exitCode);
  return `${probe.required ? "\u274C" : "\u26A0\uFE0F"} ${escapeCell(code)}`;
}
function probesSection(probes) {
  if (!probes.length) return "";
  const ordered2 = [
    ...probes.filter((p) => p.required && probeFailed(p)),
    ...probes.filter((p) => !(p.required && probeFailed(p)))
  ];
  const shown = ordered2.slice(0, LIMITS.probes);
  const rows = shown.map((p) => [
    escapeCell(p.name, 80),
    p.required ? "yes" : "no",
    probeOutcome2(p),
    formatDuration(p.durationMs),
    codeCell(p.file)
  ]);
  const failed = probes.filter((p) => p.required && probeFailed(p)).length;
  const head = `### Probes

${probes.length - failed} of ${probes.length} passed or optional; ${failed} required failed.`;
  return head + "\n\n" + table(["Probe", "Required", "Exit code", "Duration", "Output"], rows) + more(probes.length - shown.length, "probe", "probes/");
}
function testSection(report) {
  const test = report.vm?.test;
  if (!test) return "";
  const outcome = test.timedOut ? "\u23F1\uFE0F timed out" : test.exitCode === 0 ? "\u2705 exit code 0" : `\u274C exit code ${test.exitCode ?? "none"}`;
  return `### Test

${outcome} after ${formatDuration(test.durationMs)}. Output: ${codeCell(test.file)}.`;
}
function uploadSection(report) {
  const upload = report.upload;
  if (!upload) return "";
  const lines2 = ["### Upload", `**${upload.status}**: ${escapeCell(upload.detail, 1e3)}`];
  if (upload.artifactUrl) {
    const id = upload.artifactId === void 0 ? "" : ` (ID ${upload.artifactId})`;
    lines2.push(`Artifact: <a href="${escapeHtml(upload.artifactUrl)}">download</a>${id}`);
  }
  if (upload.withheld.length) {
    lines2.push(
      "Withheld because they held a secret: " + codeList(upload.withheld, LIMITS.withheld, "file", "report.json")
    );
  }
  return lines2.join("\n\n");
}
var CACHE_STATUS = {
  hit: "\u2705 hit: the image was restored, not built",
  partial: "\u267B\uFE0F partial: the closest earlier entry was restored; only what changed was built",
  miss: "\u2796 miss: no earlier entry",
  disabled: "\u23ED\uFE0F disabled",
  error: "\u26A0\uFE0F error (the run went on without it)"
};
var mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
function cacheSaveLine(save) {
  const facts = [`**Save: ${save.status}**: ${escapeCell(save.detail, 1e3)}`];
  if (save.bytes !== void 0) facts.push(`${mib(save.bytes)} in ${save.paths ?? 0} store paths`);
  if (save.saveMs !== void 0) facts.push(`in ${formatDuration(save.saveMs)}`);
  const left = save.leftOut.slice(0, 20).map((item) => `${codeCell(item.root)} (${mib(item.bytes)})`);
  if (left.length) facts.push(`left out (cache-max-size): ${left.join(", ")}`);
  return facts.join("; ");
}
function cacheSection(cache, builds = []) {
  if (!cache) return "";
  const lines2 = ["### Cache", `${CACHE_STATUS[cache.status]}: ${escapeCell(cache.detail, 1e3)}`];
  const facts = [];
  if (cache.key) facts.push(`- Key: ${codeCell(cache.key)}`);
  if (cache.matchedKey && cache.matchedKey !== cache.key)
    facts.push(`- Restored: ${codeCell(cache.matchedKey)}`);
  if (cache.bytesRestored !== void 0) facts.push(`- Size: ${mib(cache.bytesRestored)}`);
  if (cache.restoreMs !== void 0) facts.push(`- Restore: ${formatDuration(cache.restoreMs)}`);
  const built = builds[0]?.built;
  if (built && (cache.status === "hit" || cache.status === "partial"))
    facts.push(`- Then built: ${plural(built.length, "derivation")}`);
  if (facts.length) lines2.push(facts.join("\n"));
  if (cache.save) lines2.push(cacheSaveLine(cache.save));
  else if (cache.key && cache.status !== "hit") lines2.push("_Saved by the post step._");
  return lines2.join("\n\n");
}

// src/report/comparison-section.ts
var COMPARISON_LIMITS = { changes: 30, diffs: 10, annotations: 5 };
var HEADING = "### Compared with the last good run";
function row(name, value, format) {
  if (!value || value.before === void 0 && value.after === void 0) return void 0;
  const delta = value.deltaPercent === void 0 ? "" : `${value.deltaPercent > 0 ? "+" : ""}${value.deltaPercent}%`;
  return [
    name,
    value.before === void 0 ? "" : format(value.before),
    value.after === void 0 ? "" : format(value.after),
    delta
  ];
}
function comparisonSection(comparison) {
  if (!comparison || comparison.status === "off") return "";
  const lines2 = [HEADING];
  if (comparison.status === "no-baseline" || comparison.status === "error") {
    const what = comparison.status === "no-baseline" ? "No earlier passing run of this image to compare with" : "The comparison did not run";
    lines2.push(`${what}: ${escapeCell(comparison.detail, 1e3)}.`);
    return lines2.join("\n\n");
  }
  const from = [
    comparison.baselineRun ? escapeCell(comparison.baselineRun) : "",
    comparison.baselineCreatedAt ? `finished ${escapeCell(comparison.baselineCreatedAt)}` : "",
    comparison.baselineSource ? `from ${codeCell(comparison.baselineSource, 400)}` : ""
  ].filter(Boolean);
  if (from.length) lines2.push(`Baseline: ${from.join(", ")}.`);
  const changes = comparison.changes ?? [];
  lines2.push(
    comparison.status === "unchanged" ? "**Nothing changed** since the last good run." : `**${comparison.regressions.length} regression${comparison.regressions.length === 1 ? "" : "s"}**, ${changes.length} change${changes.length === 1 ? "" : "s"} in all:`
  );
  const shown = changes.slice(0, COMPARISON_LIMITS.changes);
  if (shown.length) {
    const list = shown.map((c) => `- ${c.regression ? "\u26A0\uFE0F" : "\u2139\uFE0F"} ${escapeCell(c.summary, 500)}`);
    if (changes.length > shown.length) {
      list.push(`- _\u2026 and ${changes.length - shown.length} more (see \`report.json\`)._`);
    }
    lines2.push(list.join("\n"));
  }
  const threshold = comparison.slowdownThresholdPercent;
  const rows = [
    row(
      `Boot (s)${threshold === void 0 ? "" : `, allowed +${threshold}%`}`,
      comparison.bootSeconds,
      (n) => n.toFixed(1)
    ),
    row("ISO size", comparison.isoBytes, formatBytes),
    row("Closure size", comparison.closureBytes, formatBytes)
  ].filter((r) => r !== void 0);
  if (rows.length) lines2.push(table(["", "Last good run", "This run", "Change"], rows));
  const diffs = changes.filter((c) => c.diff).slice(0, COMPARISON_LIMITS.diffs);
  for (const change of diffs) {
    lines2.push(details(`Diff: ${change.subject ?? change.kind}`, fence(change.diff, "diff")));
  }
  return lines2.join("\n\n");
}
function annotateComparison(comparison, log) {
  const regressions = (comparison?.regressions ?? []).filter((regression) => regression.kind !== "result").sort((a, b) => Number(b.kind === "boot-time") - Number(a.kind === "boot-time"));
  for (const regression of regressions.slice(0, COMPARISON_LIMITS.annotations)) {
    const title = regression.kind === "boot-time" ? "Boot slower than the last good run" : `Regression since the last good run (${regression.kind})`;
    log.warning(regression.summary, { title });
  }
  const left = regressions.length - COMPARISON_LIMITS.annotations;
  if (left > 0) {
    log.warning(`\u2026 and ${left} more; see the job summary.`, {
      title: "Regressions since the last good run"
    });
  }
}

// src/report/summary.ts
var SUMMARY_LIMIT_BYTES = 1024 * 1024;
var DEFAULT_SUMMARY_MAX_BYTES = 1e3 * 1024 - 8 * 1024;
function headline(report) {
  if (report.result === "passed") return `## \u2705 passed${report.cancelled ? " (cancelled)" : ""}`;
  const decided = report.decidedBy ? ` \u2014 decided by ${report.decidedBy}` : "";
  return `## \u274C ${report.result}${decided}${report.cancelled ? " (cancelled)" : ""}`;
}
function disagreement(builds) {
  const host = builds.find((b) => b.context === "host");
  const devshell = builds.find((b) => b.context === "devshell");
  if (!host || !devshell) return void 0;
  if (host.status === "passed" === (devshell.status === "passed")) return void 0;
  return host.status === "passed" ? [host, devshell] : [devshell, host];
}
function contextName(build) {
  return build.context === "host" ? "on the host" : "in the devshell";
}
function lead(report) {
  const split = disagreement(report.builds);
  if (split) {
    const [passing, failing] = split;
    const parts = [
      `**Passes ${contextName(passing)}, fails ${contextName(failing)}** (${failing.status} in ${failing.context}).`
    ];
    const first = failing.failures[0];
    if (first) parts.push(derivationBlock(first, true));
    else if (failing.error) parts.push(errorBlock(failing.error, "build/build.log"));
    if (report.envDiff) {
      parts.push(envDiffSection(report.envDiff, "#### What differs between the two contexts"));
    }
    return parts.join("\n\n");
  }
  switch (report.result) {
    case "setup-failed":
      return report.setup?.error ? "Setting up Nix failed:\n\n" + errorBlock(report.setup.error) : "";
    case "eval-failed": {
      const failed = report.builds.find((b) => b.status === "eval-failed");
      return failed?.error ? `Evaluating the image failed (${failed.context}):

` + errorBlock(failed.error, "build/build.log") : "";
    }
    case "build-failed": {
      const names = report.builds.flatMap((b) => b.failures.map((f) => escapeCell(f.name, 100)));
      return names.length ? `Failing derivation${names.length === 1 ? "" : "s"}: ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", \u2026" : ""}.` : "";
    }
    case "boot-failed": {
      const boot = report.vm?.boot;
      const parts = [boot?.error ? `The image did not boot: ${escapeCell(boot.error, 1e3)}` : ""];
      if (boot?.panic) parts.push(fence(boot.panic));
      return parts.filter(Boolean).join("\n\n");
    }
    case "probe-failed": {
      const failed = (report.vm?.probes ?? []).filter((p) => p.required && probeFailed(p));
      const names = failed.slice(0, 10).map((p) => escapeCell(p.name, 80));
      return `Required probe${failed.length === 1 ? "" : "s"} failed: ${names.join(", ")}${failed.length > 10 ? ", \u2026" : ""}.`;
    }
    case "test-failed": {
      const test = report.vm?.test;
      if (!test) return "";
      return test.timedOut ? "The test command timed out." : `The test command exited with code ${test.exitCode ?? "none"}.`;
    }
    default:
      return "";
  }
}
function setupSection(report) {
  const setup = report.setup;
  if (!setup) return "";
  const lines2 = [];
  const nix = setup.nix;
  if (nix) {
    lines2.push(
      `- Nix: ${escapeCell(nix.version)} (${nix.variant}, ${nix.storeMode}) at \`${nix.nixPath.replace(/`/g, "")}\``
    );
  }
  lines2.push(
    `- KVM device: ${setup.kvm.deviceUsable ? "usable" : "not usable"} (${escapeCell(setup.kvm.action)})`
  );
  for (const change of setup.changes.slice(0, 20)) lines2.push(`- Changed: ${escapeCell(change)}`);
  return "### Setup\n\n" + lines2.join("\n");
}
function blocks(report) {
  const list = [{ name: "headline", text: headline(report), drop: 0 }];
  if (report.complete === false) {
    const note = report.cancelled ? "_The run was cancelled before every stage ran; this report is partial._" : "_The run did not finish; this report is partial._";
    list.push({ name: "progress", text: note, drop: 0 });
  }
  if (report.error) {
    const text2 = "The action itself failed (a bug):\n\n" + errorBlock(report.error);
    list.push({ name: "error", text: text2, drop: 2 });
  }
  list.push({ name: "lead", text: lead(report), drop: 2 });
  list.push({ name: "stages", text: stageTable(report), drop: 1 });
  list.push({ name: "comparison", text: comparisonSection(report.comparison), drop: 4 });
  list.push({ name: "setup", text: setupSection(report), drop: 5 });
  const titled = report.builds.length > 1;
  const split = disagreement(report.builds) !== void 0;
  for (const build of report.builds) {
    const text2 = buildSection(build, titled, !split);
    list.push({ name: `build (${build.context})`, text: text2, drop: 3 });
  }
  if (report.envDiff && !split) {
    list.push({ name: "env-diff", text: envDiffSection(report.envDiff), drop: 4 });
  }
  list.push({ name: "cache", text: cacheSection(report.cache, report.builds), drop: 5 });
  list.push({ name: "boot", text: bootSection(report), drop: 3 });
  list.push({ name: "probes", text: probesSection(report.vm?.probes ?? []), drop: 6 });
  list.push({ name: "test", text: testSection(report), drop: 3 });
  list.push({ name: "upload", text: uploadSection(report), drop: 3 });
  list.push({
    name: "footer",
    text: "_Everything above, and the full logs, are in the report artifact: start with `report.json` and `summary.md`._",
    drop: 7
  });
  return list.filter((block) => block.text);
}
var SEPARATOR = "\n\n";
var size = (list) => list.reduce((total, block) => total + byteLength(block.text) + SEPARATOR.length, 0);
var omitted = (name) => `_The ${name} section was left out to keep the summary under GitHub's size limit; it is in \`report.json\` in the artifact._`;
function renderSummary(report, options = {}) {
  const maxBytes = Math.min(options.maxBytes ?? DEFAULT_SUMMARY_MAX_BYTES, SUMMARY_LIMIT_BYTES);
  let list = blocks(report);
  const candidates = list.map((block, index) => ({ block, index })).filter(({ block }) => block.drop > 0).sort((a, b) => b.block.drop - a.block.drop || b.index - a.index);
  for (const { block } of candidates) {
    if (size(list) <= maxBytes) break;
    list = list.map((b) => b === block ? { ...b, text: omitted(block.name), drop: 0 } : b);
  }
  if (size(list) > maxBytes) {
    const kept = [];
    const note = "_The rest of the summary was cut for size; see `report.json` in the artifact._";
    for (const block of list) {
      if (size([...kept, block]) + byteLength(note) + SEPARATOR.length > maxBytes) break;
      kept.push(block);
    }
    if (kept.length === 0) return headBytes(headline(report), maxBytes);
    list = [...kept, { name: "note", text: note, drop: 0 }];
  }
  return list.map((block) => block.text).join(SEPARATOR) + "\n";
}

// src/report/report-file.ts
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join as join4 } from "node:path";
var REPORT_KEYS = [
  "schemaVersion",
  "result",
  "decidedBy",
  "complete",
  "cancelled",
  "error",
  "startedAt",
  "finishedAt",
  "stages",
  "setup",
  "builds",
  "envDiff",
  "vm",
  "cache",
  "upload"
];
function rank(order, key) {
  const index = order.indexOf(key);
  return index === -1 ? order.length : index;
}
function ordered(value, order = []) {
  if (Array.isArray(value)) return value.map((item) => ordered(item));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).filter(([, v]) => v !== void 0).sort(([a], [b]) => rank(order, a) - rank(order, b) || (a < b ? -1 : a > b ? 1 : 0));
  const out = {};
  for (const [key, v] of entries) out[key] = ordered(v, key === "stages" ? STAGES : []);
  return out;
}
function reportJson(report) {
  return JSON.stringify(ordered(report, REPORT_KEYS), null, 2) + "\n";
}
function writeAtomically(path, text2) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text2, { mode: 420 });
  renameSync(temporary, path);
}
function writeReportFiles(reportDir, report, summary) {
  mkdirSync(reportDir, { recursive: true });
  writeAtomically(join4(reportDir, "report.json"), reportJson(report));
  writeAtomically(join4(reportDir, "summary.md"), summary.endsWith("\n") ? summary : summary + "\n");
}

// src/nix/build.ts
import { createWriteStream } from "node:fs";
import { lstat, mkdir as mkdir6, readdir, rm, stat } from "node:fs/promises";
import { join as join6 } from "node:path";

// src/nix/diagnostics.ts
import { mkdir as mkdir5, writeFile as writeFile5 } from "node:fs/promises";
import { join as join5, relative } from "node:path";

// src/nix/failures.ts
var ESC = String.fromCharCode(27);
var BEL = String.fromCharCode(7);
var ANSI2 = new RegExp(
  `${ESC}\\[[0-9;?]*[ -/]*[@-~]|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)|${ESC}[@-Z\\\\-_]`,
  "g"
);
var DRV = String.raw`(/[^\s']*?/[0-9a-z]{32}-[^\s'/!^]+?\.drv)`;
var drvIn = (text2) => new RegExp(DRV).exec(text2)?.[1];
function stripAnsi(text2) {
  return text2.replace(ANSI2, "");
}
function derivationName(drvPath) {
  const base = drvPath.slice(drvPath.lastIndexOf("/") + 1).replace(/\.drv$/, "");
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base;
}
function normalise(line) {
  return line.trim().replace(/^(?:error|note):\s+/, "").trim();
}
var BUILDER = new RegExp(
  `^builder for '${DRV}' failed (with exit code (\\d+)|due to signal (\\d+)(?: \\(([^)]*)\\))?|to produce output path.*)`
);
var CANNOT_BUILD = new RegExp(`^Cannot build '${DRV}'\\.`);
var HASH = new RegExp(`^hash mismatch in fixed-output derivation '${DRV}'`);
var FEATURES = new RegExp(
  `^a '([^']*)' with features \\{([^}]*)\\} is required to build '${DRV}', but I am a '([^']*)' with features \\{([^}]*)\\}`
);
var TIMEOUT = /^(?:building of '[^']*'.*? )?timed out after (\d+) seconds( of silence)?/;
var LOG_LIMIT = /^(?:building of '[^']*'.*? )?killed after writing more than (\d+) bytes of log/;
var DEPENDENTS = [
  new RegExp(`^cannot build derivation '${DRV}': \\d+ dependencies couldn't be built`),
  new RegExp(`^\\d+ dependencies of derivation '${DRV}' failed to build`)
];
var featureSet = (list) => list.split(",").map((s) => s.trim()).filter(Boolean);
function missingFeatures(required, available) {
  const have = new Set(featureSet(available));
  const missing = featureSet(required).filter((f) => !have.has(f));
  return missing.length ? `missing system features: ${missing.join(", ")}` : "";
}
function builderStatus(text2) {
  const exit = /failed with exit code (\d+)/.exec(text2);
  if (exit) return { reason: `builder failed with exit code ${exit[1]}`, exitCode: Number(exit[1]) };
  const signal = /failed due to signal (\d+)(?: \(([^)]*)\))?/.exec(text2);
  if (signal) {
    const name = signal[2] ? `${signal[1]} (${signal[2]})` : signal[1];
    return { reason: `builder failed due to signal ${name}`, exitCode: null, signal: name };
  }
  return { reason: "builder " + text2.replace(/\.$/, ""), exitCode: null };
}
function replaceReason(reasons, general, detail) {
  const at = reasons.indexOf(general);
  if (!detail) return;
  if (at < 0) reasons.push(detail);
  else reasons[at] = detail;
}
function cannotBuild(lines2, start, drv) {
  const reasons = [];
  let status;
  let i = start + 1;
  for (; i < lines2.length; i++) {
    const line = lines2[i];
    const reason2 = /^Reason: (.*)$/.exec(line);
    if (reason2) {
      const text2 = reason2[1].replace(/\.$/, "");
      if (/^\d+ dependenc(?:y|ies) failed$/.test(text2)) return "dependent";
      if (text2.startsWith("builder ")) status = builderStatus(text2.slice("builder ".length));
      else reasons.push(text2);
      continue;
    }
    const oldFeatures = /^Required system: '([^']*)' with features \{([^}]*)\}/.exec(line);
    const current = /^Current system: '([^']*)' with features \{([^}]*)\}/.exec(lines2[i + 1] ?? "");
    if (oldFeatures && current) {
      const platform2 = oldFeatures[1] !== current[1] ? `platform mismatch: needs ${oldFeatures[1]}, this machine is ${current[1]}` : "";
      const detail = [missingFeatures(oldFeatures[2], current[2]), platform2].filter(Boolean);
      replaceReason(reasons, "required system or feature not available", detail.join("; "));
      i++;
      continue;
    }
    const required = /^Required features: \{([^}]*)\}/.exec(line);
    const available = /^Available features: \{([^}]*)\}/.exec(lines2[i + 1] ?? "");
    if (required && available) {
      const missing = missingFeatures(required[1], available[1]);
      replaceReason(reasons, "missing system features", missing);
      i++;
      continue;
    }
    const platform = /^Required system: '([^']*)'$/.exec(line);
    const here = /^Current system: '([^']*)'$/.exec(lines2[i + 1] ?? "");
    if (platform && here) {
      const detail = `platform mismatch: needs ${platform[1]}, this machine is ${here[1]}`;
      replaceReason(reasons, "platform mismatch", detail);
      i++;
      continue;
    }
    if (/^(Hint|Note|Output paths):/.test(line) || /^\/\S+$/.test(line)) continue;
    break;
  }
  const reason = status ? status.reason : reasons.filter(Boolean).join("; ") || "cannot build";
  return { drv, reason, exitCode: status?.exitCode ?? null, signal: status?.signal, next: i };
}
function rootCauseAt(lines2, i, activeBuild) {
  const line = lines2[i];
  let m = BUILDER.exec(line);
  if (m) {
    if (m[3] || m[4]) return { drv: m[1], ...builderStatus(`failed ${m[2]}`), next: i + 1 };
    return {
      drv: m[1],
      reason: "builder failed " + m[2].replace(/ at '.*$/, ""),
      exitCode: null,
      next: i + 1
    };
  }
  if (m = CANNOT_BUILD.exec(line)) return cannotBuild(lines2, i, m[1]);
  if (m = HASH.exec(line)) {
    const near = lines2.slice(i + 1, i + 6);
    const wanted = near.map((l) => /^(?:specified|wanted):\s*(\S+)/.exec(l)?.[1]).find(Boolean);
    const got = near.map((l) => /^got:\s*(\S+)/.exec(l)?.[1]).find(Boolean);
    const detail = wanted && got ? `: specified ${wanted}, got ${got}` : "";
    return {
      drv: m[1],
      reason: `hash mismatch in fixed-output derivation${detail}`,
      exitCode: null,
      next: i + 1
    };
  }
  if (m = FEATURES.exec(line)) {
    const missing = missingFeatures(m[2], m[5]);
    const platform = m[1] !== m[4] ? `platform mismatch: needs ${m[1]}, this machine is ${m[4]}` : "";
    const reason = [missing, platform].filter(Boolean).join("; ") || "required system or feature not available";
    return { drv: m[3], reason, exitCode: null, next: i + 1 };
  }
  const timeout = TIMEOUT.exec(line);
  if (timeout) {
    const drv = drvIn(line) ?? activeBuild;
    const what = timeout[2] ? "of silence (max-silent-time)" : "(timeout)";
    if (drv)
      return {
        drv,
        reason: `timed out after ${timeout[1]} seconds ${what}`,
        exitCode: null,
        next: i + 1
      };
  }
  const limit = LOG_LIMIT.exec(line);
  const limitDrv = limit && (drvIn(line) ?? activeBuild);
  if (limit && limitDrv) {
    const reason = `killed after writing more than ${limit[1]} bytes of log output`;
    return { drv: limitDrv, reason, exitCode: null, next: i + 1 };
  }
  return DEPENDENTS.some((re) => re.test(line)) ? "dependent" : void 0;
}
function quotedTail(raw, lines2, from) {
  let heading = -1;
  for (let i = from - 1; i < Math.min(lines2.length, from + 8) && heading < 0; i++) {
    if (/last \d+ log lines:$/i.test(lines2[i])) heading = i;
    else if (i >= from && /^\S/.test(raw[i])) return [];
  }
  if (heading < 0) return [];
  const tail = [];
  const legacy = !lines2[heading].startsWith("last") && !lines2[heading].startsWith("Last");
  for (let i = heading + 1; i < lines2.length; i++) {
    const quoted = /^\s*> ?(.*)$/.exec(raw[i]);
    if (quoted) tail.push(quoted[1]);
    else if (legacy && /^ {2}/.test(raw[i])) tail.push(raw[i].slice(2));
    else break;
  }
  return tail;
}
function scan(text2, activeBuild) {
  const raw = stripAnsi(text2).split("\n");
  const lines2 = raw.map(normalise);
  const roots = /* @__PURE__ */ new Map();
  const dependents = [];
  let last;
  let building = activeBuild;
  for (let i = 0; i < lines2.length; i++) {
    const started = /^building '([^']+\.drv)'/.exec(lines2[i]);
    if (started && !activeBuild) building = started[1];
    if (/build failure may have been caused by lack of free disk space/.test(lines2[i])) {
      if (last && !last.reason.includes("disk space"))
        last.reason += " (possibly lack of free disk space)";
      continue;
    }
    const found = rootCauseAt(lines2, i, building);
    if (found === "dependent") {
      const drv = drvIn(lines2[i]);
      if (drv && !dependents.includes(drv)) dependents.push(drv);
      continue;
    }
    if (!found) continue;
    const tail = quotedTail(raw, lines2, found.next);
    const failure = {
      drv: found.drv,
      name: derivationName(found.drv),
      reason: found.reason,
      exitCode: found.exitCode,
      ...found.signal ? { signal: found.signal } : {},
      tail
    };
    const seen = roots.get(found.drv);
    if (seen) {
      if (!seen.tail.length && tail.length) seen.tail = tail;
      if (seen.exitCode === null && failure.exitCode !== null)
        Object.assign(seen, failure, { tail: seen.tail });
      last = seen;
    } else {
      roots.set(found.drv, failure);
      last = failure;
    }
  }
  return { roots: [...roots.values()], dependents: dependents.filter((d) => !roots.has(d)) };
}
function findRootFailures(text2, activeBuild) {
  return scan(text2, activeBuild).roots;
}
function findDependents(text2) {
  return scan(text2).dependents;
}
var EVALUATION_ERRORS = [
  /error: attribute '[^']*' missing/,
  /does not provide attribute/,
  /error: getting status of/,
  /path '[^']*' does not exist/,
  /\bthrow\b|evaluation aborted/,
  /error: .*flake.*does not exist/,
  /error: undefined variable/,
  /error: (?:syntax error|value is|expected a|cannot coerce|infinite recursion|assertion)/,
  /while evaluating/
];
var NOT_EVALUATION = /cannot connect to|Permission denied|No space left|opening lock file|experimental Nix feature|unrecognised flag|unknown setting|database is locked/;
function isEvaluationError(text2) {
  const plain = stripAnsi(text2);
  const { roots, dependents } = scan(plain);
  if (roots.length || dependents.length) return false;
  if (EVALUATION_ERRORS.some((re) => re.test(plain))) return true;
  const started = /^building '|^\s*these \d+ derivations will be built/m.test(plain);
  return !started && /^error:/m.test(plain) && !NOT_EVALUATION.test(plain);
}

// src/nix/diagnostics.ts
var TAIL_LINES = 25;
function failureFileNames(failures) {
  const count = /* @__PURE__ */ new Map();
  for (const failure of failures) count.set(failure.name, (count.get(failure.name) ?? 0) + 1);
  return failures.map((failure) => {
    const safe = failure.name.replace(/[^A-Za-z0-9._+-]/g, "_");
    if ((count.get(failure.name) ?? 0) < 2) return safe;
    const hash = failure.drv.slice(failure.drv.lastIndexOf("/") + 1).slice(0, 8);
    return `${hash}-${safe}`;
  });
}
function lines(text2) {
  const all = stripAnsi(text2).replace(/\r/g, "").split("\n");
  while (all.length && all[all.length - 1] === "") all.pop();
  return all;
}
async function fullLog(nix, failure, events, env) {
  const result = await run(nix.nixPath, ["log", failure.drv], { env });
  if (result.exitCode === 0 && result.stdout.trim()) {
    return { log: lines(result.stdout), source: `nix log ${failure.drv}` };
  }
  const said = lines(result.startError ?? result.stderr).filter((l) => l.startsWith("error:"));
  const why = said.length ? said.join(" ") : `exit code ${result.exitCode}`;
  const captured = events.logOf(failure.drv);
  if (captured.length) {
    return { log: captured, source: `the build's events (nix log had none: ${why})` };
  }
  if (failure.tail.length) {
    return {
      log: failure.tail,
      source: `the tail Nix quoted in its error (nix log had none: ${why})`
    };
  }
  return { log: [], source: `nowhere: nix log had none (${why}) and the build printed nothing` };
}
async function derivationJson(nix, drv, env) {
  const result = await run(nix.nixPath, [...nix.capabilities.derivationShow, drv], { env });
  if (result.exitCode === 0) {
    try {
      return JSON.stringify(JSON.parse(result.stdout), null, 2) + "\n";
    } catch {
      return result.stdout;
    }
  }
  const command = ["nix", ...nix.capabilities.derivationShow, drv].join(" ");
  const error2 = stripAnsi(result.startError ?? result.stderr).trim();
  return JSON.stringify({ error: `${command} failed: ${error2}` }, null, 2) + "\n";
}
async function collectFailureLogs(nix, failures, events, dir, ctx) {
  const failedDir = join5(dir, "failed");
  await mkdir5(failedDir, { recursive: true });
  const env = { ...ctx.env, ...nix.env };
  const names = failureFileNames(failures);
  const collected = [];
  for (const [index, failure] of failures.entries()) {
    const { log, source } = await fullLog(nix, failure, events, env);
    const logFile = join5(failedDir, `${names[index]}.log`);
    const header = [`# ${failure.drv}`, `# ${failure.reason}`, `# log from ${source}`, ""];
    await writeFile5(logFile, ctx.secrets.redact([...header, ...log].join("\n") + "\n"));
    const json = await derivationJson(nix, failure.drv, env);
    await writeFile5(join5(failedDir, `${names[index]}.drv.json`), ctx.secrets.redact(json));
    const tail = log.slice(-TAIL_LINES).map((line) => ctx.secrets.redact(line));
    const shown = tail.length ? tail : failure.tail.map((line) => ctx.secrets.redact(line));
    ctx.log.error(shown.join("\n") || `(no log) ${failure.drv}`, {
      title: `build failed: ${failure.name} \u2014 ${failure.reason}`
    });
    collected.push({
      drv: failure.drv,
      name: failure.name,
      reason: failure.reason,
      exitCode: failure.exitCode,
      log: relative(ctx.reportDir, logFile),
      tail: shown
    });
  }
  return collected;
}

// src/nix/events.ts
var ActivityType = {
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  substitute: 108,
  fetchTree: 112
};
var ResultType = {
  buildLogLine: 101,
  setPhase: 104,
  progress: 105,
  postBuildLogLine: 107
};
var PREFIX = "@nix ";
function parseEventLine(line) {
  if (!line.startsWith(PREFIX)) return void 0;
  let json;
  try {
    json = JSON.parse(line.slice(PREFIX.length));
  } catch {
    return void 0;
  }
  if (typeof json !== "object" || json === null) return void 0;
  const e = json;
  const num = (value) => typeof value === "number" ? value : 0;
  const fields = Array.isArray(e.fields) ? e.fields : [];
  switch (e.action) {
    case "start":
      return {
        action: "start",
        id: num(e.id),
        level: num(e.level),
        type: num(e.type),
        text: typeof e.text === "string" ? e.text : "",
        fields,
        parent: num(e.parent)
      };
    case "stop":
      return { action: "stop", id: num(e.id) };
    case "result":
      return { action: "result", id: num(e.id), type: num(e.type), fields };
    case "msg": {
      const msg = typeof e.msg === "string" ? e.msg : "";
      const rawMsg = typeof e.raw_msg === "string" ? e.raw_msg : void 0;
      return {
        action: "msg",
        level: num(e.level),
        msg,
        ...rawMsg === void 0 ? {} : { rawMsg }
      };
    }
    default:
      return void 0;
  }
}
var text = (value) => typeof value === "string" ? value : String(value ?? "");
var BuildEvents = class {
  activities = /* @__PURE__ */ new Map();
  /** By derivation path, in the order builds started. */
  builds = /* @__PURE__ */ new Map();
  progress = { done: 0, expected: 0, running: 0, failed: 0 };
  errors = [];
  /** Lines that were not events (other programs, `nix develop`, older Nix). */
  plainLines = [];
  human = [];
  buildByActivity = /* @__PURE__ */ new Map();
  buildsActivity;
  lastStopped;
  /** Consumes one stderr line. */
  push(line) {
    const event = parseEventLine(line);
    const outcome = event ? this.apply(event) : this.plain(line);
    this.human.push(...outcome.human);
    return event ? { ...outcome, event } : outcome;
  }
  /** Consumes many lines (a recorded transcript). */
  pushAll(lines2) {
    for (const line of lines2) this.push(line);
    return this;
  }
  humanLines() {
    return [...this.human];
  }
  /** The log lines of one derivation's build (empty if it never ran here). */
  logOf(drv) {
    return this.builds.get(drv)?.log ?? [];
  }
  runningBuilds() {
    return [...this.builds.values()].filter((build) => build.running);
  }
  /** "[3/7 built, 1 running] building foo (buildPhase)" */
  progressLine() {
    const { done, expected, running, failed } = this.progress;
    const counts = [`${done}/${expected} built`];
    if (running) counts.push(`${running} running`);
    if (failed) counts.push(`${failed} failed`);
    const current = this.runningBuilds().at(-1);
    const what = current ? ` building ${current.name}${current.phase ? ` (${current.phase})` : ""}` : "";
    return `[${counts.join(", ")}]${what}`;
  }
  /** Every error message, one after the other, as Nix printed them. */
  errorText() {
    return this.errors.map((error2) => error2.text).join("\n");
  }
  plain(line) {
    const clean = stripAnsi(line);
    this.plainLines.push(clean);
    return { human: [clean] };
  }
  apply(event) {
    switch (event.action) {
      case "start":
        return this.start(event);
      case "stop":
        return this.stop(event.id);
      case "result":
        return this.result(event);
      case "msg":
        return this.message(event);
    }
  }
  start(event) {
    const { id, type, fields, parent } = event;
    this.activities.set(id, { id, type, text: event.text, fields, parent, running: true });
    if (type === ActivityType.builds) this.buildsActivity = id;
    if (type === ActivityType.build) {
      const drv = text(fields[0]);
      const build = {
        drv,
        name: derivationName(drv),
        activityId: id,
        running: true,
        log: []
      };
      this.builds.set(drv, build);
      this.buildByActivity.set(id, build);
      return { human: [`${stripAnsi(event.text) || `building '${drv}'`}...`], started: drv };
    }
    const say = event.level <= 3 && event.text ? [stripAnsi(event.text)] : [];
    return { human: say };
  }
  stop(id) {
    const activity = this.activities.get(id);
    if (activity) activity.running = false;
    const build = this.buildByActivity.get(id);
    if (!build) return { human: [] };
    build.running = false;
    this.lastStopped = build.drv;
    return { human: [], finished: build.drv };
  }
  result(event) {
    const build = this.buildByActivity.get(event.id);
    if (build && (event.type === ResultType.buildLogLine || event.type === ResultType.postBuildLogLine)) {
      const line = stripAnsi(text(event.fields[0]));
      build.log.push(line);
      return { human: [`${build.name}> ${line}`] };
    }
    if (build && event.type === ResultType.setPhase) {
      build.phase = text(event.fields[0]);
      return { human: [] };
    }
    if (event.type === ResultType.progress && event.id === this.buildsActivity) {
      const [done, expected, running, failed] = event.fields.map(Number);
      Object.assign(this.progress, { done, expected, running, failed });
    }
    return { human: [] };
  }
  message(event) {
    const message = stripAnsi(event.msg);
    if (event.level !== 0) return { human: [message] };
    const active = this.runningBuilds().at(-1)?.drv ?? this.lastStopped;
    const error2 = { text: message, ...active ? { activeBuild: active } : {} };
    this.errors.push(error2);
    return { human: [message], error: error2 };
  }
};

// src/nix/build.ts
var PROGRESS_INTERVAL_MS = 5e3;
function nixCommand(nix, request, args) {
  if (request.context !== "devshell") return { command: nix.nixPath, args };
  if (!request.devshell) throw new Error("a devshell build needs the devshell attribute");
  const shell = `${request.flake}#${request.devshell}`;
  return { command: nix.nixPath, args: ["develop", shell, "-c", nix.nixPath, ...args] };
}
function buildArguments(nix, request) {
  const args = [
    "build",
    `${request.flake}#${request.image}`,
    "--impure",
    "--no-link",
    "-L",
    "--keep-going",
    "--log-format",
    "internal-json",
    nix.capabilities.printOutPaths ? "--print-out-paths" : "--json"
  ];
  if (request.system) args.push("--system", request.system);
  return args;
}
function parseOutPath(stdout, printOutPaths) {
  if (printOutPaths)
    return stdout.split("\n").find((line) => line.trim().startsWith("/"))?.trim();
  try {
    const built = JSON.parse(stdout);
    const outputs = built[0]?.outputs ?? {};
    return outputs.out ?? Object.values(outputs)[0];
  } catch {
    return void 0;
  }
}
function nixError(stderr) {
  const lines2 = stripAnsi(stderr).replace(/\r/g, "").trimEnd().split("\n");
  const first = lines2.findIndex((line) => line.startsWith("error:"));
  return (first < 0 ? lines2 : lines2.slice(first)).join("\n").trim();
}
var AppendFile = class {
  constructor(path, redact) {
    this.redact = redact;
    this.stream = createWriteStream(path, { flags: "a" });
    this.stream.on("error", () => void 0);
  }
  redact;
  stream;
  write(line) {
    this.stream.write(this.redact(line) + "\n");
  }
  close() {
    return new Promise((resolve3) => this.stream.end(() => resolve3()));
  }
};
async function findIso(outPath) {
  const isoDir = join6(outPath, "iso");
  const entries = await readdir(isoDir).catch(() => void 0);
  const isos = (entries ?? []).filter((name) => name.endsWith(".iso"));
  if (isos.length === 1) return { isoPath: join6(isoDir, isos[0]) };
  if (isos.length > 1) {
    return { error: `several ISOs in ${isoDir}: ${isos.join(", ")}; expected exactly one` };
  }
  const found = await listing(outPath);
  return {
    error: `no ISO in the build output: expected ${isoDir}/*.iso, but ${outPath} holds ${found}`
  };
}
async function listing(path) {
  const info2 = await stat(path).catch(() => void 0);
  if (!info2) return "nothing (it does not exist)";
  if (!info2.isDirectory()) return "a single file, not a directory";
  const names = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory()) names.push(entry.name);
    else {
      const inner = await readdir(join6(path, entry.name)).catch(() => []);
      names.push(
        ...inner.length ? inner.map((name) => `${entry.name}/${name}`) : [`${entry.name}/`]
      );
    }
  }
  const shown = names.slice(0, 20).join(", ") + (names.length > 20 ? ", \u2026" : "");
  return names.length ? shown : "nothing (an empty directory)";
}
function shellTempParent(env) {
  return env.TMPDIR || "/tmp";
}
async function nixShellDirs(dir) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return new Set(
    entries.filter((e) => e.isDirectory() && e.name.startsWith("nix-shell.")).map((e) => e.name)
  );
}
async function removeNewShellDirs(dir, before) {
  const removed = [];
  const uid = process.getuid?.();
  for (const name of await nixShellDirs(dir)) {
    if (before.has(name)) continue;
    const path = join6(dir, name);
    const info2 = await lstat(path).catch(() => void 0);
    if (!info2?.isDirectory() || uid !== void 0 && info2.uid !== uid) continue;
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => void 0
    );
  }
  return removed;
}
function buildEnv(nix, request, ctx) {
  return { ...stringEnv(ctx.env), ...nix.env, ...request.env };
}
async function evaluateDrvPath(nix, request, ctx) {
  await mkdir6(request.dir, { recursive: true });
  const evalArgs = ["eval", "--raw", "--impure", `${request.flake}#${request.image}.drvPath`];
  const evaluation = await runNix(nix, request, evalArgs, buildEnv(nix, request, ctx));
  const evalLog = new AppendFile(join6(request.dir, "eval.log"), (text2) => ctx.secrets.redact(text2));
  evalLog.write(stripAnsi(evaluation.stderr).trimEnd());
  await evalLog.close();
  if (evaluation.exitCode !== 0) {
    return { error: evaluation.startError ?? (nixError(evaluation.stderr) || "nix eval failed") };
  }
  return { drvPath: evaluation.stdout.trim() };
}
async function buildImage(nix, request, ctx) {
  if (request.context !== "devshell") return buildInContext(nix, request, ctx);
  const parent = shellTempParent({ ...stringEnv(ctx.env), ...nix.env, ...request.env });
  const before = await nixShellDirs(parent);
  try {
    return await buildInContext(nix, request, ctx);
  } finally {
    const removed = await removeNewShellDirs(parent, before);
    if (removed.length) ctx.log.debug(`removed what nix develop left: ${removed.join(", ")}`);
  }
}
async function buildInContext(nix, request, ctx) {
  const started = Date.now();
  const redact = (text2) => ctx.secrets.redact(text2);
  const result = (fields) => ({
    context: request.context,
    failures: [],
    dependents: [],
    ...fields,
    durationMs: Date.now() - started
  });
  await mkdir6(request.dir, { recursive: true });
  const env = buildEnv(nix, request, ctx);
  const evaluation = request.drvPath ? { drvPath: request.drvPath } : await evaluateDrvPath(nix, request, ctx);
  if (!evaluation.drvPath) {
    const error2 = redact(evaluation.error ?? "nix eval failed");
    ctx.log.error(error2, { title: `evaluation of ${request.image} failed` });
    return result({ status: "eval-failed", error: error2 });
  }
  const drvPath = evaluation.drvPath;
  ctx.log.info(`${request.image} (${request.context}): ${drvPath}`);
  const events = new BuildEvents();
  const eventsFile = new AppendFile(join6(request.dir, "events.jsonl"), redact);
  const humanLog = new AppendFile(join6(request.dir, "build.log"), redact);
  const buildArgs = buildArguments(nix, request);
  const where = request.context === "devshell" ? ` (in nix develop ${request.devshell})` : "";
  humanLog.write(`$ ${nix.nixPath} ${buildArgs.join(" ")}${where}`);
  let lastProgress = 0;
  let lastLine = "";
  const progress = (force) => {
    const now = Date.now();
    const line = events.progressLine();
    const idle = !force && (line === lastLine || line.startsWith("[0/0 built]"));
    if (idle || !force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    lastLine = line;
    ctx.log.info(redact(line));
  };
  const onLine = (line) => {
    const outcome = events.push(line);
    if (outcome.event) eventsFile.write(line.slice(line.indexOf("{")));
    for (const human of outcome.human) humanLog.write(human);
    if (outcome.error) ctx.log.info(redact(outcome.error.text));
    progress(Boolean(outcome.started || outcome.finished));
  };
  const build = await runNix(nix, request, buildArgs, env, onLine);
  await Promise.all([eventsFile.close(), humanLog.close()]);
  if (build.startError) {
    return result({ status: "build-failed", drvPath, error: redact(build.startError) });
  }
  if (build.exitCode !== 0) {
    const errorText = [events.errorText(), ...events.plainLines].join("\n");
    const roots = /* @__PURE__ */ new Map();
    for (const error3 of events.errors)
      for (const failure of findRootFailures(error3.text, error3.activeBuild))
        if (!roots.has(failure.drv)) roots.set(failure.drv, failure);
    for (const failure of findRootFailures(events.plainLines.join("\n")))
      if (!roots.has(failure.drv)) roots.set(failure.drv, failure);
    const dependents = findDependents(errorText).filter((drv) => !roots.has(drv));
    const error2 = redact(nixError(errorText) || `nix build exited with code ${build.exitCode}`);
    const startedBuilding = events.builds.size > 0 || ctx.signal.aborted;
    if (!roots.size && !startedBuilding && isEvaluationError(errorText)) {
      return result({ status: "eval-failed", drvPath, error: error2 });
    }
    const failures = await collectFailureLogs(nix, [...roots.values()], events, request.dir, ctx);
    if (failures.length) return result({ status: "build-failed", drvPath, failures, dependents });
    ctx.log.error(error2, { title: `build of ${request.image} failed` });
    return result({ status: "build-failed", drvPath, error: error2, dependents });
  }
  const outPath = parseOutPath(build.stdout, nix.capabilities.printOutPaths);
  if (!outPath) {
    const error2 = `nix build succeeded but printed no output path: ${redact(build.stdout.trim())}`;
    return result({ status: "build-failed", drvPath, error: error2 });
  }
  const iso = await findIso(outPath);
  if (!iso.isoPath) {
    ctx.log.error(redact(iso.error ?? ""), { title: `no ISO in ${request.image}` });
    return result({ status: "build-failed", drvPath, outPath, error: redact(iso.error ?? "") });
  }
  const built = [...events.builds.keys()];
  return result({ status: "passed", drvPath, outPath, isoPath: iso.isoPath, built });
}
function runNix(nix, request, args, env, onStderrLine) {
  let command;
  try {
    command = nixCommand(nix, request, args);
  } catch (error2) {
    const startError = error2 instanceof Error ? error2.message : String(error2);
    return Promise.resolve({ exitCode: null, stdout: "", stderr: "", startError });
  }
  return run(command.command, command.args, { env, onStderrLine });
}

// src/deadline.ts
var TIMED_OUT = /* @__PURE__ */ Symbol("timed out");
async function withDeadline(work, ms) {
  let timer;
  const deadline = new Promise((resolve3) => {
    timer = setTimeout(resolve3, ms, TIMED_OUT);
  });
  work.catch(() => void 0);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
async function withTimeout(work, ms, message) {
  const outcome = await withDeadline(work, ms);
  if (outcome === TIMED_OUT) throw new Error(message);
  return outcome;
}

// src/toolkit.ts
var actionsCache = () => import("./cache-SXVXI4JB.js");
var actionsArtifact = () => import("./artifact-F323T2UA.js");
async function quietly(work, failures) {
  const original = process.stdout.write;
  const pattern = /^(?:::(?:error|warning|debug)::)?((?:Failed to (?:restore|save|reserve cache)|Cache reservation failed): .*)$/;
  process.stdout.write = function(chunk, ...rest) {
    if (typeof chunk === "string") {
      for (const line of chunk.split("\n")) {
        const match = pattern.exec(line.trim());
        if (match) failures.push(match[1].replace(/%0A/g, " ").replace(/%25/g, "%"));
      }
      chunk = chunk.replace(/^::(?:error|warning)::(Failed to (?:restore|save): )/gm, "$1");
    }
    return original.call(this, chunk, ...rest);
  };
  try {
    return await work();
  } finally {
    process.stdout.write = original;
  }
}
function cacheKeyTaken(failures) {
  const refused = failures.find((failure) => failure.startsWith("Failed to reserve cache:"));
  return refused !== void 0 && /Response was not ok|already exists/i.test(refused);
}
async function cacheLookup(work, ms) {
  const failures = [];
  const found = await withDeadline(quietly(work, failures), ms);
  if (found === TIMED_OUT) return { down: `the cache service did not answer in ${ms / 1e3} s` };
  if (!found && failures.length) return { down: failures.join("; ") };
  return { found };
}

// src/cache/image-cache.ts
import { createHash as createHash2 } from "node:crypto";
import { existsSync as existsSync3, readFileSync as readFileSync2 } from "node:fs";
import { mkdir as mkdir7, readdir as readdir3, readlink, rm as rm3 } from "node:fs/promises";
import { dirname as dirname3, join as join9, resolve as resolve2 } from "node:path";

// src/cache/actions-cache.ts
import { readdir as readdir2, stat as stat2 } from "node:fs/promises";
import { join as join7, resolve } from "node:path";
var CACHE_PATH = ".boot-image-vm-nix-cache";
var LOOKUP_TIMEOUT_MS = 2e4;
async function cacheUnavailable(env) {
  if (!env.ACTIONS_RUNTIME_TOKEN || !(await actionsCache()).isFeatureAvailable()) {
    return "the Actions cache service is not available here (no ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL)";
  }
  const workspace = resolve(env.GITHUB_WORKSPACE || process.cwd());
  if (workspace !== resolve(process.cwd())) {
    return `the working directory is not GITHUB_WORKSPACE (${workspace}), where @actions/cache puts entries`;
  }
  return void 0;
}
var nixFlags = ["--extra-experimental-features", "nix-command"];
async function directoryBytes(dir) {
  let total = 0;
  for (const entry of await readdir2(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join7(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await stat2(path)).size;
  }
  return total;
}

// src/cache/keys.ts
var KEY_PREFIX = "boot-image-vm-v1";
function storeHash(path) {
  const base = path.split("/").pop() ?? "";
  const match = /^([0-9a-df-np-sv-z]{32})-/.exec(base);
  if (!match) throw new Error(`not a store path: ${path}`);
  return match[1];
}
function nixGeneration(version) {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? `${match[1]}.${match[2]}` : "unknown";
}
function segment(text2) {
  return text2.replace(/[^A-Za-z0-9._]+/g, "_") || "none";
}
function cacheKeys(parts) {
  const system = segment(parts.system);
  const lock = parts.flakeLockHash ? parts.flakeLockHash.slice(0, 16) : "nolock";
  const nix = `nix${nixGeneration(parts.nixVersion)}`;
  const bySystem = `${KEY_PREFIX}-${system}-`;
  const byLock = `${bySystem}${lock}-`;
  const byNix = `${byLock}${nix}-`;
  return { key: `${byNix}${storeHash(parts.drvPath)}`, restoreKeys: [byNix, byLock, bySystem] };
}
function narinfoStorePath(text2) {
  return /^StorePath:\s*(\S+)\s*$/m.exec(text2)?.[1];
}
function parsePathInfo(json) {
  const parsed = JSON.parse(json);
  const entries = Array.isArray(parsed) ? parsed.map((item) => [void 0, item]) : Object.entries(parsed).map(
    ([path, item]) => [path, item ?? { valid: false }]
  );
  const infos = [];
  for (const [key, item] of entries) {
    const path = typeof item.path === "string" ? item.path : key;
    if (!path || item.valid === false) continue;
    const references = Array.isArray(item.references) ? item.references.filter((r) => typeof r === "string") : [];
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    infos.push({
      path,
      narSize: Number(item.narSize) || 0,
      references: references.map((r) => r.startsWith("/") ? r : dir + r)
    });
  }
  return infos;
}
function planSave(roots, infos, capBytes) {
  const byPath = new Map(infos.map((info2) => [info2.path, info2]));
  const chosen = /* @__PURE__ */ new Set();
  const leftOut = [];
  let bytes = 0;
  for (const root of roots) {
    if (!byPath.has(root) || chosen.has(root)) continue;
    const added = [];
    const stack = [root];
    const seen = /* @__PURE__ */ new Set();
    while (stack.length) {
      const path = stack.pop();
      if (seen.has(path) || chosen.has(path)) continue;
      seen.add(path);
      const info2 = byPath.get(path);
      if (!info2) continue;
      added.push(path);
      stack.push(...info2.references);
    }
    const size2 = added.reduce((sum, path) => sum + (byPath.get(path)?.narSize ?? 0), 0);
    if (bytes + size2 > capBytes) {
      leftOut.push({ root, bytes: size2 });
      continue;
    }
    bytes += size2;
    for (const path of added) chosen.add(path);
  }
  return { paths: [...chosen].sort(), bytes, leftOut };
}
function formatBytes2(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

// src/cache/save.ts
import { rm as rm2 } from "node:fs/promises";
import { dirname as dirname2, join as join8 } from "node:path";
async function buildClosure(state, env) {
  if (!state.drvPaths.length) return [];
  const nixStore = join8(dirname2(state.nixPath), "nix-store");
  const query = await run(nixStore, ["-qR", "--include-outputs", ...state.drvPaths], { env });
  if (query.exitCode !== 0) return [];
  return query.stdout.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("/") && !line.endsWith(".drv"));
}
async function pathInfos(nixPath, paths, env) {
  if (!paths.length) return [];
  const info2 = await run(nixPath, ["path-info", ...nixFlags, "--json", "-r", ...paths], { env });
  if (info2.exitCode !== 0) throw new Error(nixError(info2.stderr) || "nix path-info failed");
  return parsePathInfo(info2.stdout);
}
async function writeEntry(state, paths, env) {
  for (const compression of ["zstd", "xz"]) {
    await rm2(state.dir, { recursive: true, force: true });
    let failed;
    for (let i = 0; i < paths.length && !failed; i += 200) {
      const to = `file://${state.dir}?compression=${compression}`;
      const args = ["copy", ...nixFlags, "--to", to, ...paths.slice(i, i + 200)];
      const copy = await run(state.nixPath, args, { env });
      if (copy.exitCode !== 0) failed = copy.startError ?? (nixError(copy.stderr) || "failed");
    }
    if (!failed) return compression;
    if (!/compression|zstd/i.test(failed)) throw new Error(`nix copy --to: ${failed}`);
  }
  throw new Error("nix copy --to failed with zstd and with xz compression");
}
async function saveImageCache(state, log) {
  const started = Date.now();
  const base = { key: state.key, leftOut: [] };
  if (state.hit) {
    return { ...base, status: "skipped", detail: "exact hit: the entry exists already" };
  }
  const unavailable = state.skip ?? await cacheUnavailable(process.env);
  if (unavailable) return { ...base, status: "skipped", detail: unavailable };
  const env = { ...stringEnv(process.env), ...state.nixEnv };
  const failures = [];
  const work = async () => {
    const roots = await pathInfos(state.nixPath, state.roots, env);
    const extra = await buildClosure(state, env).then((paths) => pathInfos(state.nixPath, paths, env).then((infos) => ({ paths, infos }))).catch(() => ({ paths: [], infos: [] }));
    const plan = planSave(
      [...state.roots, ...extra.paths],
      [...roots, ...extra.infos],
      state.maxBytes
    );
    const leftOut = plan.leftOut.filter((item) => state.roots.includes(item.root));
    const skippedExtra = plan.leftOut.length - leftOut.length;
    if (!plan.paths.length) {
      return { ...base, leftOut, status: "skipped", detail: "nothing fits under cache-max-size" };
    }
    const compression = await writeEntry(state, plan.paths, env);
    const bytes = await directoryBytes(state.dir);
    const cache = await actionsCache();
    const id = await quietly(() => cache.saveCache([CACHE_PATH], state.key), failures);
    const saveMs = Date.now() - started;
    const notes = [
      `${plan.paths.length} store paths, ${formatBytes2(bytes)} (${compression}; ${formatBytes2(plan.bytes)} uncompressed)`,
      ...leftOut.length ? [
        `left out to stay under cache-max-size: ${leftOut.map((l) => `${l.root} (${formatBytes2(l.bytes)})`).join(", ")}`
      ] : [],
      ...skippedExtra ? [`${skippedExtra} build-time paths did not fit`] : []
    ];
    const fields = { ...base, leftOut, bytes, paths: plan.paths.length, saveMs };
    if (id > 0)
      return {
        ...fields,
        status: "saved",
        detail: `saved in ${(saveMs / 1e3).toFixed(1)} s: ${notes.join("; ")}`
      };
    if (cacheKeyTaken(failures)) {
      return { ...fields, status: "skipped", detail: "another job saved this key first" };
    }
    return {
      ...fields,
      status: "error",
      detail: `save failed: ${failures.join("; ") || "the cache service refused it"}`
    };
  };
  let save;
  try {
    const outcome = await withDeadline(work(), state.timeoutSeconds * 1e3);
    if (outcome === TIMED_OUT) signalChildren("SIGTERM");
    save = outcome === TIMED_OUT ? { ...base, status: "error", detail: `timed out after ${state.timeoutSeconds} s` } : outcome;
  } catch (error2) {
    save = { ...base, status: "error", detail: errorMessage(error2) };
  }
  await rm2(state.dir, { recursive: true, force: true }).catch(() => void 0);
  if (save.status === "error") log.warning(`The image cache was not saved: ${save.detail}`);
  else log.info(`Image cache ${save.status} (${state.key}): ${save.detail}`);
  return save;
}

// src/cache/image-cache.ts
function cacheReport(restore) {
  const { hit, drvPath, dir, ...result } = restore;
  void [hit, drvPath, dir];
  return result;
}
function nixEnvOf(nix, env) {
  return { ...stringEnv(env), ...nix.env };
}
async function flakeLockHash(nix, flake, env) {
  const sha = (text2) => createHash2("sha256").update(text2).digest("hex");
  const local = /^(?:path:|git\+file:(?:\/\/)?)?(\.{1,2}|\.{0,2}\/[^?#]*)(?:[?#].*)?$/.exec(flake);
  if (local) {
    const lock = join9(resolve2(local[1]), "flake.lock");
    return existsSync3(lock) ? sha(readFileSync2(lock, "utf8")) : "";
  }
  const metadata = await run(nix.nixPath, ["flake", "metadata", "--json", ...nixFlags, flake], {
    env
  });
  if (metadata.exitCode !== 0) return "";
  try {
    const locks = JSON.parse(metadata.stdout).locks;
    return locks ? sha(JSON.stringify(locks)) : "";
  } catch {
    return "";
  }
}
async function importEntry(nixPath, dir, env) {
  const paths = [];
  for (const name of await readdir3(dir)) {
    if (!name.endsWith(".narinfo")) continue;
    const path = narinfoStorePath(readFileSync2(join9(dir, name), "utf8"));
    if (path) paths.push(path);
  }
  if (!paths.length) return { paths: 0, error: "the restored entry holds no store paths" };
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    const args = ["copy", ...nixFlags, "--from", `file://${dir}`, "--no-check-sigs", ...batch];
    const copy = await run(nixPath, args, { env });
    if (copy.exitCode !== 0) {
      return { paths: 0, error: copy.startError ?? nixError(copy.stderr) ?? "nix copy failed" };
    }
  }
  return { paths: paths.length };
}
async function restoreImageCache(nix, request, ctx) {
  const started = Date.now();
  const unavailable = await cacheUnavailable(ctx.env);
  if (unavailable) return { status: "disabled", hit: false, detail: unavailable };
  const env = nixEnvOf(nix, ctx.env);
  const evaluation = await evaluateDrvPath(
    nix,
    {
      flake: request.flake,
      image: request.image,
      context: "host",
      env: request.keyEnv,
      dir: request.buildDir
    },
    ctx
  );
  if (!evaluation.drvPath) {
    return {
      status: "error",
      hit: false,
      detail: "the image did not evaluate, so it has no cache key (the build stage says why)"
    };
  }
  const drvPath = evaluation.drvPath;
  const dir = resolve2(process.cwd(), CACHE_PATH);
  const miss = (fields) => ({
    hit: false,
    drvPath,
    dir,
    restoreMs: Date.now() - started,
    ...fields
  });
  try {
    const system = await run(
      nix.nixPath,
      ["eval", ...nixFlags, "--raw", "--impure", "--expr", "builtins.currentSystem"],
      { env }
    );
    const { key, restoreKeys } = cacheKeys({
      system: system.exitCode === 0 ? system.stdout.trim() : "unknown-system",
      drvPath,
      nixVersion: nix.version,
      flakeLockHash: await flakeLockHash(nix, request.flake, env)
    });
    await rm3(dir, { recursive: true, force: true });
    const timeoutMs = request.timeoutSeconds * 1e3;
    const lookupMs = Math.min(LOOKUP_TIMEOUT_MS, timeoutMs);
    const cache = await actionsCache();
    const { found, down } = await cacheLookup(
      () => cache.restoreCache([CACHE_PATH], key, restoreKeys, { lookupOnly: true }),
      lookupMs
    );
    if (down) {
      ctx.log.warning(`The image cache was not restored (building without it): ${down}`);
      return miss({ status: "error", key, detail: down, serviceDown: true });
    }
    if (!found) {
      return miss({
        status: "miss",
        key,
        detail: "no entry for this image, its lock file or system"
      });
    }
    const remaining = Math.max(1e3, timeoutMs - (Date.now() - started));
    const failures = [];
    const download = quietly(
      () => cache.restoreCache([CACHE_PATH], key, restoreKeys, {
        timeoutInMs: remaining,
        segmentTimeoutInMs: remaining
      }),
      failures
    );
    const matchedKey = await withDeadline(download, remaining);
    if (matchedKey === TIMED_OUT || !matchedKey) {
      const detail2 = matchedKey === TIMED_OUT ? `the download of ${found} took over ${request.timeoutSeconds} s` : `restore of ${found} failed: ${failures.join("; ") || "no entry after all"}`;
      ctx.log.warning(`The image cache was not restored (building without it): ${detail2}`);
      return miss({ status: "error", key, detail: detail2, serviceDown: matchedKey === TIMED_OUT });
    }
    const bytesRestored = await directoryBytes(dir);
    const imported = await importEntry(nix.nixPath, dir, env);
    await rm3(dir, { recursive: true, force: true });
    if (imported.error) {
      ctx.log.warning(`The restored cache entry was not imported: ${imported.error}`);
      return miss({ status: "error", key, matchedKey, bytesRestored, detail: imported.error });
    }
    const hit = matchedKey === key;
    const restoreMs = Date.now() - started;
    const detail = `${hit ? "restored" : `restored the closest entry (${matchedKey})`}: ${imported.paths} store paths, ${formatBytes2(bytesRestored)} in ${(restoreMs / 1e3).toFixed(1)} s`;
    ctx.log.info(`Cache ${hit ? "hit" : "partial"}: ${detail}`);
    return {
      status: hit ? "hit" : "partial",
      hit,
      drvPath,
      dir,
      key,
      matchedKey,
      bytesRestored,
      restoreMs,
      detail
    };
  } catch (error2) {
    await rm3(dir, { recursive: true, force: true }).catch(() => void 0);
    ctx.log.warning(`The image cache was not restored: ${errorMessage(error2)}`);
    return miss({ status: "error", detail: errorMessage(error2) });
  }
}
async function devshellEnvPath(nix, installable, env, tempDir) {
  const profileDir = join9(tempDir, "devshell-profile");
  await mkdir7(profileDir, { recursive: true });
  const profile = join9(profileDir, "env");
  try {
    const args = ["print-dev-env", ...nixFlags, "--impure", installable, "--profile", profile];
    const printed = await run(nix.nixPath, args, { env: { ...env, ...nix.env } });
    if (printed.exitCode !== 0) return void 0;
    let target = profile;
    for (let hop = 0; hop < 5 && !target.startsWith("/nix/store/"); hop++) {
      target = resolve2(dirname3(target), await readlink(target));
    }
    return target.startsWith("/nix/store/") ? target : void 0;
  } catch {
    return void 0;
  } finally {
    await rm3(profileDir, { recursive: true, force: true }).catch(() => void 0);
  }
}
function cacheSaveState(restore, nix, parts) {
  if (!restore.key || !restore.dir) return void 0;
  return {
    key: restore.key,
    hit: restore.hit,
    skip: restore.serviceDown ? "the cache service failed during the restore; not trying again" : void 0,
    dir: restore.dir,
    nixPath: nix.nixPath,
    nixEnv: nix.env,
    roots: [...new Set(parts.roots)],
    drvPaths: [...new Set(parts.drvPaths)],
    maxBytes: parts.maxSizeMiB * 1024 * 1024,
    timeoutSeconds: parts.timeoutSeconds
  };
}

// src/report/baseline.ts
import { createHash as createHash3 } from "node:crypto";
var BASELINE_SCHEMA_VERSION = 1;
var BASELINE_OUTPUT_MAX_CHARS = 8 * 1024;
var MASKS = [
  // Host keys and fingerprints (a fresh host key each boot).
  [/\bSHA256:[A-Za-z0-9+/]{43}=?/g, "<fingerprint>"],
  [/\b(ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]{40,}={0,2}/g, "$1 <key>"],
  // MAC addresses (before the times of day, which look like their first three groups).
  [/\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi, "<mac>"],
  // Timestamps: ISO 8601, syslog-style, times of day, kernel and journal monotonic stamps.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, "<time>"],
  [
    /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:\d{1,2} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b[^\n]*?\d{2}:\d{2}:\d{2}(?: \w{1,5})?(?: \d{4})?/g,
    "<time>"
  ],
  [
    /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}/g,
    "<time>"
  ],
  [/\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b/g, "<time>"],
  [/\[ *\d+\.\d+\]/g, "[<t>]"],
  // Durations and lifetimes (systemd's "in 1.234s", ip's "valid_lft 86399sec", "up 5 min").
  [/\b\d+(?:\.\d+)?(?:ms|us|µs|sec|min|s)\b/g, "<duration>"],
  // Identifiers that change per boot: UUIDs, boot and machine ids.
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<uuid>"],
  [/\b[0-9a-f]{32}\b/g, "<id>"],
  // Addresses: IPv4 (with an optional prefix), IPv6 (two groups or more, or with ::).
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g, "<ipv4>"],
  [
    /(?<![\w:])(?:(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?)(?:\/\d{1,3})?(?![\w:])/gi,
    "<ipv6>"
  ],
  // Ephemeral ports after an address (54321), and pids in their usual spellings.
  [/(<ipv[46]>|\*|\]):(?:3[2-9]\d{3}|[4-6]\d{4})\b/g, "$1:<port>"],
  [/\bpid[=: ]+\d+/gi, "pid=<pid>"],
  [/\b([A-Za-z][\w.@-]*)\[\d+\]/g, "$1[<pid>]"],
  // Duplicate address detection states of a fresh IPv6 address.
  [/ (?:tentative|optimistic)\b/g, ""]
];
function normaliseProbeOutput(text2) {
  let out = settleLinkStates(text2.replace(/\r\n?/g, "\n"));
  for (const [pattern, replacement] of MASKS) out = out.replace(pattern, replacement);
  const lines2 = out.split("\n").map((line) => line.replace(/[ \t]+$/, ""));
  const kept = lines2.filter(
    (line, i) => !/^\s*inet6 <ipv6> .*\bdynamic\b/.test(line) && !(/^\s*valid_lft /.test(line) && /^\s*inet6 <ipv6> .*\bdynamic\b/.test(lines2[i - 1] ?? ""))
  );
  return kept.join("\n").replace(/\n+$/, "\n");
}
function settleLinkStates(text2) {
  const settling = (flags) => /\bNO-CARRIER\b/.test(flags) && /\bLOWER_UP\b/.test(flags);
  const plain = text2.replace(
    /^(\d+: \S+ <)([^>\n]*)(>[^\n]*)$/gm,
    (line, head, flags, rest) => settling(flags) ? `${head}${flags.replace(/NO-CARRIER,?/, "").replace(/,$/, "")}${rest.replace(/ state DOWN\b/, " state UP")}` : line
  );
  return plain.replace(
    /("flags":\[)([^\]]*)(\][^{}[\]]*?"operstate":")(\w+)"/g,
    (whole, head, flags, middle, state) => settling(flags) ? `${head}${flags.replace(/"NO-CARRIER",?/, "").replace(/,$/, "")}${middle}${state === "DOWN" ? "UP" : state}"` : whole
  );
}
function probeOutputBody(text2) {
  const start = text2.indexOf("--- stdout ---");
  return start >= 0 ? text2.slice(start) : text2;
}
function digest(text2) {
  return createHash3("sha256").update(text2).digest("hex").slice(0, 16);
}
function parseFailedUnits(text2) {
  const units = /* @__PURE__ */ new Set();
  for (const line of text2.split("\n")) {
    const match = /^\s*(?:[●*×x]\s+)?(\S+\.(?:service|socket|mount|automount|swap|target|timer|path|device|scope|slice))\s+\S+\s+failed\b/.exec(
      line
    );
    if (match) units.add(match[1]);
  }
  return [...units].sort();
}
function parseSystemState(text2) {
  const lines2 = stdoutOf(text2).split("\n").map((line) => line.trim()).filter(Boolean);
  const last = lines2.at(-1);
  return last && /^[a-z-]+$/.test(last) ? last : void 0;
}
function stdoutOf(text2) {
  return /--- stdout ---\n([\s\S]*?)(?:\n--- stderr ---|$)/.exec(text2)?.[1] ?? text2;
}
function baselineFrom(report, readProbeOutput, facts = {}) {
  const build = report.builds.find((b) => b.status === "passed" && b.outPath) ?? report.builds.find((b) => b.drvPath) ?? report.builds[0];
  const image = {
    flake: facts.flake,
    attribute: facts.attribute,
    drvPath: build?.drvPath,
    outPath: build?.outPath,
    isoPath: build?.isoPath,
    isoBytes: facts.isoBytes,
    closureBytes: facts.closureBytes
  };
  const vm = report.vm;
  const boot = vm?.boot;
  const baseline = {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    createdAt: report.finishedAt || report.startedAt,
    run: facts.run,
    result: report.result,
    image,
    nix: report.setup?.nix ? { version: report.setup.nix.version, variant: report.setup.nix.variant } : void 0,
    accel: boot?.accel,
    bootSeconds: boot?.status === "passed" ? boot.bootSeconds : void 0,
    milestones: Object.fromEntries((boot?.timeline ?? []).map((m) => [m.name, m.seconds])),
    test: vm?.test ? { exitCode: vm.test.exitCode, timedOut: vm.test.timedOut } : void 0
  };
  if (vm && boot?.status === "passed") {
    baseline.probes = vm.probes.map((probe) => {
      const text2 = readProbeOutput(probe.file);
      const entry = {
        name: probe.name,
        required: probe.required,
        exitCode: probe.exitCode,
        timedOut: probe.timedOut,
        missing: probe.missing
      };
      if (text2 === void 0) return entry;
      const normalised = normaliseProbeOutput(probeOutputBody(text2));
      entry.digest = digest(normalised);
      entry.output = normalised.slice(0, BASELINE_OUTPUT_MAX_CHARS);
      if (normalised.length > BASELINE_OUTPUT_MAX_CHARS) entry.truncated = true;
      const ran = !probe.missing && !probe.timedOut;
      if (probe.name === "failed-units" && ran)
        baseline.failedUnits = parseFailedUnits(stdoutOf(text2));
      if (probe.name === "system-state" && ran) baseline.systemState = parseSystemState(text2);
      return entry;
    });
  }
  return baseline;
}
function baselineJson(baseline) {
  return JSON.stringify(baseline, null, 2) + "\n";
}
function parseBaseline(text2) {
  let value;
  try {
    value = JSON.parse(text2);
  } catch (error2) {
    throw new Error(`not JSON (${error2 instanceof Error ? error2.message : String(error2)})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("not a baseline object");
  }
  const candidate = value;
  if (candidate.schemaVersion !== BASELINE_SCHEMA_VERSION) {
    throw new Error(
      `schemaVersion ${String(candidate.schemaVersion)} is not ${BASELINE_SCHEMA_VERSION} (written by another version of boot-image-vm)`
    );
  }
  if (typeof candidate.createdAt !== "string" || typeof candidate.image !== "object") {
    throw new Error("createdAt or image is missing");
  }
  return { ...candidate, milestones: candidate.milestones ?? {} };
}

export {
  actionsLog,
  consoleLog,
  TIMED_OUT,
  withDeadline,
  withTimeout,
  actionsCache,
  actionsArtifact,
  quietly,
  cacheKeyTaken,
  cacheLookup,
  LineSplitter,
  run,
  stringEnv,
  errorMessage,
  signalChildren,
  buildImage,
  saveImageCache,
  cacheReport,
  restoreImageCache,
  devshellEnvPath,
  cacheSaveState,
  parseNixVersion,
  capabilitiesFor,
  setupNix,
  cleanupSetup,
  cacheSaveLine,
  compareWithBaseline,
  noComparison,
  annotateComparison,
  renderSummary,
  writeReportFiles,
  BASELINE_SCHEMA_VERSION,
  baselineFrom,
  baselineJson,
  parseBaseline
};
