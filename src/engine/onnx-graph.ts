/**
 * A small typed builder for ONNX models on top of `onnx-proto` (protobufjs-generated classes of
 * ONNX 1.10's onnx.proto). It knows nothing about caldera's network: it collects graph inputs and
 * outputs (with shapes, symbolic dimensions allowed), initializers (float32 / int64 / int32 tensors),
 * nodes with typed attributes and metadata_props, and encodes a `ModelProto`.
 *
 * Why a builder and not raw protobuf objects: ONNX has many easy-to-get-wrong details (attribute
 * type tags, int64 dims, raw_data byte order, opset imports, unique names) and both the inference
 * export and a future training-step graph (forward + hand-built backward + Adam) need them.
 *
 * Usage:
 * ```ts
 * const g = new OnnxGraphBuilder({ name: 'demo' });
 * g.addInput('x', 'float32', ['N', 4]);
 * const w = g.addInitializer('w', new Float32Array(12), [4, 3]);
 * const y = g.addNode('MatMul', ['x', w], { outputs: ['y'] })[0];
 * g.addOutput(y, 'float32', ['N', 3]);
 * g.setMetadata('author', 'me');
 * const bytes: Uint8Array = g.encode();
 * ```
 *
 * Defaults: opset 17 of the default domain (ONNX 1.12; fully supported by onnxruntime ≥ 1.13, so
 * by the onnxruntime-node 1.30 we ship), IR version 8 (the newest `onnx-proto` knows; ORT reads it).
 * Tensors are stored little-endian in `raw_data` (what ONNX requires for raw data; compact and
 * fast to encode — packed `float_data` would go through protobufjs one value at a time).
 */
import onnxProto from 'onnx-proto';

/**
 * The protobufjs `onnx` namespace, values and types (`onnx.ModelProto`, `onnx.IGraphProto`, …);
 * onnx-proto is CommonJS, hence the default import and the alias.
 */
export import onnx = onnxProto.onnx;

/** Element types the builder supports (a subset of `TensorProto.DataType`). */
export type OnnxElemType = 'float32' | 'int64' | 'int32' | 'bool';

/** A dimension: a fixed size, or a symbolic name (e.g. 'N' for a dynamic batch). */
export type OnnxDim = number | string;

/** An attribute value. Numbers are FLOAT unless wrapped with {@link int}; arrays of numbers are INTS unless wrapped with {@link floats}. */
export type OnnxAttrValue =
  | number
  | string
  | OnnxInt
  | OnnxFloats
  | number[]
  | string[]
  | OnnxTensorAttr;

/** Marks an integer attribute (plain numbers are ambiguous between INT and FLOAT). */
export interface OnnxInt { readonly kind: 'int'; readonly value: number }
/** Marks a list of floats (plain number arrays are INTS, the far more common case). */
export interface OnnxFloats { readonly kind: 'floats'; readonly value: readonly number[] }
/** A tensor-valued attribute (e.g. `Constant`'s `value`). */
export interface OnnxTensorAttr { readonly kind: 'tensor'; readonly data: OnnxTensorData; readonly dims: readonly number[] }

/** Typed data an initializer or tensor attribute can hold. */
export type OnnxTensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** An INT attribute. */
export function int(value: number): OnnxInt {
  if (!Number.isInteger(value)) throw new Error(`onnx int attribute: ${value} is not an integer`);
  return { kind: 'int', value };
}
/** A FLOATS attribute. */
export function floats(value: readonly number[]): OnnxFloats {
  return { kind: 'floats', value };
}
/** A TENSOR attribute. */
export function tensorAttr(data: OnnxTensorData, dims: readonly number[]): OnnxTensorAttr {
  return { kind: 'tensor', data, dims };
}

export interface OnnxGraphOptions {
  /** Graph name (default 'graph'). */
  name?: string;
  /** Default-domain opset (default 17). */
  opset?: number;
  /** Extra opset imports, e.g. { 'com.microsoft': 1 } for ORT contrib ops. */
  extraOpsets?: Record<string, number>;
  /** ModelProto.ir_version (default 8). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  /** ModelProto.doc_string. */
  docString?: string;
}

export interface OnnxNodeOptions {
  /** Output names; default one fresh name `<op>_<k>`. Pass a number to get that many fresh names. */
  outputs?: string[] | number;
  /** Node name (default: fresh). */
  name?: string;
  /** Operator domain ('' = default ONNX domain). */
  domain?: string;
  docString?: string;
}

const DATA_TYPE: Record<OnnxElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

function elemTypeOf(data: OnnxTensorData): OnnxElemType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Little-endian bytes of a typed array (ONNX raw_data is little-endian; copies on big-endian hosts are not needed on x64/arm64). */
function rawBytes(data: OnnxTensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Build a TensorProto (checks that the element count matches the dims). */
export function makeTensor(name: string, data: OnnxTensorData, dims: readonly number[]): onnx.TensorProto {
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`onnx tensor ${name}: bad dims [${dims}]`);
  if (product(dims) !== data.length) {
    throw new Error(`onnx tensor ${name}: ${data.length} values for dims [${dims}] (${product(dims)})`);
  }
  return onnx.TensorProto.create({
    name,
    dims: [...dims],
    dataType: DATA_TYPE[elemTypeOf(data)],
    rawData: rawBytes(data),
  });
}

function makeValueInfo(name: string, elem: OnnxElemType, shape: readonly OnnxDim[] | null): onnx.ValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: DATA_TYPE[elem] };
  if (shape != null) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return onnx.ValueInfoProto.create({ name, type: { tensorType } });
}

const AT = onnx.AttributeProto.AttributeType;

