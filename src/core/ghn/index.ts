export { GHN_IMPLS, inferGhnConfig, parseGhnConfig, validateGhnConfig, type GhnConfig, type GhnImpl } from './ghn-config';
export { Ghn, loadGhn, loadGhnFromTensorSet, type GhnBatchNormMode } from './ghn';
export { expectedGhnKeys } from './ghn-weights';
export { paramShapesFromGraph } from './param-matching';
export { predictParameters, type GhnPrediction, type PredictParametersOptions } from './predict-parameters';
