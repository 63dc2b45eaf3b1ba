"""How honest the served answers are: ``python -m model.training.honesty`` writes ``model/reports/honesty.md``.

It measures the committed model as the server runs it (decoder, preprocessing, LiteRT,
the card's calibration) on inputs it was never trained or calibrated on:

* **calibration**: the expected calibration error (15 bins) and a reliability plot on the
  MNIST test set and on the realistic set, before (raw softmax) and after (the card's
  temperature), and after per realistic kind (a mix can hide a kind that is overconfident);
  and the share of wrong answers the page would call "Sure";
* **"not a digit"**: the share of generated non-digits refused (letters, words and
  symbols from held-out font families, shapes and scribbles from unseen seeds) and the
  share of real digits wrongly refused, per kind; ambiguous shapes (a ring, a bar);
* **unseen handwriting**: accuracy per held-out font family and per realistic kind;
* the model call's time.

``measure`` returns the numbers; the tests check the card's calibration against them
on a fixed sample.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

from model.runtime import card as model_card
from model.runtime.calibration import Answers, Calibration, digit_answers, expected_calibration_error, reliability
from model.runtime.litert import to_input
from model.runtime.recognizer import Recognizer
from model.training.data import Mnist, load_mnist
from model.training.realistic import Sample, ambiguous_samples, non_digit_samples, samples

matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPORT_DIR = Path(__file__).resolve().parents[1] / "reports"
# The page says "Sure" from this calibrated confidence up (frontend/js/certainty.js, LEVELS; a test holds
# the two equal): a wrong answer shown as "Sure" is the dishonesty a user notices most. Chosen on the
# held-out set training calibrates on, never on a test set (``sure_floor``). For the three-member ensemble
# (20261204-276d33f) 99.5 % let 3 of its 60 held-out wrong answers through (5 %: a 4 read as 9 at 0.9987, a 9
# read as 7 at 0.9999 on a canvas and at 0.998 on a photo); at 0.999, 1 (1.7 %), while 80 % of its right
# answers still are "Sure". tests/model/test_honesty.py checks the rule on a held-out sample.
SURE = 0.999
SURE_BUT_WRONG_BUDGET = 0.02  # at most this share of wrong answers may be called "Sure" (issue 24)
# Issue 24's goals: bench/honesty.py holds the test sets to them, model.training.selection the selection set.
REALISTIC_GOAL = 0.985  # every realistic kind of real digit (fonts too), a refusal counted as an error
MNIST_GOAL = 0.996  # a refusal counted as an error
NON_DIGIT_GOAL = 0.95  # the share of non-digits refused
DIGITS_REFUSED_BUDGET = 0.005  # the share of real digits refused, MNIST and realistic alike
UNSEEN_FONT_GOAL = 0.98  # digits in font families no model trained on
MODEL_CALL_BUDGET_MS = 0.2
ECE_GOAL = 0.02  # expected calibration error (15 bins), on MNIST, the realistic mix and every realistic kind


def sure_floor(wrong_confidences: np.ndarray, budget: float = SURE_BUT_WRONG_BUDGET, step: float = 0.001) -> float:
    """The lowest round confidence (a multiple of ``step``) that at most ``budget`` of these wrong answers reach.

    Calibration makes a 97 % answer right about 97 times in 100, but a class hears "Sure" as "right":
    the word is kept for confidences that held-out wrong answers almost never reach."""
    floors = np.arange(step, 1.0 + step / 2, step)
    shares = [(wrong_confidences >= floor).mean() if len(wrong_confidences) else 0.0 for floor in floors]
    return round(float(next((floor for floor, share in zip(floors, shares, strict=True) if share <= budget), 1.0)), 3)


@dataclass
class Scored:
    """Raw model outputs for a set of inputs (None where preprocessing found nothing), with labels and kinds."""

    raw: np.ndarray  # (n, classes) softmax as the model gave it
    labels: np.ndarray
    kinds: np.ndarray
    families: np.ndarray  # the font family for font samples, "" otherwise

    def answers(self, calibration: Calibration) -> Answers:
        return calibration.answers(self.raw)


def score_samples(recognizer: Recognizer, items: Iterable[Sample]) -> Scored:
    """Decode and prepare each sample as the server does; an input it cannot read scores as all-zero."""
    images, labels, kinds, families = [], [], [], []
    for sample in items:
        prepared, _, _ = recognizer.prepare(sample.data, keep=False)
        images.append(prepared.image if prepared.image is not None else np.zeros((28, 28), np.uint8))
        labels.append(sample.label)
        kinds.append(sample.kind)
        families.append(sample.family)
    raw = recognizer.classifier.predict_all(to_input(np.stack(images)))
    return Scored(raw, np.asarray(labels), np.asarray(kinds), np.asarray(families))


def score_mnist(recognizer: Recognizer, mnist: Mnist) -> Scored:
    raw = recognizer.classifier.predict_all(to_input(mnist.x_test))
    count = len(mnist.y_test)
    return Scored(raw, mnist.y_test, np.full(count, "mnist"), np.full(count, ""))


def digit_report(scored: Scored, calibration: Calibration) -> dict:
    """Accuracy (a refusal is an error), refusals, and ECE before and after calibration."""
    answers = scored.answers(calibration)
    return {
        "count": len(scored.labels),
        "accuracy": float(answers.right(scored.labels).mean()),
        "refused": float(answers.refused.mean()),
        "ece_before": expected_calibration_error(*confidence_and_correct(scored.raw, scored.labels)),
        "ece_after": expected_calibration_error(answers.confidence, answers.digits == scored.labels),
        "sure_but_wrong": sure_but_wrong(answers, scored.labels),
    }


def by_group(scored: Scored, groups: np.ndarray, calibration: Calibration) -> dict[str, dict]:
    """Accuracy, refusals, ECE after calibration and wrong answers shown as "Sure", group by group."""
    answers = scored.answers(calibration)
    right = answers.right(scored.labels)
    report = {}
    for group in np.unique(groups):
        if not group:
            continue
        inside = groups == group
        report[str(group)] = {
            "count": int(inside.sum()),
            "accuracy": float(right[inside].mean()),
            "refused": float(answers.refused[inside].mean()),
            "ece_after": expected_calibration_error(
                answers.confidence[inside], answers.digits[inside] == scored.labels[inside]
            ),
            "sure_but_wrong": sure_but_wrong(answers, scored.labels, inside),
        }
    return report


def sure_but_wrong(answers: Answers, labels: np.ndarray, inside: np.ndarray | None = None) -> float:
    """Of the wrong digit answers (refusals are not answers), the share the page would call "Sure"."""
    wrong = (answers.digits != labels) & ~answers.refused
    if inside is not None:
        wrong &= inside
    return float((answers.confidence[wrong] >= SURE).mean()) if wrong.any() else 0.0


def refusal_report(scored: Scored, calibration: Calibration) -> dict[str, dict]:
    refused = scored.answers(calibration).refused
    report = {
        str(kind): {"count": int((scored.kinds == kind).sum()), "refused": float(refused[scored.kinds == kind].mean())}
        for kind in np.unique(scored.kinds)
    }
    report["all"] = {"count": len(refused), "refused": float(refused.mean())}
    return report


def ambiguous_report(scored: Scored, calibration: Calibration) -> dict[str, dict]:
    right = scored.answers(calibration).right(scored.labels)
    return {
        str(kind): {
            "count": int((scored.kinds == kind).sum()),
            "read_as_its_digit": float(right[scored.kinds == kind].mean()),
        }
        for kind in np.unique(scored.kinds)
    }


def measure(recognizer: Recognizer, mnist: Mnist, per_kind: int, non_digits: int, seed: int = 11) -> dict:
    """Every number of the report, for the recognizer's own calibration."""
    calibration = recognizer.calibration
    realistic = score_samples(recognizer, samples(mnist, per_kind=per_kind, seed=seed))
    rejected = score_samples(recognizer, non_digit_samples(non_digits, seed=seed))
    ambiguous = score_samples(recognizer, ambiguous_samples(200, seed=seed))
    mnist_scored = score_mnist(recognizer, mnist)
    return {
        "calibration": calibration.record(),
        "mnist": digit_report(mnist_scored, calibration),
        "realistic": digit_report(realistic, calibration),
        "realistic_kinds": by_group(realistic, realistic.kinds, calibration),
        "unseen_font_families": by_group(realistic, realistic.families, calibration),
        "non_digits": refusal_report(rejected, calibration),
        "ambiguous": ambiguous_report(ambiguous, calibration),
        "reliability": {
            name: {
                "before": reliability(*confidence_and_correct(scored.raw, scored.labels)),
                "after": reliability(*confidence_and_correct(calibration.probabilities(scored.raw), scored.labels)),
            }
            for name, scored in (("mnist", mnist_scored), ("realistic", realistic))
        },
        "kind_reliability": {
            str(kind): reliability(
                *confidence_and_correct(
                    calibration.probabilities(realistic.raw[realistic.kinds == kind]),
                    realistic.labels[realistic.kinds == kind],
                )
            )
            for kind in np.unique(realistic.kinds)
        },
    }