function makeAttribute(name: string, v: OnnxAttrValue): onnx.AttributeProto {
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: AT.FLOAT, f: v });
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: AT.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) {
    if (v.every((x): x is string => typeof x === 'string') && v.length > 0) {
      return onnx.AttributeProto.create({ name, type: AT.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) });
    }
    const ints = v as number[];
    if (!ints.every((x) => Number.isInteger(x))) throw new Error(`onnx attribute ${name}: INTS must be integers (use floats() for FLOATS)`);
    return onnx.AttributeProto.create({ name, type: AT.INTS, ints });
  }
  const tagged = v as OnnxInt | OnnxFloats | OnnxTensorAttr;
  switch (tagged.kind) {
    case 'int': return onnx.AttributeProto.create({ name, type: AT.INT, i: tagged.value });
    case 'floats': return onnx.AttributeProto.create({ name, type: AT.FLOATS, floats: [...tagged.value] });
    case 'tensor': return onnx.AttributeProto.create({ name, type: AT.TENSOR, t: makeTensor(name, tagged.data, tagged.dims) });
  }
}

/**
 * Builds one ONNX graph. Names are the graph's value names; the builder checks that initializer,
 * input and node-output names are unique (ONNX requires SSA form), and hands out fresh names.
 * Not thread-shared, no global state: make one per model.
 */
export class OnnxGraphBuilder {
  private readonly opts: Required<Omit<OnnxGraphOptions, 'extraOpsets' | 'docString'>> & Pick<OnnxGraphOptions, 'extraOpsets' | 'docString'>;
  private readonly inputs: onnx.ValueInfoProto[] = [];
  private readonly outputs: onnx.ValueInfoProto[] = [];
  private readonly initializers: onnx.TensorProto[] = [];
  private readonly nodes: onnx.NodeProto[] = [];
  private readonly metadata = new Map<string, string>();
  private readonly defined = new Set<string>();
  private counter = 0;

  constructor(opts: OnnxGraphOptions = {}) {
    this.opts = {
      name: opts.name ?? 'graph',
      opset: opts.opset ?? 17,
      irVersion: opts.irVersion ?? 8,
      producerName: opts.producerName ?? 'caldera',
      producerVersion: opts.producerVersion ?? '',
      extraOpsets: opts.extraOpsets,
      docString: opts.docString,
    };
  }

  /** A name not used yet, `<prefix>_<k>`. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.defined.has(n));
    return n;
  }

  private define(name: string): void {
    if (this.defined.has(name)) throw new Error(`onnx graph: value '${name}' defined twice`);
    this.defined.add(name);
  }

  /** Declare a graph input; `shape` null = unknown rank. Returns its name. */
  addInput(name: string, elem: OnnxElemType, shape: readonly OnnxDim[] | null): string {
    this.define(name);
    this.inputs.push(makeValueInfo(name, elem, shape));
    return name;
  }

  /** Declare an existing value as a graph output; `shape` null = unknown. Returns its name. */
  addOutput(name: string, elem: OnnxElemType, shape: readonly OnnxDim[] | null): string {
    this.outputs.push(makeValueInfo(name, elem, shape));
    return name;
  }

  /** Add a constant tensor (weights, shapes for Reshape, …). Returns its name. */
  addInitializer(name: string, data: OnnxTensorData, dims: readonly number[]): string {
    this.define(name);
    this.initializers.push(makeTensor(name, data, dims));
    return name;
  }

  /** An int64 initializer from plain numbers (Reshape shapes, Transpose-free axes inputs, …). */
  addInt64s(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addInitializer(name, BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** A float32 scalar (dims []) or vector initializer from plain numbers. */
  addFloats(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addInitializer(name, Float32Array.from(values), dims);
  }

  /**
   * Add a node. `inputs` may contain '' for an omitted optional input. Returns the output names
   * (fresh ones unless given). Attribute values: see {@link OnnxAttrValue}; `undefined` entries are skipped.
   */
  addNode(opType: string, inputs: readonly string[], attrs: Record<string, OnnxAttrValue | undefined> = {}, opts: OnnxNodeOptions = {}): string[] {
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    for (const o of outs) if (o !== '') this.define(o);
    const attribute = Object.entries(attrs)
      .filter((e): e is [string, OnnxAttrValue] => e[1] !== undefined)
      .map(([k, v]) => makeAttribute(k, v));
    this.nodes.push(onnx.NodeProto.create({
      opType,
      input: [...inputs],
      output: outs,
      name: opts.name ?? this.fresh(`n_${opType}`),
      domain: opts.domain ?? '',
      attribute,
      docString: opts.docString ?? '',
    }));
    return outs;
  }

  /** Set a `metadata_props` entry (ORT exposes them as custom metadata). */
  setMetadata(key: string, value: string): void {
    this.metadata.set(key, value);
  }

  /** Number of nodes so far (for tests / diagnostics). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The ModelProto (protobufjs object). */
  toModelProto(): onnx.ModelProto {
    const opsetImport = [{ domain: '', version: this.opts.opset }];
    for (const [domain, version] of Object.entries(this.opts.extraOpsets ?? {})) opsetImport.push({ domain, version });
    return onnx.ModelProto.create({
      irVersion: this.opts.irVersion,
      producerName: this.opts.producerName,
      producerVersion: this.opts.producerVersion,
      docString: this.opts.docString ?? '',
      opsetImport: opsetImport.map((o) => onnx.OperatorSetIdProto.create(o)),
      metadataProps: [...this.metadata].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
      graph: onnx.GraphProto.create({
        name: this.opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
  }

  /** Serialise the model (the bytes of a .onnx file). */
  encode(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }
}

/** Decode .onnx bytes (throws protobufjs's error on corrupt data). */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
