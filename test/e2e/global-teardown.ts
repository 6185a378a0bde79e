export default async function globalTeardown(): Promise<void> {
  await globalThis.__WEIGHTSMITH_E2E_SWIFT__?.stop();
}
