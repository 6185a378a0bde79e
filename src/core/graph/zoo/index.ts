export { buildZooModel, zooFamily, zooNames, type ZooOptions } from './zoo';
export { GraphBuilder, type Dim } from './graph-builder';
