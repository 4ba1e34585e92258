import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  saveBaseline
} from "./chunks/chunk-C6Q5SD4R.js";
import {
  INPUT_DEFAULTS,
  Secrets,
  actionsLog,
  cleanupSetup,
  decideVerdict,
  deliverReport,
  emptyReport,
  errorMessage,
  parseInputs,
  readReport,
  saveImageCacheFromState,
  stopLeftoverQemu
} from "./chunks/chunk-KBBUKBBU.js";
import {
  error,
  getInput,
  getState,
  info,
  setSecret,
  warning
} from "./chunks/chunk-3BV2LLEE.js";

// src/post.ts
import { rmSync } from "node:fs";

// src/report/interrupted.ts
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
function interruptedReport(reportDir, cancelled, decide) {
  const report = readReport(reportDir) ?? emptyReport();
  report.complete = true;
  report.finishedAt = (/* @__PURE__ */ new Date()).toISOString();
  report.cancelled = true;
  report.error = cancelled ? "The run was cancelled and its main step was stopped before it finished: the post step completed this report from what the stages had written." : "The main step ended before it finished (killed or crashed): the post step completed this report from what the stages had written.";
  return Object.assign(report, decide(report));
}
function addPrivateKeys(keyDir, secrets) {
  let entries;
  try {
    entries = readdirSync(keyDir, { recursive: true, encoding: "utf8" });
  } catch {
    return;
  }
  for (const entry of entries.filter((name) => name.endsWith("id_ed25519"))) {
    try {
      secrets.add(readFileSync(join(keyDir, entry), "utf8"));
    } catch {
    }
  }
}

// src/post.ts
async function run() {
  try {
    const pid = Number(getState(STATE.qemuPid));
    if (pid > 0) {
      const outcome = await stopLeftoverQemu(pid);
      if (outcome !== "not running") info(`QEMU (pid ${pid}): ${outcome}`);
    }
    const keyDir = getState(STATE.keyDir);
    try {
      await deliverInterruptedReport(keyDir);
    } catch (error2) {
      warning(`The report of the stopped main step was not delivered: ${errorMessage(error2)}`);
    }
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    const cleanup = getState(STATE.cleanupPaths);
    if (cleanup) cleanupSetup(JSON.parse(cleanup));
  } catch (error2) {
    warning(`Post step clean-up: ${errorMessage(error2)}`);
  }
  await saveImageCacheFromState(
    getState(STATE.imageCache),
    getState(STATE.reportDir),
    actionsLog
  );
  const baselineFile = getState(STATE.baselineFile);
  const baselineKey = getState(STATE.baselineKey);
  if (baselineFile && baselineKey) {
    info(`Baseline: ${await saveBaseline(baselineFile, baselineKey, actionsLog)}`);
  }
}
async function deliverInterruptedReport(keyDir) {
  const reportDir = getState(STATE.reportDir);
  if (!reportDir || getState(STATE.delivered)) return;
  const cancelled = getState(STATE.cancelled) === "true";
  const report = interruptedReport(reportDir, cancelled, decideVerdict);
  error(`boot-image-vm: ${report.result} (${report.error})`, {
    title: "boot-image-vm: main step stopped before it finished"
  });
  const secrets = new Secrets((value) => setSecret(value));
  secrets.addFromEnvironment(process.env);
  if (keyDir) addPrivateKeys(keyDir, secrets);
  let inputs;
  try {
    const parsed = parseInputs((name) => getInput(name));
    secrets.add(parsed.githubToken);
    inputs = parsed;
  } catch {
    inputs = {
      upload: "always",
      artifactName: INPUT_DEFAULTS["artifact-name"],
      retentionDays: void 0
    };
  }
  await deliverReport(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log: actionsLog
  });
}

// src/post-index.ts
await run();
process.exit(0);
