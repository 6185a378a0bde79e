/** Where the official ghn3 code's `from_pretrained` finds the released GHNs (a Hugging Face repo). */
export const DEFAULT_GHN_HUB_URL = 'https://huggingface.co';
export const OFFICIAL_GHN_REPO = 'SamsungSAILMontreal/ghn3';
export const OFFICIAL_GHN_REVISION = 'main';

/** Released checkpoints: joblib pickles of a GHN state_dict, `<name>.pt` at the repository's top level. */
export const OFFICIAL_GHNS = ['ghn3tm8', 'ghn3sm8', 'ghn3lm8', 'ghn3xlm16', 'ghn2'] as const;
export type OfficialGhnName = (typeof OFFICIAL_GHNS)[number];

export function isOfficialGhnName(name: string): name is OfficialGhnName {
  return (OFFICIAL_GHNS as readonly string[]).includes(name);
}

export function officialGhnFile(name: OfficialGhnName): string {
  return `${name}.pt`;
}
