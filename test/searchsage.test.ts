// OmniSearchSage's towers: field features gathered per batch equal featurising the batch directly,
// empty fields do not contribute, the tower's frozen input reaches the output. Training:
// test/slow/searchsage-train.test.ts.
import t from 'tap'

import { FieldFeatures } from '../lib/search/field-features.js'
import { TextTower } from '../lib/search/towers.js'
import { ErrorCodes } from '../lib/errors.js'
import { throwsCode } from './fixtures/assert.js'

t.test('field features: gather = featurise the batch; presence marks empty fields', async (t) => {
  const tower = new TextTower({ fields: ['a', 'b'], bagRows: 1000, bagDim: 8, hidden: [], outputDim: 4 })
  const a = ['cache warmer', 'router', 'x y z']
  const b = ['', 'matcher dumper', '!!!']
  const ff = new FieldFeatures(tower.bag, [a, b])
  const g = ff.gather([2, 0, 2])
  t.same([...g.present], [1, 0, 1, 0, 1, 0], 'empty and word-less fields are absent')
  const direct = tower.bag.featurize(['x y z', '-', 'cache warmer', '-', 'x y z', '-'])
  t.same([...g.features.offsets], [...direct.offsets])
  t.same([...g.features.hashes], [...direct.hashes])
  // An absent field does not change the output; a present one does.
  const y1 = tower.forward(ff.gather([0]), 1).slice()
  const only = new TextTower({ fields: ['a'], bagRows: 1000, bagDim: 8, hidden: [], outputDim: 4 })
  const y2 = only.forward(new FieldFeatures(only.bag, [['cache warmer']]).gather([0]), 1)
  t.same([...y1], [...y2], 'same seed, one present field: same output as a one-field tower')
  throwsCode(t, () => tower.forward(ff.gather([0]), 2), ErrorCodes.DIM_MISMATCH, 'wrong count')
})

t.test('text tower: frozen input reaches the output; backward shapes', async (t) => {
  const tower = new TextTower({ fields: ['t'], bagRows: 500, bagDim: 6, hidden: [5], outputDim: 3, frozenDim: 2 })
  const ff = new FieldFeatures(tower.bag, [['one', 'two']])
  const y1 = tower.forward(ff.gather([0, 1]), 2, Float32Array.of(0, 0, 0, 0)).slice()
  const y2 = tower.forward(ff.gather([0, 1]), 2, Float32Array.of(5, -5, 0, 0)).slice()
  t.not(y1[0], y2[0], 'row 0 changes with its frozen vector')
  t.same([...y1.subarray(3)], [...y2.subarray(3)], 'row 1 does not')
  const g = tower.backward(new Float32Array(6).fill(1))
  t.ok(g.table.rows.length > 0 && g.table.values.length === g.table.rows.length * 6, 'sparse table gradient')
  throwsCode(t, () => tower.forward(ff.gather([0]), 1), ErrorCodes.DIM_MISMATCH, 'missing frozen vectors')
  throwsCode(
    t,
    () => new TextTower({ fields: [], bagDim: 4, hidden: [], outputDim: 2 }),
    ErrorCodes.INVALID_ARGUMENT,
    'no fields',
  )
})
