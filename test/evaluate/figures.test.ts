/** The evaluation figure (`caldera eval --png`), against a pixel-statistics fixture. */
import { test } from 'node:test';
import { reportFigure, scoreRows, type EvalRow } from '../../src/evaluate/evaluate.js';
import { Rng } from '../../src/core/rng.js';
import { assertImageFixture } from '../helpers/images.js';

test('eval figure: confusion matrix, centre-error histogram, sign invariance (fixture)', () => {
  const rng = new Rng(4);
  const rows: EvalRow[] = Array.from({ length: 120 }, (_, i) => {
    const trueClass = i % 3;
    const right = rng.chance(0.85);
    const predictedClass = right ? trueClass : (trueClass + 1 + rng.int(0, 1)) % 3;
    const box = { x: 100 + rng.int(-40, 40), y: 100 + rng.int(-40, 40), halfWidth: 20, halfHeight: 15 };
    return {
      index: i, terrain: i % 2 ? 'procedural' : 'Vesuvius', trueClass, predictedClass,
      predictedClassNegated: rng.chance(0.9) ? predictedClass : trueClass,
      probabilities: [0, 1, 2].map((k) => (k === predictedClass ? 0.8 : 0.1)),
      trueBox: trueClass === 2 ? null : box,
      predictedBox: { ...box, x: box.x + rng.normal() * 5, y: box.y + rng.normal() * 5 },
    };
  });
  assertImageFixture('eval-figure', reportFigure(scoreRows(rows), rows, 'caldera eval: fixture'));
});
