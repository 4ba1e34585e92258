// The env-diff figure of `npm run bench` (scripts/bench.ts): how long the environment capture and
// diff take (the env-diff stage).
import { type Row, stats } from '../table.js'
import type { Figure } from '../figure.js'

export const envDiff: Figure = {
  name: 'env-diff',
  units: [['action-env-diff']],
  rows({ of }) {
    const rows: Row[] = []
    rows.push({
      figure: "env capture: stages['env-diff']",
      unit: 'ms',
      stats: stats(
        of('action-env-diff').flatMap(s => (s.envDiffMs !== undefined ? [s.envDiffMs] : []))
      ),
      target: { max: 2000, text: '< 2 s' },
      notMeasured: 'no passing run with the env-diff stage'
    })
    return rows
  }
}
