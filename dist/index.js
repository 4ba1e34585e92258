import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  baselineKey,
  baselineScope,
  restoreBaseline
} from "./chunks/chunk-C6Q5SD4R.js";
import {
  actionOutputs,
  annotate,
  currentBaseline,
  probeOutputReader,
  writeBaselineFile,
  writeBootHistory
} from "./chunks/chunk-USFKPUPB.js";
import {
  INPUT_DEFAULTS,
  InputError,
  Secrets,
  actionsLog,
  annotateComparison,
  compareWithBaseline,
  deliverReport,
  emptyReport,
  errorMessage,
  judgeBootTime,
  missingPaths,
  nixStepEnv,
  noComparison,
  parseInputs,
  readReport,
  runPipeline,
  signalChildren,
  uploadReport,
  withHistory
} from "./chunks/chunk-KBBUKBBU.js";
import {
  addPath,
  error,
  exportVariable,
  getInput,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  warning
} from "./chunks/chunk-3BV2LLEE.js";

// src/main.ts
import { mkdtempSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

// src/report/regression-view.ts
function runDescription(env) {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return void 0;
  const ref = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME;
  return `${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT || "1"}${ref ? ` on ${ref}` : ""}`;
}
async function regressionView(report, reportDir, options) {
  const { log, env } = options;
  try {
    const current = await currentBaseline(report, reportDir, {
      flake: options.flake,
      attribute: options.image,
      firmware: options.firmware,
      run: runDescription(env)
    });
    const passed = report.result === "passed" && !report.error;
    if (report.cancelled) return { comparison: noComparison("off", "the run was cancelled") };
    const { comparison, restored, scope } = await compare(report, current, options);
    const baselineFile = passed ? writeSafely(
      () => writeBaselineFile(reportDir, withHistory(current, restored?.baseline)),
      log
    ) : void 0;
    writeBootHistory(reportDir, comparison, log);
    if (!scope || !restored) return { comparison, baselineFile };
    log.info(`Compared with the last good run: ${comparison.detail}`);
    const failsOnRegression = options.failOnRegression && comparison.regressions.length > 0;
    const notSaved = !scope.saves ? "pull requests compare with their base branch" : failsOnRegression ? "it failed on its regressions" : restored.serviceDown ? "the cache service failed the lookup, so post does not try it again" : void 0;
    const saveKey = baselineFile && !notSaved ? baselineKey(scope) : void 0;
    if (baselineFile && notSaved) log.info(`This run does not become the baseline: ${notSaved}.`);
    return { comparison, baselineFile, saveKey };
  } catch (error2) {
    log.warning(`The comparison with the last good run failed: ${errorMessage(error2)}`);
    return { comparison: noComparison("error", errorMessage(error2)) };
  }
}
async function compare(report, current, options) {
  if (options.compare === "off")
    return { comparison: noComparison("off", "input 'compare' is off") };
  const scope = baselineScope(options.env, options);
  if (typeof scope === "string") {
    return { comparison: noComparison("error", `no baseline scope: ${scope}`) };
  }
  const restored = report.cache?.serviceDown ? {
    status: "error",
    detail: "not restored: the cache service failed the image cache lookup of this run",
    serviceDown: true
  } : await restoreBaseline(scope, options.log);
  if (restored.status === "restored" && restored.baseline) {
    const comparison2 = compareWithBaseline(restored.baseline, current, {
      slowdownThresholdPercent: options.slowdownThresholdPercent,
      source: restored.key
    });
    return { comparison: comparison2, restored, scope };
  }
  const status = restored.status === "none" ? "no-baseline" : "error";
  const comparison = noComparison(status, restored.detail, restored.key);
  return {
    comparison: {
      ...comparison,
      ...judgeBootTime(void 0, current, options.slowdownThresholdPercent)
    },
    restored,
    scope
  };
}
function writeSafely(write, log) {
  try {
    return write();
  } catch (error2) {
    log.warning(
      `baseline.json was not written, so this run cannot become the baseline: ${errorMessage(error2)}`
    );
    return void 0;
  }
}

// src/report/iso-artifact.ts
import { dirname } from "node:path";
var ISO_UPLOAD_BUDGET_MS = 30 * 6e4;
async function uploadIsoArtifact(report, inputs, options) {
  const iso = report.builds[0]?.isoPath;
  if (report.result !== "passed" || !iso) {
    return { status: "skipped", detail: `no ISO to upload (${report.result})`, withheld: [] };
  }
  return uploadReport({
    reportDir: dirname(iso),
    // Artifact names take no '/' (an attribute path may hold dots, never slashes).
    name: `${inputs.image}-iso`,
    retentionDays: inputs.retentionDays,
    timeoutMs: ISO_UPLOAD_BUDGET_MS,
    ...options
  });
}

// src/main.ts
async function run() {
  const secrets = new Secrets((value) => setSecret(value));
  secrets.addFromEnvironment(process.env);
  const { reportDir, tempDir } = makeRunDirs();
  const signal = cancelOnSignals();
  const inputs = await parseInputsOrReport(reportDir, secrets);
  if (!inputs) return;
  secrets.add(inputs.githubToken);
  const ctx = {
    log: actionsLog,
    secrets,
    reportDir,
    tempDir,
    env: process.env,
    signal
  };
  let report;
  try {
    report = await runPipeline(inputs, ctx, handOverToPost());
  } catch (error2) {
    report = crashReport(reportDir, errorMessage(error2));
    error(errorMessage(error2), { title: "boot-image-vm crashed" });
  }
  if (!inputs.boot) await shipIso(report, inputs, secrets);
  await compareWithLastGoodRun(report, reportDir, inputs);
  await deliver(report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log: actionsLog
  });
  annotate(report, actionsLog, probeOutputReader(reportDir));
  annotateComparison(report.comparison, actionsLog);
  failUnlessPassed(report, inputs);
}
function makeRunDirs() {
  const base = reportBase();
  const reportDir = join(base, "report");
  const tempDir = join(base, "work");
  mkdirSync(reportDir, { recursive: true });
  mkdirSync(tempDir, { recursive: true, mode: 448 });
  saveState(STATE.reportDir, reportDir);
  setOutput("report-dir", reportDir);
  return { reportDir, tempDir };
}
function cancelOnSignals() {
  const cancel = new AbortController();
  const onSignal = (signal) => {
    warning(`Received ${signal}: stopping the current stage and writing the report.`);
    saveState(STATE.cancelled, "true");
    cancel.abort();
    signalChildren("SIGTERM");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return cancel.signal;
}
async function parseInputsOrReport(reportDir, secrets) {
  try {
    return parseInputs((name) => getInput(name));
  } catch (error2) {
    const message = errorMessage(error2);
    setFailed(message);
    const report = inputErrorReport(message);
    await deliver(report, reportDir, {
      mode: "failure",
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      name: (error2 instanceof InputError && error2.input === "artifact-name" ? "" : getInput("artifact-name").trim()) || INPUT_DEFAULTS["artifact-name"],
      secrets,
      log: actionsLog
    });
    if (!(error2 instanceof InputError)) throw error2;
    return void 0;
  }
}
function handOverToPost() {
  return {
    onKey: (key) => saveState(STATE.keyDir, key.dir),
    onCleanupPaths: (paths) => saveState(STATE.cleanupPaths, JSON.stringify(paths)),
    onQemuStarted: (pid) => saveState(STATE.qemuPid, String(pid)),
    onCacheSave: (state) => saveState(STATE.imageCache, JSON.stringify(state)),
    onSetup: (setup) => {
      if (setup.ok && setup.nix) exportNixEnv(nixStepEnv(setup.nix, process.env));
    }
  };
}
async function compareWithLastGoodRun(report, reportDir, inputs) {
  const view = await actionsLog.group(
    "Compare with the last good run",
    () => regressionView(report, reportDir, { ...inputs, env: process.env, log: actionsLog })
  );
  report.comparison = view.comparison;
  if (view.saveKey && view.baselineFile) {
    saveState(STATE.baselineFile, view.baselineFile);
    saveState(STATE.baselineKey, view.saveKey);
  }
}
function failUnlessPassed(report, inputs) {
  const regressions = report.comparison?.regressions.length ?? 0;
  if (report.result !== "passed") setFailed(`boot-image-vm: ${report.result}`);
  else if (inputs.failOnRegression && regressions) {
    setFailed(
      `boot-image-vm: passed, but with ${regressions} regression(s) since the last good run (fail-on-regression)`
    );
  }
}
async function shipIso(report, inputs, secrets) {
  report.isoArtifact = await actionsLog.group(
    "Upload the ISO as an artifact",
    () => uploadIsoArtifact(report, inputs, { secrets, log: actionsLog })
  );
  const boot = report.stages.boot;
  if (boot) boot.detail = `${boot.detail}; the ISO: ${report.isoArtifact.detail}`;
  if (report.result === "passed" && report.isoArtifact.status !== "uploaded") {
    setFailed(`boot-image-vm: the ISO was not uploaded: ${report.isoArtifact.detail}`);
  }
}
function exportNixEnv(step) {
  for (const [name, value] of Object.entries(step.variables)) exportVariable(name, value);
  for (const dir of missingPaths(step, process.env.PATH).reverse()) addPath(dir);
}
function reportBase() {
  const runnerTemp = process.env.RUNNER_TEMP;
  if (runnerTemp) {
    try {
      return mkdtempSync(join(runnerTemp, "boot-image-vm-"));
    } catch (error2) {
      warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error2)}); using ${tmpdir()} instead.`
      );
    }
  }
  return mkdtempSync(join(tmpdir(), "boot-image-vm-"));
}
async function deliver(report, reportDir, options) {
  await deliverReport(report, reportDir, options);
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    setOutput(name, value);
  saveState(STATE.delivered, "true");
}
function inputErrorReport(message) {
  const report = emptyReport();
  report.stages.setup = { status: "failed", durationMs: 0, detail: message };
  report.setup = {
    ok: false,
    error: message,
    changes: [],
    cleanupPaths: [],
    kvm: { action: "not checked", deviceUsable: false }
  };
  return report;
}
function crashReport(reportDir, message) {
  const report = readReport(reportDir) ?? emptyReport();
  report.error = `boot-image-vm crashed: ${message}`;
  report.complete = true;
  if (report.result === "passed")
    Object.assign(report, { result: "setup-failed", decidedBy: "setup" });
  return report;
}

// src/index.ts
await run();
process.exit();
