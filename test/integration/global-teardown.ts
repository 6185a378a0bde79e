export default async function globalTeardown(): Promise<void> {
  await globalThis.__WEIGHTSMITH_SWIFT__?.stop();
}
