// The report, written as the run goes and delivered at its end: report.json and summary.md in the
// report directory, the job summary, annotations, outputs, the artifact, and the regression view
// against the last passing run. Returns what was delivered; a failed delivery is a warning.
export { writeReportFiles } from './report-file.js'
export { renderSummary } from './summary.js'
export { cacheSaveLine } from './summary-sections.js'
export { deliverReport, emptyReport, readReport, type DeliveryOptions } from './deliver.js'
export { addPrivateKeys, interruptedReport } from './interrupted.js'
export { annotate, probeOutputReader } from './annotations.js'
export { actionOutputs, EXIT_CODES, exitCodeFor } from './outputs.js'
export { uploadIsoArtifact } from './iso-artifact.js'
// The regression view: the last good run's baseline, compared and shown; saved by post.
export { regressionView } from './regression-view.js'
export { annotateComparison } from './comparison-section.js'
export { compareWithBaseline } from './compare.js'
export { withHistory, type Baseline } from './baseline.js'
export {
  currentBaseline,
  readBaselineFile,
  writeBaselineFile,
  writeBootHistory
} from './baseline-file.js'
export { saveBaseline } from './baseline-store.js'
// What the image was made of, and what of it changed since the last good run.
export { composeImage } from './changes/composition.js'
export { writeChangesFiles } from './changes/files.js'
