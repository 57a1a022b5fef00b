/**
 * A tiny WebAssembly module with SIMD loops for caldera's batch-norm kernels, assembled here from
 * opcodes (no toolchain needed) and instantiated on the tfjs wasm backend's own memory, so it works
 * on tensors in place (pointers are the tensors' heap offsets).
 *
 * All loops run over `rows` rows of `C` channels (C a multiple of 4, channels innermost) and use
 * 4-wide f32 vectors along the channel axis:
 *   moments(x, rows, C, acc)                     acc[c] += Σ x,  acc[C+c] += Σ x²
 *   gradReduce{,Relu}(dy, y, x, rows, C, acc)    g = dy (·[y>0]);  acc[c] += Σ g,  acc[C+c] += Σ g·x
 *   affine{,Relu}(x, rows, C, a, b, out)         out = a·x + b (then max(·, 0))
 *   gradApply{,Relu}(dy, y, x, rows, C, k1, k2, k3, out)   out = k1·g + k2·x + k3
 * and a strided block copy (bulk memory.copy):
 *   scatter(src, nOuter, nInner, chunk, dst, outerStride, innerStride)
 *       copies nOuter·nInner consecutive chunks of `chunk` bytes from src to
 *       dst + i·outerStride + j·innerStride   (i < nOuter, j < nInner)
 */

/** The parts of the WebAssembly JS API used here (the project's TS lib has no DOM/wasm types). */
export interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// Opcodes.
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const brIf = (l: number) => [0x0d, ...uleb(l)];
const br = (l: number) => [0x0c, ...uleb(l)];
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const add = [0x6a];
const mul = [0x6c];
const shl = [0x74];
const ltU = [0x49];
const geU = [0x4f];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const load = simd(0x00, 4, 0);     // v128.load align=16 offset=0
const store = simd(0x0b, 4, 0);    // v128.store
const zero = simd(0x0c, ...new Array(16).fill(0));
const fadd = simd(0xe4);
const fmul = simd(0xe6);
const fmax = simd(0xe9);
const fgt = simd(0x44);
const vand = simd(0x4e);

interface Fn { name: string; params: number; locals: [number, number][]; code: number[] }

/**
 * Row/channel loop skeleton. `ptrs` are parameter indices of row pointers advanced by one row per
 * iteration (the first one bounds the loop); `body` is emitted with local `c` = byte offset of the
 * 4-channel group; `C` is the parameter holding the channel count; `rows` the row count.
 */
function rowLoop(ptrs: number[], rows: number, C: number, locEnd: number, locC: number, locRowBytes: number, body: number[]): number[] {
  return [
    ...get(C), ...i32(2), ...shl, ...set(locRowBytes),
    ...get(ptrs[0]), ...get(rows), ...get(locRowBytes), ...mul, ...add, ...set(locEnd),
    ...block, ...loop,
    ...get(ptrs[0]), ...get(locEnd), ...geU, ...brIf(1),
    ...i32(0), ...set(locC),
    ...loop,
    ...body,
    ...get(locC), ...i32(16), ...add, ...tee(locC), ...get(locRowBytes), ...ltU, ...brIf(0),
    ...end,
    ...ptrs.flatMap((p) => [...get(p), ...get(locRowBytes), ...add, ...set(p)]),
    ...br(0),
    ...end, ...end,
  ];
}
const at = (ptr: number, c: number) => [...get(ptr), ...get(c), ...add];

function moments(): Fn {
  // params: 0 x, 1 rows, 2 C, 3 acc; locals: 4 end, 5 c, 6 rowBytes, 7 a, 8 v
  const body = [
    ...at(0, 5), ...load, ...set(8),
    ...at(3, 5), ...tee(7), ...get(7), ...load, ...get(8), ...fadd, ...store,
    ...get(7), ...get(6), ...add, ...tee(7), ...get(7), ...load, ...get(8), ...get(8), ...fmul, ...fadd, ...store,
  ];
  return { name: 'moments', params: 4, locals: [[4, I32], [1, V128]], code: rowLoop([0], 1, 2, 4, 5, 6, body) };
}

function gradReduce(relu: boolean): Fn {
  // params: 0 dy, 1 y, 2 x, 3 rows, 4 C, 5 acc; locals: 6 end, 7 c, 8 rowBytes, 9 a, 10 g
  const g = relu
    ? [...at(0, 7), ...load, ...at(1, 7), ...load, ...zero, ...fgt, ...vand, ...set(10)]
    : [...at(0, 7), ...load, ...set(10)];
  const body = [
    ...g,
    ...at(5, 7), ...tee(9), ...get(9), ...load, ...get(10), ...fadd, ...store,
    ...get(9), ...get(8), ...add, ...tee(9), ...get(9), ...load, ...get(10), ...at(2, 7), ...load, ...fmul, ...fadd, ...store,
  ];
  return { name: relu ? 'gradReduceRelu' : 'gradReduce', params: 6, locals: [[4, I32], [1, V128]], code: rowLoop([0, 1, 2], 3, 4, 6, 7, 8, body) };
}

