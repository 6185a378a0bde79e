import type { ArchitectureGraph, AttributeValue } from '../graph/ir';
import { TRAIN_OPS } from './train-ops';

/** Attributes that decide how an op trains (geometry, axes, modes); others are left out of the survey. */
const RELEVANT = new Set([
  'dilations',
  'group',
  'strides',
  'pads',
  'kernel_shape',
  'ceil_mode',
  'count_include_pad',
  'auto_pad',
  'axis',
  'axes',
  'keepdims',
  'perm',
  'mode',
  'approximate',
  'transA',
  'transB',
  'alpha',
  'beta',
  'to',
  'fmod',
]);

export interface OpUse {
  opType: string;
  trainable: boolean;
  /** Models whose graph uses the op. */
  models: string[];
  /** Distinct values of the training-relevant attributes, as `name=value`. */
  attributes: string[];
}

function show(v: AttributeValue): string {
  return Array.isArray(v) ? `[${v.join(',')}]` : typeof v === 'object' ? 'tensor' : String(v);
}

/**
 * The op types a set of graphs uses, with the models that use each, the values of the attributes
 * that matter for training (a depthwise `group`, `dilations`, `ceil_mode`, ...) and whether
 * TRAIN_OPS has the op. Depthwise groups are summarized as `group=depthwise`.
 */
export function opCoverage(graphs: ArchitectureGraph[]): OpUse[] {
  const uses = new Map<string, { models: Set<string>; attributes: Set<string> }>();
  for (const graph of graphs) {
    const depthwise = new Set(graph.initializers.filter((i) => i.shape.length === 4 && i.shape[1] === 1).map((i) => i.name));
    for (const node of graph.nodes) {
      const use = uses.get(node.opType) ?? { models: new Set<string>(), attributes: new Set<string>() };
      uses.set(node.opType, use);
      use.models.add(graph.name);
      for (const [name, value] of Object.entries(node.attributes)) {
        if (!RELEVANT.has(name)) continue;
        const isDepthwise = name === 'group' && value !== 1 && depthwise.has(node.inputs[1]);
        use.attributes.add(isDepthwise ? 'group=depthwise' : name === 'group' && value !== 1 ? 'group=grouped' : `${name}=${show(value)}`);
      }
    }
  }
  return [...uses]
    .map(([opType, u]) => ({ opType, trainable: TRAIN_OPS[opType] !== undefined, models: [...u.models].sort(), attributes: [...u.attributes].sort() }))
    .sort((a, b) => a.opType.localeCompare(b.opType));
}
