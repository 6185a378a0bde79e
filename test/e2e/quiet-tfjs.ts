/**
 * Every e2e file gets a fresh module registry, but TF.js keeps its kernel registry on the global
 * object, so each file that starts the app in-process re-registers every kernel with a warning
 * (thousands of lines, some printed after a file's tests have finished). Test mode silences them.
 */
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('IS_TEST', true);