function affine(relu: boolean): Fn {
  // params: 0 x, 1 rows, 2 C, 3 a, 4 b, 5 out; locals: 6 end, 7 c, 8 rowBytes
  const body = [
    ...at(5, 7),
    ...at(0, 7), ...load, ...at(3, 7), ...load, ...fmul, ...at(4, 7), ...load, ...fadd,
    ...(relu ? [...zero, ...fmax] : []),
    ...store,
  ];
  return { name: relu ? 'affineRelu' : 'affine', params: 6, locals: [[3, I32]], code: rowLoop([0, 5], 1, 2, 6, 7, 8, body) };
}

function gradApply(relu: boolean): Fn {
  // params: 0 dy, 1 y, 2 x, 3 rows, 4 C, 5 k1, 6 k2, 7 k3, 8 out; locals: 9 end, 10 c, 11 rowBytes
  const g = relu
    ? [...at(0, 10), ...load, ...at(1, 10), ...load, ...zero, ...fgt, ...vand]
    : [...at(0, 10), ...load];
  const body = [
    ...at(8, 10),
    ...g, ...at(5, 10), ...load, ...fmul,
    ...at(2, 10), ...load, ...at(6, 10), ...load, ...fmul, ...fadd,
    ...at(7, 10), ...load, ...fadd,
    ...store,
  ];
  return { name: relu ? 'gradApplyRelu' : 'gradApply', params: 9, locals: [[3, I32]], code: rowLoop([0, 1, 2, 8], 3, 4, 9, 10, 11, body) };
}

function scatter(): Fn {
  // params: 0 src, 1 nOuter, 2 nInner, 3 chunk, 4 dst, 5 outerStride, 6 innerStride; locals: 7 i, 8 j, 9 d
  const memcopy = [0xfc, ...uleb(10), 0x00, 0x00];
  const code = [
    ...i32(0), ...set(7),
    ...block, ...loop,
    ...get(7), ...get(1), ...geU, ...brIf(1),
    ...get(4), ...get(7), ...get(5), ...mul, ...add, ...set(9),
    ...i32(0), ...set(8),
    ...block, ...loop,
    ...get(8), ...get(2), ...geU, ...brIf(1),
    ...get(9), ...get(0), ...get(3), ...memcopy,
    ...get(0), ...get(3), ...add, ...set(0),
    ...get(9), ...get(6), ...add, ...set(9),
    ...get(8), ...i32(1), ...add, ...set(8),
    ...br(0),
    ...end, ...end,
    ...get(7), ...i32(1), ...add, ...set(7),
    ...br(0),
    ...end, ...end,
  ];
  return { name: 'scatter', params: 7, locals: [[3, I32]], code };
}

/** The module's bytes. */
export function simdModuleBytes(): Uint8Array {
  const fns = [moments(), gradReduce(false), gradReduce(true), affine(false), affine(true), gradApply(false), gradApply(true), scatter()];
  const arities = [...new Set(fns.map((f) => f.params))];
  const types = arities.map((n) => [0x60, ...vec(new Array(n).fill([I32])), ...vec([])]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(fns.map((f) => uleb(arities.indexOf(f.params))))),
    ...section(7, vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => {
      const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code, ...end];
      return [...uleb(body.length), ...body];
    }))),
  ];
  return new Uint8Array(bytes);
}

export interface SimdKernels {
  moments(x: number, rows: number, C: number, acc: number): void;
  gradReduce(dy: number, y: number, x: number, rows: number, C: number, acc: number): void;
  gradReduceRelu(dy: number, y: number, x: number, rows: number, C: number, acc: number): void;
  affine(x: number, rows: number, C: number, a: number, b: number, out: number): void;
  affineRelu(x: number, rows: number, C: number, a: number, b: number, out: number): void;
  gradApply(dy: number, y: number, x: number, rows: number, C: number, k1: number, k2: number, k3: number, out: number): void;
  gradApplyRelu(dy: number, y: number, x: number, rows: number, C: number, k1: number, k2: number, k3: number, out: number): void;
  scatter(src: number, nOuter: number, nInner: number, chunk: number, dst: number, outerStride: number, innerStride: number): void;
}

const instances = new WeakMap<WasmMemory, SimdKernels>();

/** The SIMD kernels bound to `memory` (instantiated once per memory). */
export function simdKernels(memory: WasmMemory): SimdKernels {
  let k = instances.get(memory);
  if (!k) {
    const mod = new WA.Module(simdModuleBytes());
    k = new WA.Instance(mod, { env: { memory } }).exports as unknown as SimdKernels;
    instances.set(memory, k);
  }
  return k;
}
