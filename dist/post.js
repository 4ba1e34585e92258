import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  actionsRunner
} from "./chunks/chunk-FFJ3D4MT.js";
import {
  CACHE_PATH,
  INPUT_DEFAULTS,
  Secrets,
  addPrivateKeys,
  cacheSaveRefusal,
  checkCacheSaveState,
  cleanupSetup,
  decideVerdict,
  defaultSetupPaths,
  deliverReport,
  errorMessage,
  interruptedReport,
  parseInputs,
  saveBaseline,
  saveImageCacheFromState,
  stopLeftoverQemu
} from "./chunks/chunk-SNAIBZAT.js";
import "./chunks/chunk-3BV2LLEE.js";

// src/post.ts
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";

// src/runner/post-state.ts
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, relative, sep } from "node:path";
var RUN_DIR_NAME = /^boot-image-vm-[A-Za-z0-9]{6}$/;
function runDirOf(realPath2, roots, part, inside) {
  for (const root of roots) {
    const rel = relative(root, realPath2);
    if (!rel || rel.startsWith("..") || isAbsolute(rel)) continue;
    const [name, sub, ...rest] = rel.split(sep);
    if (!RUN_DIR_NAME.test(name)) continue;
    if (sub !== part || (inside ? rest.length === 0 : rest.length > 0)) {
      const want = inside ? `inside ${part}/` : `${part}/ itself`;
      return { reason: `${realPath2} is not ${want} of the action's run directory` };
    }
    return { runDir: join(root, name) };
  }
  return {
    reason: `${realPath2} is outside the action's run directories (${roots.map((r) => join(r, "boot-image-vm-*")).join(", ")})`
  };
}
function runDirRoots(env, tempDir) {
  const roots = [env.RUNNER_TEMP, tempDir].flatMap((root) => {
    if (!root || !isAbsolute(root)) return [];
    try {
      return [realpathSync(root)];
    } catch {
      return [];
    }
  });
  return { roots: [...new Set(roots)], uid: process.getuid?.() ?? -1 };
}
function checkRunPath(path, dirs, part, inside) {
  if (!isAbsolute(path) || path.includes("\0")) return { reason: `${path} is not an absolute path` };
  let real;
  try {
    real = realpathSync(path);
  } catch {
    return { absent: true };
  }
  const found = runDirOf(real, dirs.roots, part, inside);
  if ("reason" in found) return found;
  const owner = statSync(found.runDir).uid;
  if (dirs.uid >= 0 && owner !== dirs.uid) {
    return { reason: `${found.runDir} belongs to uid ${owner}, not to this step's user` };
  }
  return { path: real };
}
function checkPid(raw) {
  if (!/^[1-9]\d{0,9}$/.test(raw)) return { reason: `'${raw.slice(0, 40)}' is not a process id` };
  const pid = Number(raw);
  if (pid === 1 || pid === process.pid || pid === process.ppid) {
    return { reason: `${pid} is init, this step or its parent` };
  }
  return { pid };
}
function checkCleanupPaths(raw, dirs) {
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { paths: [], reasons: ["not JSON"] };
  }
  if (!Array.isArray(parsed)) return { paths: [], reasons: ["not a list of paths"] };
  const paths = [];
  const reasons = [];
  for (const item of parsed) {
    const checked = typeof item === "string" ? checkRunPath(item, dirs, "work", true) : { reason: "an entry that is not a path" };
    if ("path" in checked) paths.push(checked.path);
    else if ("reason" in checked) reasons.push(checked.reason);
  }
  return { paths, reasons };
}
function ignoredState(name, reason) {
  return `Post step: ignored the state '${name}' main handed over: ${reason}`;
}
function realPath(path) {
  try {
    return realpathSync(path);
  } catch {
    return void 0;
  }
}
function nixCandidates(pathVariable, locations) {
  const found = pathVariable.split(delimiter).filter((dir) => isAbsolute(dir)).map((dir) => join(dir, "nix")).concat(locations).flatMap((path) => {
    try {
      accessSync(path, constants.X_OK);
      const real = realpathSync(path);
      return statSync(real).isFile() ? [real] : [];
    } catch {
      return [];
    }
  });
  return [...new Set(found)];
}

