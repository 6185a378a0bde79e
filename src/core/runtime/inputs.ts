import { CoreError } from '../errors';
import type { ArchitectureGraph } from '../graph/ir';
import { checkedHostTensor, type HostTensor } from './host-tensor';

const FLOATS = new Set(['F32', 'F64', 'F16', 'BF16']);

/**
 * Checks run inputs against the graph's inputs (names, ranks, static dims, dtype family) and
 * returns their signature (names, dtypes and shapes), the key of per-shape plans.
 */
export function checkInputs(graph: ArchitectureGraph, inputs: Record<string, HostTensor>): string {
  const expected = new Set(graph.inputs.map((i) => i.name));
  for (const name of Object.keys(inputs)) {
    if (!expected.has(name)) {
      throw new CoreError('INVALID_ARGUMENT', `unknown input '${name}'; the graph takes ${[...expected].map((n) => `'${n}'`).join(', ')}`);
    }
  }
  const parts: string[] = [];
  for (const info of graph.inputs) {
    const t = inputs[info.name];
    if (!t) throw new CoreError('INVALID_ARGUMENT', `input '${info.name}' is missing`, { input: info.name });
    checkedHostTensor(t.dtype, t.shape, t.data);
    const where = `input '${info.name}'`;
    if (t.shape.length !== info.shape.length) {
      throw new CoreError('INVALID_ARGUMENT', `${where} has rank ${t.shape.length}, the graph expects [${info.shape.join(', ')}]`, {
        input: info.name,
      });
    }
    info.shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== t.shape[i]) {
        throw new CoreError('INVALID_ARGUMENT', `${where} has shape [${t.shape.join(', ')}], the graph expects [${info.shape.join(', ')}]`, {
          input: info.name,
        });
      }
    });
    if (FLOATS.has(t.dtype) !== FLOATS.has(info.dtype)) {
      throw new CoreError('INVALID_ARGUMENT', `${where} is ${t.dtype}, the graph expects ${info.dtype}`, { input: info.name });
    }
    parts.push(`${info.name}:${t.dtype}:${t.shape.join('x')}`);
  }
  return parts.join('|');
}
