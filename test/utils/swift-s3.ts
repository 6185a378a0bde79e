// The local Swift s3api server is started by tests and benchmarks alike (bench/ must not import test code).
export { s3Client, s3Env, startSwift, SWIFT_CREDENTIALS, type SwiftS3 } from '../../bench/lib/swift-s3';
