import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder, decodeModel, floats, int } from '../../src/engine/onnx-graph.js';

test('onnx-graph: a MatMul + Add + Gemm graph runs in ORT with the expected values and metadata', async () => {
  const g = new OnnxGraphBuilder({ name: 't' });
  g.addInput('x', 'float32', ['N', 2]);
  const w = g.addInitializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = g.addFloats('b', [0.5, -0.5, 1]);
  const [y] = g.addNode('MatMul', ['x', w]);
  const [z] = g.addNode('Add', [y, b]);
  const [s] = g.addNode('Gemm', [z, g.addFloats('eye', [1, 0, 0, 1, 0, 0], [3, 2])], { alpha: 2, transA: int(0) });
  const shape = g.addInt64s('shape', [-1, 1, 2]);
  const [r] = g.addNode('Reshape', [s, shape], {}, { outputs: ['out'] });
  g.addOutput(r, 'float32', ['N', 1, 2]);
  g.addNode('LeakyRelu', [z], { alpha: 0.1 }, { outputs: ['lk'] });
  g.addOutput('lk', 'float32', ['N', 3]);
  g.setMetadata('k', 'v');
  const bytes = g.encode();
  const m = decodeModel(bytes);
  assert.equal(Number(m.opsetImport[0].version), 17);
  assert.equal(m.metadataProps[0].key, 'k');
  const sess = await ort.InferenceSession.create(bytes);
  const x = new ort.Tensor('float32', Float32Array.from([1, 1, 0, -1]), [2, 2]);
  const out = await sess.run({ x });
  // row0: [1+4, 2+5, 3+6] + b = [5.5, 6.5, 10]; ×eye → [5.5, 6.5] ×2
  assert.deepEqual(Array.from(out.out.data as Float32Array), [11, 13, -7, -11]);
  assert.equal(out.out.dims.join(','), '2,1,2');
  // row1: [-4, -5, -6] + b = [-3.5, -5.5, -5]
  const lk = Array.from(out.lk.data as Float32Array).slice(3);
  lk.forEach((v, i) => assert.ok(Math.abs(v - [-0.35, -0.55, -0.5][i]) < 1e-6));
  await sess.release();
});

test('onnx-graph: duplicate names and bad attribute/tensor values are refused', () => {
  const g = new OnnxGraphBuilder();
  g.addInput('x', 'float32', [1]);
  assert.throws(() => g.addFloats('x', [1]), /defined twice/);
  assert.throws(() => g.addInitializer('w', new Float32Array(3), [2, 2]), /3 values/);
  assert.throws(() => g.addNode('Foo', ['x'], { a: [1.5] }), /INTS/);
  assert.throws(() => int(1.5), /not an integer/);
  g.addNode('Foo', ['x'], { f: floats([1.5]), s: 'str', ss: ['a', 'b'] });
  assert.ok(g.encode().length > 0);
});
