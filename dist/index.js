import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE
} from "./chunks/chunk-OTGDDDSQ.js";
import {
  INPUT_DEFAULTS,
  InputError,
  Secrets,
  actionOutputs,
  actionsLog,
  annotate,
  annotateComparison,
  deliverReport,
  emptyReport,
  errorMessage,
  missingPaths,
  nixStepEnv,
  parseInputs,
  probeOutputReader,
  readReport,
  regressionView,
  runPipeline,
  signalChildren,
  uploadIsoArtifact
} from "./chunks/chunk-VLKWIL3H.js";
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
    if (cancel.signal.aborted) return void signalChildren("SIGKILL");
    warning(`Received ${signal}: stopping the current stage and writing the report.`);
    saveState(STATE.cancelled, "true");
    cancel.abort();
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
