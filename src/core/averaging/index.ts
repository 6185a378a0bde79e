export { planSoup, writeSoup, SOUP_METADATA_KEY } from './engine';
export type { SoupMemoryStats, SoupPlan, SoupRequest, SoupSource } from './engine';
export { checkIngredientsCompatible, ingredientDifferences, MAX_LISTED_DIFFERENCES } from './compatibility';
export type { IngredientHeader } from './compatibility';
export { isSoupMethod, needsBase, resolveSoupParameters, SOUP_METHODS, WEIGHT_SUM_TOLERANCE } from './parameters';
export type { SoupMethod, SoupParameters, SoupParametersInput } from './parameters';
export { isElementwise, mergeTensor, modelStock, slerp, uniformMean, weightedSum } from './merge-math';
export type { TensorValues } from './merge-math';
export { breadcrumbs, breadcrumbsCounts, dropAndRescale, magnitudeRankMask, trimByMagnitude } from './sparsify';
export { greedySoup, learnedSoupInit, softmax } from './greedy-soup';
export type { GreedySoupOptions, GreedySoupResult, GreedySoupStep, SoupScorer } from './greedy-soup';
export {
  batchNormPrefixes,
  channelStatistics,
  CumulativeStatistics,
  foldAffine,
  foldBatchNorm,
  interpolatedVariance,
  repairLayer,
  repairTargets,
  resetBatchNormStatistics,
} from './batchnorm';
export type { AffineLayer, NamedArrays } from './batchnorm';
export {
  effectiveAlpha,
  memberRegularization,
  PAPA_GRID,
  papa2,
  papa2Pairs,
  papaAll,
  papaMergeDue,
  papaPull,
  papaPullDue,
  perStepPull,
  populationMean,
  regularizationGrid,
  summarizePopulation,
} from './papa';
export type { RegularizationSetting } from './papa';
export { parseSoupRecipe, RECIPE_DTYPES } from './recipe';
export type { SoupRecipe } from './recipe';
export { layoutDifferences, planPopulationPull, POPULATION_VARIANTS, pullRule, tensorLayout } from './population-pull';
export type { PopulationPullPlan, PopulationPullRequest, PopulationVariant, PullRule, TensorLayoutEntry } from './population-pull';
