import { CoreError } from '../errors';
import { graphToDot, modulePath } from './graph-dot';
import { renderGraphSvg } from './graph-svg';
import { tinyCnn } from './testing-graphs';
import { buildZooModel } from './zoo';

/** Checks that tags nest and close, and that text has no raw `<` or bare `&`; returns the <text> contents. */
function checkXml(svg: string): string[] {
  const body = svg.replace(/<\?xml[^>]*\?>/, '').replace(/<!DOCTYPE[^>]*>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  const texts: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    expect(between).not.toMatch(/[<>]/);
    expect(between).not.toMatch(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
    if (stack[stack.length - 1] === 'text') texts.push(between);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  return texts;
}

const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

describe('renderGraphSvg', () => {
  it('draws resnet50 as well-formed SVG with every op node labelled by op type and module path', async () => {
    const g = buildZooModel('resnet50');
    const svg = await renderGraphSvg(g);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('<svg');
    const texts = new Set(checkXml(svg).map(unescape));
    for (const label of ['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Add', 'GlobalAveragePool', 'Flatten', 'Gemm', 'input', 'logits']) {
      expect(texts).toContain(label);
    }
    for (const node of g.nodes) expect(texts).toContain(modulePath(node.name) || node.opType);
    expect(texts).toContain('layer1.0.conv1');
    expect(texts).toContain('weight: 64×64×1×1');
    expect(texts).toContain('weight, bias, running_mean, running_var: 64');
    expect(texts).toContain('batch×64×56×56'); // edge shape label from valueInfo
  });

  it('escapes hostile names', async () => {
    const g = tinyCnn();
    g.name = 'a "quoted" <graph>';
    g.nodes[2].name = '/blk&1/<b>"x"\\n/Relu';
    g.inputs[0].name = 'in<&>put';
    g.nodes[0].inputs[0] = 'in<&>put';
    const texts = checkXml(await renderGraphSvg(g)).map(unescape);
    expect(texts).toContain('blk&1.<b>"x"\\n');
    expect(texts).toContain('in<&>put');
  });

  it('refuses a graph over maxNodes with a clear error', async () => {
    await expect(renderGraphSvg(buildZooModel('resnet18'), { maxNodes: 10 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/has 69 op nodes to draw, more than maxNodes=10/),
    });
    await expect(renderGraphSvg(buildZooModel('resnet18'), { maxNodes: 10 })).rejects.toBeInstanceOf(CoreError);
  });
});

describe('graphToDot', () => {
  it('hides static shape arithmetic but keeps the layers it feeds', () => {
    const dot = graphToDot(buildZooModel('vit_b_32'));
    expect(dot).not.toMatch(/label="(Shape|Constant|ConstantOfShape|Where|Equal|Mod|Cast)(\\n|")/);
    // Of the 101 Gathers only the q/k/v picks of the 12 layers and the class-token pick carry activations.
    expect(dot.match(/label="Gather(\\n|")/g)).toHaveLength(12 * 3 + 1);
    expect(dot).toMatch(/label="Reshape\\nencoder\.layers\.encoder_layer_0\.self_attention/);
    expect(dot).toContain('label="Expand\\nclass_token: 1×1×768"');
  });

  it('labels edges with shapes only when asked', () => {
    expect(graphToDot(tinyCnn())).toContain('label="batch×4×8×8"');
    expect(graphToDot(tinyCnn(), { edgeShapes: false })).not.toContain('label="batch×4×8×8"');
  });
});

describe('modulePath', () => {
  it.each([
    ['/layer1/layer1.0/conv1/Conv', 'layer1.0.conv1'],
    ['/features/features.0/features.0.0/Conv', 'features.0.0'],
    ['/encoder/layers/encoder_layer_3/self_attention/MatMul', 'encoder.layers.encoder_layer_3.self_attention'],
    ['/relu_1/Relu', 'relu_1'],
    ['/Flatten', ''],
    ['Conv_12', ''],
    ['', ''],
  ])('%s → "%s"', (name, path) => {
    expect(modulePath(name)).toBe(path);
  });
});
