export { buildGhnGraph, type BuildGhnGraphOptions } from './build-ghn-graph';
export {
  DEFAULT_VE_CUTOFF,
  GHN_PRIMITIVES,
  ghnOpIndex,
  isParameterOp,
  type GhnBuilderName,
  type GhnEdge,
  type GhnGraph,
  type GhnNode,
  type GhnNodeInfo,
  type GhnOp,
} from './ghn-graph';
export { ghnGraphsEqual, nodeKey, type GhnGraphComparison } from './ghn-graph-equal';
export { GHN_EDGES_FORMAT, parseGhnGraphJson, toGhnGraphJson, type GhnGraphJson, type GhnNodeJson } from './ghn-graph-json';
export { detectModelClass, SQUEEZENET, SWIN_TRANSFORMER, VISION_TRANSFORMER } from './model-class';
