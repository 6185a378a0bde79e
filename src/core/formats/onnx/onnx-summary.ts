import type { Dtype } from '../../tensor/dtypes';
import { int64ToNumber, onnxDataTypeName, type OnnxModel, type OnnxTypeProto, type OnnxValueInfo } from './onnx-codec';
import { dtypeOfOnnxType } from './onnx-dtypes';

export type OnnxValueKind = 'tensor' | 'sparse_tensor' | 'sequence' | 'map' | 'optional' | 'opaque' | 'unknown';

/** A graph input's or output's declared type. */
export interface OnnxValueSummary {
  name: string;
  kind: OnnxValueKind;
  /** ONNX element type name (e.g. 'FLOAT') of tensor and sparse tensor values. */
  elemType?: string;
  /** The element type as a Weightsmith dtype, where one exists. */
  dtype?: Dtype;
  /** Per dimension: its size, its symbolic name (dim_param), or null. Absent when the rank is unknown. */
  shape?: (number | string | null)[];
}

export interface OnnxGraphSummary {
  graphName: string;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsetImports: { domain: string; version: number }[];
  /** Runtime inputs: graph inputs that are not initializers. */
  inputs: OnnxValueSummary[];
  outputs: OnnxValueSummary[];
  initializerCount: number;
  nodeCount: number;
  /** Node count per operator: 'Conv' for the default domain, 'domain:Op' otherwise; keys sorted. */
  opHistogram: Record<string, number>;
}

export function graphSummary(model: OnnxModel): OnnxGraphSummary {
  const graph = model.graph ?? {};
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const counts = new Map<string, number>();
  for (const node of graph.node ?? []) {
    const domain = node.domain ?? '';
    const op = domain === '' || domain === 'ai.onnx' ? (node.opType ?? '') : `${domain}:${node.opType ?? ''}`;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  // A null-prototype object: operator names come from the file and could be '__proto__'.
  const opHistogram: Record<string, number> = Object.create(null);
  for (const op of [...counts.keys()].sort()) opHistogram[op] = counts.get(op)!;
  return {
    graphName: graph.name ?? '',
    irVersion: int64ToNumber(model.irVersion, 'ir_version'),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    opsetImports: (model.opsetImport ?? []).map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version, 'opset_import version'),
    })),
    inputs: (graph.input ?? []).filter((v) => !initializerNames.has(v.name ?? '')).map(summarizeValue),
    outputs: (graph.output ?? []).map(summarizeValue),
    initializerCount: initializerNames.size,
    nodeCount: graph.node?.length ?? 0,
    opHistogram,
  };
}

function summarizeValue(value: OnnxValueInfo): OnnxValueSummary {
  const summary: OnnxValueSummary = { name: value.name ?? '', kind: valueKind(value.type) };
  const tensorType = value.type?.tensorType ?? value.type?.sparseTensorType;
  if (!tensorType) return summary;
  const elemType = tensorType.elemType ?? 0;
  summary.elemType = onnxDataTypeName(elemType);
  const dtype = dtypeOfOnnxType(elemType);
  if (dtype !== undefined) summary.dtype = dtype;
  if (tensorType.shape) {
    summary.shape = (tensorType.shape.dim ?? []).map((d) => {
      if (d.dimParam) return d.dimParam;
      // dim_value and dim_param form a oneof: decoded messages carry a default dim_value (0) on their
      // prototype, so only an own property means that the file set it.
      if (Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue != null) {
        return int64ToNumber(d.dimValue, `a dimension of '${summary.name}'`);
      }
      return null;
    });
  }
  return summary;
}

function valueKind(type: OnnxTypeProto | null | undefined): OnnxValueKind {
  if (type?.tensorType) return 'tensor';
  if (type?.sparseTensorType) return 'sparse_tensor';
  if (type?.sequenceType) return 'sequence';
  if (type?.mapType) return 'map';
  if (type?.optionalType) return 'optional';
  if (type?.opaqueType) return 'opaque';
  return 'unknown';
}
