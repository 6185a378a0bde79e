/**
 * Model classes the GHN builders special-case (ViT pos_enc split and ppuda refusal, SqueezeNet
 * head rotation, Swin rewiring). ONNX does not record the Python class, so it is recognised from
 * torchvision parameter names; a zoo passes the class explicitly.
 */
export const VISION_TRANSFORMER = 'VisionTransformer';
export const SQUEEZENET = 'SqueezeNet';
export const SWIN_TRANSFORMER = 'SwinTransformer';

const SWIN_QKV = /(^|\.)features\.\d+\.\d+\.attn\.qkv\.weight$/;
const SWIN_REDUCTION = /(^|\.)features\.\d+\.reduction\.weight$/;

/** The class recognised from state_dict names, or undefined when none of the special ones fits. */
export function detectModelClass(names: Iterable<string>): string | undefined {
  const all = [...names];
  const has = (test: (n: string) => boolean): boolean => all.some(test);
  const isPart = (n: string, part: string): boolean => n === part || n.endsWith('.' + part);
  if (
    has((n) => isPart(n, 'class_token')) &&
    has((n) => isPart(n, 'conv_proj.weight')) &&
    has((n) => isPart(n, 'encoder.pos_embedding'))
  ) {
    return VISION_TRANSFORMER;
  }
  if (has((n) => n.endsWith('.squeeze.weight')) && has((n) => n.endsWith('.expand3x3.weight'))) {
    return SQUEEZENET;
  }
  if (has((n) => SWIN_QKV.test(n)) && has((n) => SWIN_REDUCTION.test(n))) return SWIN_TRANSFORMER;
  return undefined;
}
