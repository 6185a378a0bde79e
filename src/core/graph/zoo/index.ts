export { MAX_IN_CHANNELS, buildZooModel, zooFamily, zooNames, type ZooOptions } from './zoo';
export { GraphBuilder, type Dim } from './graph-builder';
