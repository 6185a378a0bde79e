export { readSafetensors, readSafetensorsHeader, readTensorBytes } from './reader';
export type { ReadSafetensorsOptions, SafetensorsTensorSet } from './reader';
export { writeSafetensors } from './writer';
export type { SafetensorsWriteResult } from './writer';
export { encodeSafetensorsHeader, planSafetensors, serializeSafetensors } from './header-encode';
export type { InMemoryTensor, SafetensorsLayout } from './header-encode';
export { parseSafetensorsHeader } from './header-parse';
export { DEFAULT_MAX_HEADER_BYTES, MAX_CHUNK_BYTES } from './types';
export type { SafetensorsEntry, SafetensorsHeader, SafetensorsTensorInfo } from './types';
