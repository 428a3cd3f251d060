/**
 * A minimal protobuf encoder and just enough of the ONNX schema (onnx.proto3, IR version 8) to
 * write a static-embedding graph. Hand-written so the build needs no protobuf/onnx dependency;
 * field numbers follow onnx/onnx.proto.
 */

/** Append-only byte buffer with protobuf wire-format primitives. */
class PbWriter {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(1024);
  private pos = 0;
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = new Uint8Array(Math.max(1024, n));
    this.pos = 0;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.cur[this.pos++] = b;
    this.length++;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length > this.cur.length - this.pos) {
      this.chunks.push(this.cur.subarray(0, this.pos));
      this.chunks.push(data);
      this.cur = new Uint8Array(1024);
      this.pos = 0;
    } else {
      this.cur.set(data, this.pos);
      this.pos += data.length;
    }
    this.length += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.ensure(4);
    this.cur.set(b, this.pos);
    this.pos += 4;
    this.length += 4;
  }

  message(field: number, build: (w: PbWriter) => void): void {
    const inner = new PbWriter();
    build(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of [...this.chunks, this.cur.subarray(0, this.pos)]) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** onnx.TensorProto.DataType values used here. */
export const DType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export interface Initializer {
  name: string;
  dataType: number;
  dims: number[];
  /** Little-endian raw bytes. */
  raw: Uint8Array;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  ints?: Record<string, number | number[]>;
}

export interface ValueSpec {
  name: string;
  dataType: number;
  /** number = fixed size, string = symbolic dimension. */
  shape: (number | string)[];
}

export interface ModelSpec {
  producer: string;
  opset: number;
  graphName: string;
  docString?: string;
  nodes: NodeSpec[];
  initializers: Initializer[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

function writeValueInfo(w: PbWriter, v: ValueSpec): void {
  w.string(1, v.name); // ValueInfoProto.name
  w.message(2, (tp) => {
    // TypeProto.tensor_type
    tp.message(1, (tt) => {
      tt.int(1, v.dataType); // elem_type
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => {
            if (typeof d === 'number') dim.int(1, d); // dim_value
            else dim.string(2, d); // dim_param
          });
        }
      });
    });
  });
}

/** Serializes a ModelProto. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const w = new PbWriter();
  w.int(1, 8); // ir_version
  w.string(2, spec.producer); // producer_name
  w.string(3, '1'); // producer_version
  w.message(8, (o) => {
    // opset_import: default domain
    o.string(1, '');
    o.int(2, spec.opset);
  });
  w.message(7, (g) => {
    for (const n of spec.nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name ?? n.outputs[0]!);
        nw.string(4, n.op);
        for (const [name, value] of Object.entries(n.ints ?? {})) {
          nw.message(5, (a) => {
            a.string(1, name);
            if (Array.isArray(value)) {
              for (const v of value) a.int(8, v); // ints
              a.int(20, 7); // AttributeType.INTS
            } else {
              a.int(3, value); // i
              a.int(20, 2); // AttributeType.INT
            }
          });
        }
      });
    }
    g.string(2, spec.graphName);
    for (const t of spec.initializers) {
      g.message(5, (tw) => {
        for (const d of t.dims) tw.int(1, d);
        tw.int(2, t.dataType);
        tw.string(8, t.name);
        tw.bytes(9, t.raw);
      });
    }
    if (spec.docString) g.string(10, spec.docString);
    for (const v of spec.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  return w.finish();
}

/**
 * The static-embedding graph: last_hidden_state[b, s, :] = float(table[id]) * scale[id] * mask[b, s].
 * The table is int8 with one float scale per row (symmetric per-row quantization).
 */
export function staticEmbeddingModel(table: Int8Array, scales: Float32Array, vocabSize: number, dim: number, doc: string): Uint8Array {
  const i64 = (vals: number[]): Uint8Array => {
    const b = new Uint8Array(vals.length * 8);
    const dv = new DataView(b.buffer);
    vals.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    return b;
  };
  return encodeModel({
    producer: 'semcache-gateway models/build',
    opset: 13,
    graphName: 'static_embedding',
    docString: doc,
    initializers: [
      { name: 'embedding_q', dataType: DType.INT8, dims: [vocabSize, dim], raw: new Uint8Array(table.buffer, table.byteOffset, table.byteLength) },
      { name: 'embedding_scale', dataType: DType.FLOAT, dims: [vocabSize, 1], raw: new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength) },
      { name: 'unsqueeze_axes', dataType: DType.INT64, dims: [1], raw: i64([2]) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['embedding_q', 'input_ids'], outputs: ['tok_q'], ints: { axis: 0 } },
      { op: 'Cast', inputs: ['tok_q'], outputs: ['tok_f'], ints: { to: DType.FLOAT } },
      { op: 'Gather', inputs: ['embedding_scale', 'input_ids'], outputs: ['tok_scale'], ints: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['attention_mask', 'unsqueeze_axes'], outputs: ['mask_3d'] },
      { op: 'Cast', inputs: ['mask_3d'], outputs: ['mask_f'], ints: { to: DType.FLOAT } },
      { op: 'Mul', inputs: ['tok_scale', 'mask_f'], outputs: ['row_scale'] },
      { op: 'Mul', inputs: ['tok_f', 'row_scale'], outputs: ['last_hidden_state'] },
    ],
    inputs: [
      { name: 'input_ids', dataType: DType.INT64, shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dataType: DType.INT64, shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'last_hidden_state', dataType: DType.FLOAT, shape: ['batch', 'sequence', dim] }],
  });
}