def confidence_and_correct(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    digits, confidence = digit_answers(probabilities)
    return confidence, digits == labels


def plot_reliability(numbers: dict, path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for axis, name in zip(axes, ("mnist", "realistic"), strict=True):
        axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfect")
        for when, colour in (("before", "tab:red"), ("after", "tab:blue")):
            rows = numbers["reliability"][name][when]
            ece = numbers[name][f"ece_{when}"]
            axis.plot(
                [r["confidence"] for r in rows],
                [r["accuracy"] for r in rows],
                "o-",
                color=colour,
                label=f"{when} (ECE {ece:.2%})",
            )
        axis.set_title(f"{'MNIST test' if name == 'mnist' else 'realistic inputs'}")
        axis.set_xlabel("confidence")
        axis.set_xlim(0, 1)
        axis.legend(loc="upper left")
    axes[0].set_ylabel("accuracy")
    figure.suptitle("Reliability, 15 bins: before and after temperature scaling")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_kind_reliability(numbers: dict, path: Path) -> None:
    """One small reliability plot per realistic kind, after calibration, each with its ECE."""
    kinds = list(numbers["kind_reliability"])
    columns = 4
    rows_needed = -(-len(kinds) // columns)
    figure, axes = plt.subplots(rows_needed, columns, figsize=(3 * columns, 2.8 * rows_needed), squeeze=False)
    for axis, kind in zip(axes.flat, kinds, strict=False):
        bins = [row for row in numbers["kind_reliability"][kind] if row["count"]]
        axis.plot([0, 1], [0, 1], color="0.6", linestyle="--")
        axis.plot([r["confidence"] for r in bins], [r["accuracy"] for r in bins], "o-", color="tab:blue")
        axis.set_title(f"{kind} (ECE {numbers['realistic_kinds'][kind]['ece_after']:.2%})", fontsize=9)
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
    for axis in list(axes.flat)[len(kinds) :]:
        axis.axis("off")
    figure.suptitle("Reliability per realistic kind, after calibration (15 bins)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def table(rows: dict[str, dict], columns: list[str]) -> list[str]:
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(format_cell(row[c]) for c in columns) + " |")
    return lines


def format_cell(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.2%}"


def write_report(numbers: dict, card: dict, path: Path) -> None:
    calibration = numbers["calibration"]
    lines = [
        '# Honest answers: calibration, "not a digit", unseen handwriting',
        "",
        f"Model `{card['version']}`; written by `python -m model.training.honesty`. Temperature "
        f"{calibration['temperature']:.3f}, not-a-digit threshold {calibration['not_a_digit_threshold']:.4f} "
        "(both fitted on held-out data by `model.training.train`, kept in the model card). "
        "Nothing here was trained on: MNIST test digits, realistic inputs from MNIST test digits, "
        "fonts of held-out families, and "
        "non-digits from held-out fonts and unseen seeds.",
        "",
        "## Calibration (expected calibration error, 15 bins)",
        "",
        *table(
            {"MNIST test": numbers["mnist"], "realistic set": numbers["realistic"]},
            ["count", "accuracy", "refused", "ece_before", "ece_after"],
        ),
        "",
        "![reliability](reliability.png)",
        "",
        'Accuracy counts a "not a digit" refusal as an error.',
        "",
        f'Wrong answers the page calls "Sure" (calibrated confidence {SURE:.1%} or more): '
        f"{numbers['mnist']['sure_but_wrong']:.2%} of MNIST's wrong answers, "
        f"{numbers['realistic']['sure_but_wrong']:.2%} of the realistic set's.",
        "",
        "## Realistic kinds",
        "",
        "The last four are the shapes real handwriting arrives in (`model/training/degradations.py`): a fat pen "
        "out of focus, a digit captured 8-16 px tall and scaled up, a thin faint pen through JPEG, and all of "
        "these at once (a thumbnail). ECE after calibration, per kind; its reliability plot is below.",
        "",
        *table(numbers["realistic_kinds"], ["count", "accuracy", "refused", "ece_after", "sure_but_wrong"]),
        "",
        "![reliability per kind](reliability_kinds.png)",
        "",
        "## Unseen handwriting: held-out font families",
        "",
        *table(numbers["unseen_font_families"], ["count", "accuracy", "refused"]),
        "",
        "## Not a digit: share refused",
        "",
        *table(numbers["non_digits"], ["count", "refused"]),
        "",
        "## Ambiguous shapes stay digits",
        "",
        *table(numbers["ambiguous"], ["count", "read_as_its_digit"]),
        "",
    ]
    path.write_text("\n".join(lines))


def measure_as_asked(description: str) -> tuple[Recognizer, dict, argparse.Namespace]:
    """The served model measured on ``--per-kind`` realistic inputs of each kind and ``--non-digits``
    non-digits: the command line of this report and of ``bench.honesty``, one sample size for both."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--per-kind", type=int, default=1000)
    parser.add_argument("--non-digits", type=int, default=1200)
    args = parser.parse_args()
    recognizer = Recognizer.load()
    return recognizer, measure(recognizer, load_mnist(), args.per_kind, args.non_digits), args


def main() -> None:
    _, numbers, _ = measure_as_asked(__doc__)
    REPORT_DIR.mkdir(exist_ok=True)
    plot_reliability(numbers, REPORT_DIR / "reliability.png")
    plot_kind_reliability(numbers, REPORT_DIR / "reliability_kinds.png")
    write_report(numbers, model_card.read_card(), REPORT_DIR / "honesty.md")
    summary = {key: numbers[key] for key in ("mnist", "realistic", "non_digits")}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
