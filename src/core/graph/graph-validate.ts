import { CoreError } from '../errors';
import { boundedElementCount, MAX_TENSOR_ELEMENTS } from '../tensor/tensor-size';
import { isKnownOp } from './graph-ops';
import { checkGraphShapes } from './graph-validate-shapes';
import type { ArchitectureGraph, GraphNode } from './ir';

/** `node 12 "/layer1/layer1.0/conv1/Conv" (Conv)`: how errors name a node. */
export function describeNode(node: GraphNode, index: number): string {
  return node.name ? `node ${index} "${node.name}" (${node.opType})` : `node ${index} (${node.opType})`;
}

export function graphInvalid(message: string, details?: Record<string, unknown>): CoreError {
  return new CoreError('GRAPH_INVALID', message, details);
}

/**
 * Structural checks of an architecture graph: unique value names, known ops, every node input
 * defined (graph input, initializer or some node's output, in any order), no cycles, graph outputs
 * defined, and the cheap shape checks of `checkGraphShapes` where shapes are known.
 * Throws GRAPH_INVALID, GRAPH_CYCLE or GRAPH_UNKNOWN_OP; details.path is a JSON path into the graph.
 */
export function validateGraph(g: ArchitectureGraph): void {
  if (!Number.isInteger(g.opset) || g.opset < 1) {
    throw graphInvalid(`opset must be a positive integer, got ${String(g.opset)}`, { path: '$.opset' });
  }
  const defined = new Set<string>();
  const define = (name: string, path: string, what: string): void => {
    if (name === '') throw graphInvalid(`${what} has an empty name`, { path });
    if (defined.has(name)) throw graphInvalid(`${what} redefines the value "${name}"`, { path, value: name });
    defined.add(name);
  };
  g.inputs.forEach((v, i) => define(v.name, `$.inputs[${i}].name`, `graph input ${i}`));
  g.initializers.forEach((t, i) => define(t.name, `$.initializers[${i}].name`, `initializer ${i}`));
  g.nodes.forEach((node, i) => {
    if (!isKnownOp(node.opType)) {
      throw new CoreError('GRAPH_UNKNOWN_OP', `${describeNode(node, i)} uses the unknown op type "${node.opType}"`, {
        path: `$.nodes[${i}].opType`,
        opType: node.opType,
      });
    }
    node.outputs.forEach((output, j) => {
      // An empty output name is an omitted optional output.
      if (output !== '') define(output, `$.nodes[${i}].outputs[${j}]`, describeNode(node, i));
    });
  });
  g.nodes.forEach((node, i) =>
    node.inputs.forEach((input, j) => {
      if (input !== '' && !defined.has(input)) {
        throw graphInvalid(`${describeNode(node, i)} reads "${input}", which no input, initializer or node defines`, {
          path: `$.nodes[${i}].inputs[${j}]`,
          value: input,
        });
      }
    }),
  );
  if (g.outputs.length === 0) throw graphInvalid('the graph has no outputs', { path: '$.outputs' });
  const outputNames = new Set<string>();
  g.outputs.forEach((v, i) => {
    const path = `$.outputs[${i}].name`;
    if (!defined.has(v.name)) throw graphInvalid(`graph output "${v.name}" is never defined`, { path, value: v.name });
    if (outputNames.has(v.name)) throw graphInvalid(`graph output "${v.name}" is listed twice`, { path, value: v.name });
    outputNames.add(v.name);
  });
  checkTensorSizes(g);
  topologicalOrder(g);
  checkGraphShapes(g);
}

/**
 * Every declared tensor (graph inputs and outputs, `valueInfo`, initializers) fits one allocation:
 * no dim and no element count (symbolic dims counted as 1) over MAX_TENSOR_ELEMENTS. A graph that
 * breaks this could be stored but never run.
 */
function checkTensorSizes(g: ArchitectureGraph): void {
  const lists: [string, readonly { name: string; shape: readonly (number | string)[] }[]][] = [
    ['inputs', g.inputs],
    ['outputs', g.outputs],
    ['valueInfo', g.valueInfo ?? []],
    ['initializers', g.initializers],
  ];
  for (const [key, list] of lists) {
    list.forEach((v, i) => {
      if (boundedElementCount(v.shape) !== null) return;
      throw graphInvalid(
        `${key} "${v.name}" has shape [${v.shape.join(', ')}]: a dim or the element count exceeds ${MAX_TENSOR_ELEMENTS}, the limit of one tensor`,
        { path: `$.${key}[${i}].shape`, limit: MAX_TENSOR_ELEMENTS },
      );
    });
  }
}

/**
 * The nodes in an order where every node comes after the producers of its inputs; the file order
 * when it already is one (a depth-first walk that keeps file order among independent nodes).
 * Inputs that no node produces are taken as external (graph inputs, initializers).
 * Throws GRAPH_CYCLE naming a node on a cycle.
 */
export function topologicalOrder(g: ArchitectureGraph): GraphNode[] {
  const producer = new Map<string, number>();
  g.nodes.forEach((node, i) => node.outputs.forEach((o) => o !== '' && !producer.has(o) && producer.set(o, i)));
  const UNSEEN = 0;
  const ACTIVE = 1;
  const DONE = 2;
  const state = new Uint8Array(g.nodes.length);
  const order: GraphNode[] = [];
  // An explicit stack: a chain of 200k nodes would overflow recursion.
  const stack: { node: number; next: number }[] = [];
  for (let root = 0; root < g.nodes.length; root++) {
    if (state[root] !== UNSEEN) continue;
    state[root] = ACTIVE;
    stack.push({ node: root, next: 0 });
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      const inputs = g.nodes[frame.node].inputs;
      if (frame.next < inputs.length) {
        const p = producer.get(inputs[frame.next++]);
        if (p === undefined || state[p] === DONE) continue;
        if (state[p] === ACTIVE) throw cycleError(g, stack.map((f) => f.node), p);
        state[p] = ACTIVE;
        stack.push({ node: p, next: 0 });
      } else {
        state[frame.node] = DONE;
        order.push(g.nodes[frame.node]);
        stack.pop();
      }
    }
  }
  return order;
}

function cycleError(g: ArchitectureGraph, stack: number[], repeated: number): CoreError {
  const cycle = stack.slice(stack.indexOf(repeated));
  const node = g.nodes[repeated];
  const shown = cycle.slice(0, 8).map((i) => g.nodes[i].name || `#${i}`);
  const more = cycle.length > shown.length ? ` ... (${cycle.length} nodes)` : '';
  return new CoreError(
    'GRAPH_CYCLE',
    `${describeNode(node, repeated)} depends on its own output through the cycle ${shown.join(' <- ')}${more}`,
    { path: `$.nodes[${repeated}]`, node: node.name, cycle: cycle.map((i) => g.nodes[i].name) },
  );
}