// src/post.ts
async function run(runner = actionsRunner) {
  const { log } = runner;
  const dirs = runDirRoots(runner.env, tmpdir());
  const reportDir = statePath(runner, STATE.reportDir, dirs, "report", false);
  const inputs = postInputs(runner);
  try {
    await stopQemu(runner);
    const keyDir = statePath(runner, STATE.keyDir, dirs, "work", true);
    try {
      await deliverInterruptedReport(runner, reportDir, keyDir, inputs);
    } catch (error) {
      log.warning(`The report of the stopped main step was not delivered: ${errorMessage(error)}`);
    }
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    const cleanup = runner.getState(STATE.cleanupPaths);
    if (cleanup) {
      const { paths, reasons } = checkCleanupPaths(cleanup, dirs);
      for (const reason of reasons) log.warning(ignoredState(STATE.cleanupPaths, reason));
      cleanupSetup(paths);
    }
  } catch (error) {
    log.warning(`Post step clean-up: ${errorMessage(error)}`);
  }
  await saveImageCache(runner, reportDir, inputs);
  await saveRunBaseline(runner, dirs);
}
function statePath(runner, name, dirs, part, inside) {
  const raw = runner.getState(name);
  if (!raw) return void 0;
  const checked = checkRunPath(raw, dirs, part, inside);
  if ("reason" in checked) runner.log.warning(ignoredState(name, checked.reason));
  return "path" in checked ? checked.path : void 0;
}
function postInputs(runner) {
  try {
    return parseInputs((name) => runner.getInput(name));
  } catch {
    return void 0;
  }
}
async function stopQemu(runner) {
  const { log } = runner;
  const raw = runner.getState(STATE.qemuPid);
  if (!raw) return;
  const checked = checkPid(raw);
  if ("reason" in checked) return log.warning(ignoredState(STATE.qemuPid, checked.reason));
  const outcome = await stopLeftoverQemu(checked.pid);
  if (outcome === "not QEMU") {
    log.warning(ignoredState(STATE.qemuPid, `process ${checked.pid} is not a QEMU: left alone`));
  } else if (outcome !== "not running") {
    log.info(`QEMU (pid ${checked.pid}): ${outcome}`);
  }
}
async function saveImageCache(runner, reportDir, inputs) {
  const { env, log } = runner;
  const raw = runner.getState(STATE.imageCache);
  if (!raw) return;
  const checked = checkCacheSaveState(raw, {
    dir: resolve(process.cwd(), CACHE_PATH),
    nixPaths: nixCandidates(env.PATH ?? "", defaultSetupPaths(env).nixLocations),
    realPath,
    env
  });
  if ("reason" in checked) return log.warning(ignoredState(STATE.imageCache, checked.reason));
  const refusal = cacheSaveRefusal(inputs?.cacheSave ?? "auto", env.GITHUB_EVENT_NAME);
  const state = { ...checked.state, skip: checked.state.skip ?? refusal };
  await saveImageCacheFromState(state, reportDir ?? "", log);
}
async function saveRunBaseline(runner, dirs) {
  const { log } = runner;
  const file = statePath(runner, STATE.baselineFile, dirs, "report", true);
  const key = runner.getState(STATE.baselineKey);
  if (!file || !key) return;
  if (!/^boot-image-vm-baseline-v\d+\//.test(key)) {
    return log.warning(ignoredState(STATE.baselineKey, "not a baseline key"));
  }
  log.info(`Baseline: ${await saveBaseline(file, key, log)}`);
}
async function deliverInterruptedReport(runner, reportDir, keyDir, parsed) {
  const { log } = runner;
  if (!reportDir || runner.getState(STATE.delivered)) return;
  const cancelled = runner.getState(STATE.cancelled) === "true";
  const report = interruptedReport(reportDir, cancelled, decideVerdict);
  log.error(`boot-image-vm: ${report.result} (${report.error})`, {
    title: "boot-image-vm: main step stopped before it finished"
  });
  const secrets = new Secrets((value) => runner.setSecret(value));
  secrets.addFromEnvironment(runner.env);
  if (keyDir) addPrivateKeys(keyDir, secrets);
  secrets.add(parsed?.githubToken);
  const inputs = parsed ?? {
    upload: "always",
    artifactName: INPUT_DEFAULTS["artifact-name"],
    retentionDays: void 0
  };
  await deliverReport(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log,
    writeSummary: (markdown) => runner.writeSummary(markdown)
  });
}

// src/post-index.ts
await run();
process.exit(0);
