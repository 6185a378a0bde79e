export * from './native-kernels';
export * from './active';
