#!/usr/bin/env node
import { runCli } from './program';

runCli(process.argv).then((status) => {
  // exitCode (not exit()) lets stdout drain; `serve` keeps the process alive through its server.
  if (status !== 0) process.exitCode = status;
});
