// How sure an answer is, in words that match the calibrated numbers the server sends.
//
// The probabilities are calibrated (see the model card's "calibration"): of the answers
// said "fairly sure", about 85 in 100 or more are right, of "I think so" 60 or more. "Sure" asks
// more than calibration: from 99.9 %, a confidence that almost no wrong answer reaches on held-out
// data (model/training/honesty.py, SURE), since a child hears "sure" as "right".
// When the second-best digit is close, the page names it as well.

import { t } from "./i18n.js";
import { percent } from "./view.js";

// [lowest confidence, the words' catalogue key, the not-a-digit sentence's key]
const LEVELS = [
  [0.999, "certainty.sure", "certainty.notADigit.sure"],
  [0.85, "certainty.fairlySure", "certainty.notADigit.fairlySure"],
  [0.6, "certainty.thinkSo", "certainty.notADigit.thinkSo"],
  [0, "certainty.notSure", "certainty.notADigit.notSure"],
];
const CLOSE_RATIO = 0.25; // the runner-up is named when it has at least this share of the best's probability

function level(confidence) {
  return LEVELS.find(([floor]) => confidence >= floor);
}

export function sureWords(confidence) {
  return t(level(confidence)[1]);
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
    return t(level(prediction.confidence)[2], { percent: percent(prediction.confidence) });
  }
  const line = t("certainty.line", { words: sureWords(prediction.confidence), percent: percent(prediction.confidence) });
  const close = runnerUp(prediction);
  return close ? t("certainty.orMaybe", { line, digit: close.digit, percent: percent(close.probability) }) : line;
}
