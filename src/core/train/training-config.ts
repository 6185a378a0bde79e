import { createHash } from 'node:crypto';
import { CoreError } from '../errors';
import { MAX_SEED } from '../init/seeded-random';
import { AdamCm } from './adam-cm';
import type { Optimizer } from './optimizer-types';
import { Adam, AdamW, Sgd } from './optimizers';

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'adam-cm'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];
export const SCHEDULE_NAMES = ['constant', 'step', 'cosine'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** sgd only. */
  momentum?: number;
  nesterov?: boolean;
  dampening?: number;
  /** All optimizers: L2 in the gradient (sgd, adam), decoupled (adamw, adam-cm). */
  weightDecay?: number;
  /** adam, adamw, adam-cm. */
  betas?: [number, number];
  eps?: number;
  /** adam-cm only. */
  topC?: number;
  decay?: number;
}

export interface ScheduleConfig {
  name: ScheduleName;
  /** Linear warm-up over this many steps, from lr·warmupStartFactor to lr (default 0: none). */
  warmupSteps?: number;
  /** Default 1/3, as torch's LinearLR. */
  warmupStartFactor?: number;
  /** 'step': the lr is multiplied by gamma every stepSize steps. */
  stepSize?: number;
  /** 'step': default 0.1. */
  gamma?: number;
  /** 'cosine': the floor (eta_min), default 0. */
  minLr?: number;
}

export interface AugmentConfig {
  /** Random crop back to the input size after zero padding (torchvision RandomCrop(size, padding)). */
  randomCrop?: { padding: number };
  /** Horizontal flip with probability 0.5. */
  horizontalFlip?: boolean;
}

export interface TrainingConfig {
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  batchSize: number;
  /** Exactly one of epochs and steps is set. */
  epochs?: number;
  steps?: number;
  shuffle: boolean;
  augment: AugmentConfig;
  seed: number;
  labelSmoothing: number;
}

const MAX_STEPS = 100_000_000;
const MAX_BATCH = 65_536;

function invalid(path: string, message: string): CoreError {
  return new CoreError('TRAINING_OPTIONS_INVALID', `${path}: ${message}`, { path });
}

type Json = Record<string, unknown>;

function object(value: unknown, path: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(path === '' ? key : `${path}.${key}`, `unknown option (allowed: ${allowed.join(', ')})`);
  }
  return value as Json;
}

interface NumberRule {
  min: number;
  max: number;
  /** The minimum itself is excluded. */
  exclusiveMin?: boolean;
  integer?: boolean;
}

function number(value: unknown, path: string, rule: NumberRule): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, `must be a finite number, got ${JSON.stringify(value) ?? String(value)}`);
  if (rule.integer && !Number.isSafeInteger(value)) throw invalid(path, `must be an integer, got ${value}`);
  const low = rule.exclusiveMin ? value <= rule.min : value < rule.min;
  if (low || value > rule.max) throw invalid(path, `must be in ${rule.exclusiveMin ? '(' : '['}${rule.min}, ${rule.max}], got ${value}`);
  return value;
}

function optional<T>(json: Json, key: string, path: string, read: (v: unknown, p: string) => T): T | undefined {
  return json[key] === undefined ? undefined : read(json[key], `${path}.${key}`);
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, 'must be true or false');
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, names: readonly T[]): T {
  if (typeof value !== 'string' || !names.includes(value as T)) throw invalid(path, `must be one of ${names.join(', ')}`);
  return value as T;
}

/** Which options each optimizer takes besides `name` and `lr`. */
const OPTIMIZER_OPTIONS: Record<OptimizerName, readonly string[]> = {
  sgd: ['momentum', 'nesterov', 'dampening', 'weightDecay'],
  adam: ['betas', 'eps', 'weightDecay'],
  adamw: ['betas', 'eps', 'weightDecay'],
  'adam-cm': ['betas', 'eps', 'weightDecay', 'topC', 'decay'],
};
const ALL_OPTIMIZER_OPTIONS = ['name', 'lr', 'momentum', 'nesterov', 'dampening', 'weightDecay', 'betas', 'eps', 'topC', 'decay'];

function parseOptimizer(value: unknown): OptimizerConfig {
  const path = 'optimizer';
  const json = object(value, path, ALL_OPTIMIZER_OPTIONS);
  const name = oneOf(json.name, `${path}.name`, OPTIMIZER_NAMES);
  for (const key of Object.keys(json)) {
    if (key !== 'name' && key !== 'lr' && !OPTIMIZER_OPTIONS[name].includes(key)) throw invalid(`${path}.${key}`, `is not an option of ${name}`);
  }
  const unit = { min: 0, max: 1 };
  const betas = optional(json, 'betas', path, (v, p): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2) throw invalid(p, 'must be two numbers [beta1, beta2]');
    return [number(v[0], `${p}[0]`, { min: 0, max: 0.999999 }), number(v[1], `${p}[1]`, { min: 0, max: 0.999999 })];
  });
  const config: OptimizerConfig = {
    name,
    lr: number(json.lr, `${path}.lr`, { min: 0, max: 1e12, exclusiveMin: true }),
    momentum: optional(json, 'momentum', path, (v, p) => number(v, p, { min: 0, max: 1 })),
    nesterov: optional(json, 'nesterov', path, boolean),
    dampening: optional(json, 'dampening', path, (v, p) => number(v, p, unit)),
    weightDecay: optional(json, 'weightDecay', path, (v, p) => number(v, p, unit)),
    betas,
    eps: optional(json, 'eps', path, (v, p) => number(v, p, { min: 0, max: 1, exclusiveMin: true })),
    topC: optional(json, 'topC', path, (v, p) => number(v, p, { min: 1, max: 1000, integer: true })),
    decay: optional(json, 'decay', path, (v, p) => number(v, p, { min: 0, max: 0.999999 })),
  };
  if (config.nesterov && (!(config.momentum! > 0) || (config.dampening ?? 0) !== 0)) throw invalid(`${path}.nesterov`, 'needs momentum > 0 and no dampening');
  return dropUndefined(config);
}

