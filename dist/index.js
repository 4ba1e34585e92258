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
  INPUT_DEFAULTS,
  InputError,
  REAL_STAGES,
  Secrets,
  actionOutputs,
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
} from "./chunks/chunk-SNAIBZAT.js";
import "./chunks/chunk-3BV2LLEE.js";

// src/main.ts
import { mkdtempSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
async function run(runner = actionsRunner, stages = REAL_STAGES) {
  const secrets = new Secrets((value) => runner.setSecret(value));
  secrets.addFromEnvironment(runner.env);
  const { reportDir, tempDir } = makeRunDirs(runner);
  const signal = cancelOnSignals(runner);
  const inputs = await parseInputsOrReport(runner, reportDir, secrets);
  if (!inputs) return;
  secrets.add(inputs.githubToken);
  const { log } = runner;
  const ctx = { log, secrets, reportDir, tempDir, env: runner.env, signal };
  let report;
  try {
    report = await runPipeline(inputs, ctx, handOverToPost(runner), stages);
  } catch (error) {
    report = crashReport(reportDir, errorMessage(error));
    log.error(errorMessage(error), { title: "boot-image-vm crashed" });
  }
  if (!inputs.boot) await shipIso(runner, report, inputs, secrets);
  await compareWithLastGoodRun(runner, report, reportDir, inputs);
  await deliver(runner, report, reportDir, {
    mode: inputs.upload,
    name: inputs.artifactName,
    retentionDays: inputs.retentionDays,
    secrets,
    log
  });
  annotate(report, log, probeOutputReader(reportDir));
  annotateComparison(report.comparison, log);
  failUnlessPassed(runner, report, inputs);
}
function makeRunDirs(runner) {
  const base = reportBase(runner);
  const reportDir = join(base, "report");
  const tempDir = join(base, "work");
  mkdirSync(reportDir, { recursive: true });
  mkdirSync(tempDir, { recursive: true, mode: 448 });
  runner.saveState(STATE.reportDir, reportDir);
  runner.setOutput("report-dir", reportDir);
  return { reportDir, tempDir };
}
function cancelOnSignals(runner) {
  const cancel = new AbortController();
  const onSignal = (signal) => {
    if (cancel.signal.aborted) return void signalChildren("SIGKILL");
    runner.log.warning(`Received ${signal}: stopping the current stage and writing the report.`);
    runner.saveState(STATE.cancelled, "true");
    cancel.abort();
  };
  runner.onCancel(onSignal);
  return cancel.signal;
}
async function parseInputsOrReport(runner, reportDir, secrets) {
  try {
    return parseInputs((name) => runner.getInput(name));
  } catch (error) {
    const message = errorMessage(error);
    runner.setFailed(message);
    const report = inputErrorReport(message);
    await deliver(runner, report, reportDir, {
      mode: "failure",
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      name: (error instanceof InputError && error.input === "artifact-name" ? "" : runner.getInput("artifact-name").trim()) || INPUT_DEFAULTS["artifact-name"],
      secrets,
      log: runner.log
    });
    if (!(error instanceof InputError)) throw error;
    return void 0;
  }
}
function handOverToPost(runner) {
  const save = (name, value) => runner.saveState(name, value);
  return {
    onKey: (key) => save(STATE.keyDir, key.dir),
    onCleanupPaths: (paths) => save(STATE.cleanupPaths, JSON.stringify(paths)),
    onQemuStarted: (pid) => save(STATE.qemuPid, String(pid)),
    onCacheSave: (state) => save(STATE.imageCache, JSON.stringify(state)),
    onSetup: (setup) => {
      if (setup.ok && setup.nix) exportNixEnv(runner, nixStepEnv(setup.nix, runner.env));
    }
  };
}
async function compareWithLastGoodRun(runner, report, reportDir, inputs) {
  const { log, env } = runner;
  const view = await log.group(
    "Compare with the last good run",
    () => regressionView(report, reportDir, { ...inputs, env, log })
  );
  report.comparison = view.comparison;
  if (view.saveKey && view.baselineFile) {
    runner.saveState(STATE.baselineFile, view.baselineFile);
    runner.saveState(STATE.baselineKey, view.saveKey);
  }
}
function failUnlessPassed(runner, report, inputs) {
  const regressions = report.comparison?.regressions.length ?? 0;
  if (report.result !== "passed") runner.setFailed(`boot-image-vm: ${report.result}`);
  else if (inputs.failOnRegression && regressions) {
    runner.setFailed(
      `boot-image-vm: passed, but with ${regressions} regression(s) since the last good run (fail-on-regression)`
    );
  }
}
async function shipIso(runner, report, inputs, secrets) {
  const { log } = runner;
  report.isoArtifact = await log.group(
    "Upload the ISO as an artifact",
    () => uploadIsoArtifact(report, inputs, { secrets, log })
  );
  const boot = report.stages.boot;
  if (boot) boot.detail = `${boot.detail}; the ISO: ${report.isoArtifact.detail}`;
  if (report.result === "passed" && report.isoArtifact.status !== "uploaded") {
    runner.setFailed(`boot-image-vm: the ISO was not uploaded: ${report.isoArtifact.detail}`);
  }
}
function exportNixEnv(runner, step) {
  for (const [name, value] of Object.entries(step.variables)) runner.exportVariable(name, value);
  for (const dir of missingPaths(step, runner.env.PATH).reverse()) runner.addPath(dir);
}
function reportBase(runner) {
  const runnerTemp = runner.env.RUNNER_TEMP;
  if (runnerTemp) {
    try {
      return mkdtempSync(join(runnerTemp, "boot-image-vm-"));
    } catch (error) {
      runner.log.warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error)}); using ${tmpdir()} instead.`
      );
    }
  }
  return mkdtempSync(join(tmpdir(), "boot-image-vm-"));
}
async function deliver(runner, report, reportDir, options) {
  await deliverReport(report, reportDir, {
    ...options,
    writeSummary: (markdown) => runner.writeSummary(markdown)
  });
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    runner.setOutput(name, value);
  runner.saveState(STATE.delivered, "true");
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
