export { readTorchCheckpoint, sniffTorchFormat } from './read-torch-checkpoint';
export type { ReadTorchCheckpointOptions, TorchCheckpointFormat } from './read-torch-checkpoint';