const SCHEDULE_OPTIONS: Record<ScheduleName, readonly string[]> = {
  constant: [],
  step: ['stepSize', 'gamma'],
  cosine: ['minLr'],
};
const ALL_SCHEDULE_OPTIONS = ['name', 'warmupSteps', 'warmupStartFactor', 'stepSize', 'gamma', 'minLr'];

function parseSchedule(value: unknown): ScheduleConfig {
  const path = 'schedule';
  const json = object(value ?? { name: 'constant' }, path, ALL_SCHEDULE_OPTIONS);
  const name = oneOf(json.name, `${path}.name`, SCHEDULE_NAMES);
  for (const key of Object.keys(json)) {
    if (!['name', 'warmupSteps', 'warmupStartFactor'].includes(key) && !SCHEDULE_OPTIONS[name].includes(key)) throw invalid(`${path}.${key}`, `is not an option of the ${name} schedule`);
  }
  if (name === 'step' && json.stepSize === undefined) throw invalid(`${path}.stepSize`, 'is required by the step schedule');
  return dropUndefined({
    name,
    warmupSteps: optional(json, 'warmupSteps', path, (v, p) => number(v, p, { min: 0, max: MAX_STEPS, integer: true })),
    warmupStartFactor: optional(json, 'warmupStartFactor', path, (v, p) => number(v, p, { min: 0, max: 1, exclusiveMin: true })),
    stepSize: optional(json, 'stepSize', path, (v, p) => number(v, p, { min: 1, max: MAX_STEPS, integer: true })),
    gamma: optional(json, 'gamma', path, (v, p) => number(v, p, { min: 0, max: 1, exclusiveMin: true })),
    minLr: optional(json, 'minLr', path, (v, p) => number(v, p, { min: 0, max: 100 })),
  });
}

function parseAugment(value: unknown): AugmentConfig {
  const path = 'augment';
  const json = object(value ?? {}, path, ['randomCrop', 'horizontalFlip']);
  return dropUndefined({
    randomCrop: optional(json, 'randomCrop', path, (v, p) => ({ padding: number(object(v, p, ['padding']).padding, `${p}.padding`, { min: 0, max: 64, integer: true }) })),
    horizontalFlip: optional(json, 'horizontalFlip', path, boolean),
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Validates a training configuration given as plain JSON: unknown keys, options of another
 * optimizer or schedule, non-finite or out-of-range numbers are refused with
 * TRAINING_OPTIONS_INVALID naming the option (`details.path`). Defaults: schedule constant,
 * shuffle true, no augmentation, seed 0, label smoothing 0. Exactly one of epochs and steps.
 */
export function parseTrainingConfig(value: unknown): TrainingConfig {
  const json = object(value, '', ['optimizer', 'schedule', 'batchSize', 'epochs', 'steps', 'shuffle', 'augment', 'seed', 'labelSmoothing']);
  const epochs = optional(json, 'epochs', '', (v) => number(v, 'epochs', { min: 1, max: 100_000, integer: true }));
  const steps = optional(json, 'steps', '', (v) => number(v, 'steps', { min: 1, max: MAX_STEPS, integer: true }));
  if ((epochs === undefined) === (steps === undefined)) throw invalid(epochs === undefined ? 'steps' : 'epochs', 'give exactly one of epochs and steps');
  return dropUndefined({
    optimizer: parseOptimizer(json.optimizer),
    schedule: parseSchedule(json.schedule),
    batchSize: number(json.batchSize, 'batchSize', { min: 1, max: MAX_BATCH, integer: true }),
    epochs,
    steps,
    shuffle: json.shuffle === undefined ? true : boolean(json.shuffle, 'shuffle'),
    augment: parseAugment(json.augment),
    seed: json.seed === undefined ? 0 : number(json.seed, 'seed', { min: 0, max: MAX_SEED, integer: true }),
    labelSmoothing: json.labelSmoothing === undefined ? 0 : number(json.labelSmoothing, 'labelSmoothing', { min: 0, max: 1 }),
  });
}

/** The optimizer a configuration names, at its base learning rate. */
export function createOptimizer(config: OptimizerConfig): Optimizer {
  const { lr, weightDecay, betas, eps } = config;
  switch (config.name) {
    case 'sgd':
      return new Sgd({ lr, momentum: config.momentum, nesterov: config.nesterov, dampening: config.dampening, weightDecay });
    case 'adam':
      return new Adam({ lr, betas, eps, weightDecay });
    case 'adamw':
      return new AdamW({ lr, betas, eps, weightDecay });
    case 'adam-cm':
      return new AdamCm({ lr, betas, eps, weightDecay, topC: config.topC, decay: config.decay });
  }
}

/** JSON with object keys sorted, so equal configurations give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Json)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the canonical JSON of a configuration: a snapshot resumes only under the same one. */
export function trainingConfigHash(config: TrainingConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}
