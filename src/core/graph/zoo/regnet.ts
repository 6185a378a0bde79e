import { convNormAct, makeDivisible, squeezeExcitation } from './blocks';
import type { GraphBuilder } from './graph-builder';
import { adaptiveAvgPool2d, add, flatten, linear, relu } from './nn';

/** RegNetX / RegNetY (torchvision regnet.py). */

interface RegNetParams {
  depth: number;
  w0: number;
  wa: number;
  wm: number;
  groupWidth: number;
  se?: number;
}

export const REGNET_CONFIGS: Record<string, RegNetParams> = {
  regnet_y_400mf: { depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, se: 0.25 },
  regnet_y_800mf: { depth: 14, w0: 56, wa: 38.84, wm: 2.4, groupWidth: 16, se: 0.25 },
  regnet_y_1_6gf: { depth: 27, w0: 48, wa: 20.71, wm: 2.65, groupWidth: 24, se: 0.25 },
  regnet_y_3_2gf: { depth: 21, w0: 80, wa: 42.63, wm: 2.66, groupWidth: 24, se: 0.25 },
  regnet_y_8gf: { depth: 17, w0: 192, wa: 76.82, wm: 2.19, groupWidth: 56, se: 0.25 },
  regnet_y_16gf: { depth: 18, w0: 200, wa: 106.23, wm: 2.48, groupWidth: 112, se: 0.25 },
  regnet_y_32gf: { depth: 20, w0: 232, wa: 115.89, wm: 2.53, groupWidth: 232, se: 0.25 },
  regnet_y_128gf: { depth: 27, w0: 456, wa: 160.83, wm: 2.52, groupWidth: 264, se: 0.25 },
  regnet_x_400mf: { depth: 22, w0: 24, wa: 24.48, wm: 2.54, groupWidth: 16 },
  regnet_x_800mf: { depth: 16, w0: 56, wa: 35.73, wm: 2.28, groupWidth: 16 },
  regnet_x_1_6gf: { depth: 18, w0: 80, wa: 34.01, wm: 2.25, groupWidth: 24 },
  regnet_x_3_2gf: { depth: 25, w0: 88, wa: 26.31, wm: 2.25, groupWidth: 48 },
  regnet_x_8gf: { depth: 23, w0: 80, wa: 49.56, wm: 2.88, groupWidth: 120 },
  regnet_x_16gf: { depth: 22, w0: 216, wa: 55.59, wm: 2.1, groupWidth: 128 },
  regnet_x_32gf: { depth: 23, w0: 320, wa: 69.86, wm: 2.0, groupWidth: 168 },
};

interface Stage {
  width: number;
  depth: number;
  groupWidth: number;
}

/** Round half to even, like torch.round. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantised linear widths → per-stage (width, depth, group width), as `BlockParams.from_init_params`
 * computes them; the width arithmetic runs in float32 as torch does.
 */
export function regnetStages(p: RegNetParams): Stage[] {
  const f = Math.fround;
  const widths: number[] = [];
  for (let i = 0; i < p.depth; i++) {
    const cont = f(f(i * f(p.wa)) + p.w0);
    const capacity = roundHalfEven(f(f(Math.log(f(cont / p.w0))) / f(Math.log(p.wm))));
    widths.push(roundHalfEven(f(f(p.w0 * f(Math.pow(f(p.wm), capacity))) / 8)) * 8);
  }
  const stages: Stage[] = [];
  for (const w of widths) {
    const last = stages[stages.length - 1];
    if (last && last.width === w) last.depth += 1;
    else stages.push({ width: w, depth: 1, groupWidth: p.groupWidth });
  }
  // Bottleneck multiplier is 1: make widths divisible by the (clamped) group width.
  for (const s of stages) {
    s.groupWidth = Math.min(s.groupWidth, s.width);
    s.width = makeDivisible(s.width, s.groupWidth);
  }
  return stages;
}

export function regnet(b: GraphBuilder, numClasses: number, name: string): string {
  const params = REGNET_CONFIGS[name];
  const block = (x: string, out: number, stride: number, groupWidth: number): string => {
    const inp = b.dim(x, 1);
    const shortcut =
      inp !== out || stride !== 1 ? convNormAct(b, 'proj', x, out, { kernel: 1, stride, act: null }) : x;
    const f = b.module('f', () => {
      let y = convNormAct(b, 'a', x, out, { kernel: 1 });
      y = convNormAct(b, 'b', y, out, { stride, groups: out / groupWidth });
      if (params.se) y = squeezeExcitation(b, 'se', y, Math.round(params.se * inp), 'relu', 'sigmoid');
      return convNormAct(b, 'c', y, out, { kernel: 1, act: null });
    });
    return relu(b, 'activation', shortcut === x ? add(b, x, f) : add(b, shortcut, f));
  };

  let x = convNormAct(b, 'stem', b.input, 32, { stride: 2 });
  x = b.module('trunk_output', () => {
    let y = x;
    regnetStages(params).forEach((stage, s) => {
      y = b.module(`block${s + 1}`, () => {
        let z = y;
        for (let i = 0; i < stage.depth; i++) {
          z = b.module(`block${s + 1}-${i}`, () => block(z, stage.width, i === 0 ? 2 : 1, stage.groupWidth));
        }
        return z;
      });
    });
    return y;
  });
  x = adaptiveAvgPool2d(b, 'avgpool', x, 1);
  x = flatten(b, null, x);
  return linear(b, 'fc', x, numClasses);
}
