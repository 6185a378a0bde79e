export {
  BATCH_NORM_POLICIES,
  INIT_METHODS,
  initializationCost,
  initializationTensors,
  initializeParameters,
  initializeTensor,
  type BatchNormPolicy,
  type InitializeOptions,
  type InitMethod,
} from './initialize-parameters';
export {
  initializationMetadata,
  predictInitialization,
  type GhnInitialization,
  type GhnInitializationOptions,
  type InitializationMetadataInput,
} from './ghn-initialization';
export { orthogonalMatrix } from './orthogonal';
export { checkSeed, MAX_SEED, randomStream, type RandomStream } from './seeded-random';
export type { InitTensor } from './tensor-bytes';
export { classifyTensors, type ClassifiedTensor, type TensorRole } from './tensor-roles';
