// The comparison's part about what the image was made of: the inputs, the commit and the packages
// of the last good run against this run's, as changes (never regressions: they are the suspects of
// one) and as the ImageChanges the summary, changes.json and the `changes` output show. Pure.
import type { BootJudgement, ComparisonChange, ImageChanges } from '../model/index.js'
import type { Baseline } from './baseline.js'
import { inputText, packageText } from './changes/diff.js'
import { whatChanged } from './changes/what-changed.js'

/** Packages named in the one-line change (the rest are in changes.md). */
const NAMED_PACKAGES = 3

const composed = (b: Baseline): boolean => !!(b.inputs || b.packages || b.commit)

function entries(changes: ImageChanges): ComparisonChange[] {
  const list: ComparisonChange[] = changes.inputs.map(input => ({
    kind: 'input',
    subject: input.name,
    summary: `Input ${inputText(input)}.`,
    before: input.before?.rev,
    after: input.after?.rev,
    regression: false
  }))
  if (changes.commits) {
    const { before, after } = changes.commits
    list.push({
      kind: 'commit',
      summary: `Commit ${before.slice(0, 7)} → ${after.slice(0, 7)}.`,
      before,
      after,
      regression: false
    })
  }
  const image = changes.packages.filter(p => p.image)
  const buildOnly = changes.packages.length - image.length
  if (changes.packages.length) {
    const named = image.slice(0, NAMED_PACKAGES).map(packageText)
    const more = image.length - named.length
    const what = image.length
      ? `${image.length} package${image.length === 1 ? '' : 's'} changed: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
      : 'No package of the image changed'
    list.push({
      kind: 'packages',
      summary: `${what}${buildOnly ? `; ${buildOnly} build-only` : ''}.`,
      before: image.length,
      after: buildOnly,
      regression: false
    })
  }
  return list
}

/**
 * What the image was made of, then and now, beside the other changes of the comparison (the
 * slowed phase and changed probes are named with the suspects). Nothing when neither run knew.
 */
export function madeOfChanges(
  baseline: Baseline,
  current: Baseline,
  others: ComparisonChange[],
  boot: BootJudgement | undefined
): { imageChanges?: ImageChanges; changes: ComparisonChange[] } {
  if (!composed(current)) return { changes: [] }
  const probes = others
    .filter(c => c.regression && c.kind.startsWith('probe-') && c.subject)
    .map(c => c.subject!)
  const imageChanges = whatChanged(baseline, current, {
    failedDrvs: Object.keys(current.failingClosures ?? {}),
    phase: boot?.verdict === 'slower' ? boot.slowerPhases?.[0] : undefined,
    probes: [...new Set(probes)],
    regressed: others.some(c => c.regression) || current.result !== 'passed'
  })
  return { imageChanges, changes: entries(imageChanges) }
}
