/**
 * Helpers shared by caldera's kernels: calling other kernels of the same backend from inside a
 * kernel function (the results are plain TensorInfos that the caller must dispose), reading and
 * writing float32 data of a backend's tensors, and keeping the stock kernel that a caldera kernel
 * replaces (for fall-backs and tests).
 */
import * as tf from '@tensorflow/tfjs';

export type Info = tf.TensorInfo;
export type Shape4 = [number, number, number, number];

/** Kernel configs that were registered before caldera replaced them, by `${backend}/${kernel}`. */
const stock = new Map<string, tf.KernelConfig>();

/** Remember the stock config of `kernelName` on `backendName` (if any) so it can still be called. */
export function saveStock(kernelName: string, backendName: string): void {
  const key = `${backendName}/${kernelName}`;
  if (stock.has(key)) return;
  const cfg = tf.getKernel(kernelName, backendName);
  if (cfg != null && !(cfg as { caldera?: boolean }).caldera) stock.set(key, cfg);
}

/** The stock (pre-caldera) config of a kernel, or undefined when there was none. */
export function getStock(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return stock.get(`${backendName}/${kernelName}`);
}

/**
 * Run kernel `name` of `backend` directly (not through the engine: no tape, no tracking). With
 * `useStock` the pre-caldera implementation is used. The caller owns the result and must free it
 * with {@link free}.
 */
export function call(
  backend: tf.KernelBackend, backendName: string, name: string,
  inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}, useStock = false,
): Info {
  const cfg = (useStock ? getStock(name, backendName) : undefined) ?? tf.getKernel(name, backendName);
  if (cfg == null) throw new Error(`caldera: kernel '${name}' is not registered for backend '${backendName}'`);
  const out = cfg.kernelFunc({ inputs, attrs, backend });
  return Array.isArray(out) ? out[0] : (out as Info);
}

/** Free intermediate TensorInfos made inside a kernel function. */
export function free(backend: tf.KernelBackend, ...infos: (Info | undefined | null)[]): void {
  for (const i of infos) if (i != null) backend.disposeData(i.dataId);
}

/** Minimal view of the wasm backend that caldera's kernels use. */
export interface WasmBackendLike extends tf.KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: string } };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
}

/** Minimal view of the cpu backend. */
export interface CpuBackendLike extends tf.KernelBackend {
  data: { get(dataId: object): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): Info;
}

/**
 * A float32 view of a tensor's data. On wasm it is a live view of the heap: it becomes invalid as
 * soon as anything allocates on that backend (the heap may grow), so take it right before use.
 */
export function f32(backend: tf.KernelBackend, backendName: string, info: Info): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`caldera: expected float32, got ${info.dtype}`);
  if (backendName === 'wasm') return (backend as WasmBackendLike).typedArrayFromHeap(info) as Float32Array;
  const vals = (backend as CpuBackendLike).data.get(info.dataId).values;
  if (vals instanceof Float32Array) return vals;
  return backend.readSync(info.dataId) as Float32Array;
}

/** A new, uninitialised float32 output on the backend. */
export function alloc(backend: tf.KernelBackend, backendName: string, shape: number[]): Info {
  if (backendName === 'wasm') return (backend as WasmBackendLike).makeOutput(shape, 'float32');
  const size = shape.reduce((a, b) => a * b, 1);
  return (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', new Float32Array(size));
}

/** A new float32 output on the backend holding a copy of `values`. */
export function fromValues(backend: tf.KernelBackend, backendName: string, shape: number[], values: Float32Array): Info {
  if (backendName === 'wasm') return (backend as WasmBackendLike).makeOutput(shape, 'float32', undefined, values);
  return (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', values);
}

/** A reshaped alias of `x` (shares data; free it like any other intermediate). */
export function reshape(backend: tf.KernelBackend, backendName: string, x: Info, shape: number[]): Info {
  return call(backend, backendName, 'Reshape', { x }, { shape });
}

/** Mark a kernel config as caldera's (so saveStock never mistakes it for the stock one). */
export function mark<T extends tf.KernelConfig>(cfg: T): T {
  (cfg as unknown as { caldera: boolean }).caldera = true;
  return cfg;
}
