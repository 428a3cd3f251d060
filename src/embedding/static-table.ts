/**
 * Static (lookup-only) embedding models read straight from their ONNX file, so a request is
 * embedded with a table lookup and a weighted sum in JS instead of an onnxruntime session, tensor
 * bookkeeping and transformers.js pooling around a graph that only gathers rows.
 *
 * Recognized graph (what models/build/onnx-writer.ts writes, and what a float static model is):
 *   last_hidden_state[b, s, :] = table[id] (* scale[id]) * attention_mask[b, s]
 * built only of Gather (of a [V, D] table, and optionally of a [V, 1] / [V] scale), Cast,
 * Unsqueeze and Mul. Anything else returns undefined and the pipeline path is used. Mean pooling
 * then L2 normalization of that output equals the normalized sum of the looked-up rows, which is
 * what `embedIds` computes (the division by the token count cancels in the normalization).
 */
import fs from 'node:fs';

/** A parsed static table: row `id` is `int8/float row * scale[id]`. */
export interface StaticTable {
  vocabSize: number;
  dimension: number;
  /** Row-major [vocabSize, dimension]. */
  rows: Int8Array | Float32Array;
  /** Per-row scale, or undefined for a float table used as is. */
  scales?: Float32Array;
}

const DT_FLOAT = 1;
const DT_INT8 = 3;
const ALLOWED_OPS = new Set(['Gather', 'Cast', 'Unsqueeze', 'Mul']);

interface Tensor {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  floats?: number[];
}

interface GraphNode {
  op: string;
  inputs: string[];
}

/** Just enough of the protobuf wire format to walk ModelProto -> GraphProto -> nodes and initializers. */
class PbReader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      // Numbers here (dims, lengths, enums) stay well below 2^53.
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** Returns [field, wireType], or undefined at the end. */
  tag(): [number, number] | undefined {
    if (this.done) return undefined;
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  sub(): PbReader {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated message');
    const r = new PbReader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const len = this.varint();
      this.pos += len;
    }
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

const utf8 = new TextDecoder();

function readTensor(r: PbReader): Tensor {
  const t: Tensor = { name: '', dims: [], dataType: 0 };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [field, wire] = tag;
    if (field === 1 && wire === 0) t.dims.push(r.varint());
    else if (field === 1 && wire === 2) {
      const p = r.sub();
      while (!p.done) t.dims.push(p.varint());
    } else if (field === 2 && wire === 0) t.dataType = r.varint();
    else if (field === 8 && wire === 2) t.name = utf8.decode(r.bytes());
    else if (field === 9 && wire === 2) t.raw = r.bytes();
    else if (field === 4 && wire === 2) {
      const b = r.bytes();
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      t.floats = [];
      for (let i = 0; i + 4 <= b.length; i += 4) t.floats.push(dv.getFloat32(i, true));
    } else r.skip(wire);
  }
  return t;
}

function readNode(r: PbReader): GraphNode {
  const n: GraphNode = { op: '', inputs: [] };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [field, wire] = tag;
    if (field === 1 && wire === 2) n.inputs.push(utf8.decode(r.bytes()));
    else if (field === 4 && wire === 2) n.op = utf8.decode(r.bytes());
    else r.skip(wire);
  }
  return n;
}

function readGraph(buf: Uint8Array): { nodes: GraphNode[]; initializers: Map<string, Tensor> } | undefined {
  const model = new PbReader(buf);
  for (let tag = model.tag(); tag; tag = model.tag()) {
    const [field, wire] = tag;
    if (field !== 7 || wire !== 2) {
      model.skip(wire);
      continue;
    }
    const g = model.sub();
    const nodes: GraphNode[] = [];
    const initializers = new Map<string, Tensor>();
    for (let gt = g.tag(); gt; gt = g.tag()) {
      const [gf, gw] = gt;
      if (gf === 1 && gw === 2) nodes.push(readNode(g.sub()));
      else if (gf === 5 && gw === 2) {
        const t = readTensor(g.sub());
        initializers.set(t.name, t);
      } else g.skip(gw);
    }
    return { nodes, initializers };
  }
  return undefined;
}

function copyOut<T extends Int8Array | Float32Array>(raw: Uint8Array, Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, count: number): T {
  if (raw.byteLength !== count * Ctor.BYTES_PER_ELEMENT) throw new Error('initializer size does not match its dims');
  const copy = new ArrayBuffer(raw.byteLength);
  new Uint8Array(copy).set(raw);
  return new Ctor(copy);
}

/** Reads a static table from an ONNX file, or undefined when the graph is anything else. */
export function readStaticTable(onnxFile: string): StaticTable | undefined {
  let graph;
  try {
    graph = readGraph(new Uint8Array(fs.readFileSync(onnxFile)));
  } catch {
    return undefined;
  }
  if (!graph || graph.nodes.length === 0) return undefined;
  if (!graph.nodes.every((n) => ALLOWED_OPS.has(n.op))) return undefined;
  const gathers = graph.nodes.filter((n) => n.op === 'Gather');
  let table: Tensor | undefined;
  let scale: Tensor | undefined;
  for (const g of gathers) {
    const t = graph.initializers.get(g.inputs[0] ?? '');
    if (!t || g.inputs[1] !== 'input_ids') return undefined;
    if (t.dims.length === 2 && t.dims[1]! > 1) {
      if (table) return undefined;
      table = t;
    } else if ((t.dims.length === 2 && t.dims[1] === 1) || t.dims.length === 1) {
      if (scale) return undefined;
      scale = t;
    } else return undefined;
  }
  if (!table?.raw) return undefined;
  const [vocabSize, dimension] = table.dims as [number, number];
  let rows: Int8Array | Float32Array;
  if (table.dataType === DT_INT8) rows = copyOut(table.raw, Int8Array, vocabSize * dimension);
  else if (table.dataType === DT_FLOAT) rows = copyOut(table.raw, Float32Array, vocabSize * dimension);
  else return undefined;
  let scales: Float32Array | undefined;
  if (scale) {
    if (scale.dims[0] !== vocabSize || scale.dataType !== DT_FLOAT) return undefined;
    scales = scale.raw ? copyOut(scale.raw, Float32Array, vocabSize) : scale.floats ? Float32Array.from(scale.floats) : undefined;
    if (!scales || scales.length !== vocabSize) return undefined;
  } else if (table.dataType !== DT_FLOAT) return undefined;
  return { vocabSize, dimension, rows, scales };
}

/**
 * The normalized sum of the rows of `ids`. A text with no weighted token (all rows zero) gets a
 * fixed unit vector, as the pipeline path does, so the index never sees NaN.
 */
export function embedIds(t: StaticTable, ids: ArrayLike<number>): Float32Array {
  const d = t.dimension;
  const acc = new Float64Array(d);
  const { rows, scales } = t;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= t.vocabSize) continue;
    const s = scales ? scales[id]! : 1;
    if (s === 0) continue;
    const base = id * d;
    for (let j = 0; j < d; j++) acc[j] += rows[base + j]! * s;
  }
  let norm = 0;
  for (let j = 0; j < d; j++) norm += acc[j]! * acc[j]!;
  const out = new Float32Array(d);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    out[0] = 1;
    return out;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let j = 0; j < d; j++) out[j] = acc[j]! * inv;
  return out;
}
