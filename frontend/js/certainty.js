// How sure an answer is, in words that match the calibrated numbers the server sends.
//
// The probabilities are calibrated (see the model card's "calibration"): of the answers
// said "sure", about 97 in 100 or more are right, of "fairly sure" about 85-97, and so on.
// When the second-best digit is close, the page names it as well.

import { percent } from "./view.js";

const WORDS = [
  [0.97, "Sure"],
  [0.85, "Fairly sure"],
  [0.6, "I think so"],
  [0, "Not sure"],
];
const CLOSE_RATIO = 0.25; // the runner-up is named when it has at least this share of the best's probability

export function sureWords(confidence) {
  return WORDS.find(([floor]) => confidence >= floor)[1];
}

// The second most likely digit and its probability, or null when the best is far ahead.
export function runnerUp(prediction) {
  const ranked = prediction.probabilities.map((p, digit) => [p, digit]).sort((a, b) => b[0] - a[0]);
  const [[best], [second, digit]] = ranked;
  if (prediction.digit === null || second < CLOSE_RATIO * best) return null;
  return { digit, probability: second };
}

// One line for the page: "Fairly sure (91%) · or maybe 7 (6%)", or the not-a-digit verdict.
export function describe(prediction) {
  if (prediction.reason === "not_a_digit") {
    return `${sureWords(prediction.confidence)} it is not a digit (${percent(prediction.confidence)})`;
  }
  const close = runnerUp(prediction);
  const maybe = close ? ` · or maybe ${close.digit} (${percent(close.probability)})` : "";
  return `${sureWords(prediction.confidence)} (${percent(prediction.confidence)})${maybe}`;
}
