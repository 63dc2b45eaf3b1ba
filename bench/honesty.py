"""Issues 15 and 24's targets for honest answers, measured: ``python -m bench.honesty [--per-kind N] [--non-digits N]``.

Runs ``model.training.honesty.measure`` on the committed model as the server serves it (decoder,
preprocessing, LiteRT, the card's calibration) and prints each target beside its
measured value, and the model call's time. The full report with its reliability plot is
``python -m model.training.honesty`` (model/reports/honesty.md).
"""

from __future__ import annotations

import numpy as np

from bench.timing import machine, median_ms
from model.training.honesty import (
    DIGITS_REFUSED_BUDGET,
    ECE_GOAL,
    MNIST_GOAL,
    MODEL_CALL_BUDGET_MS,
    NON_DIGIT_GOAL,
    REALISTIC_GOAL,
    SURE_BUT_WRONG_BUDGET,
    UNSEEN_FONT_GOAL,
    measure_as_asked,
)


def goal(share: float) -> str:
    """A goal as the issue writes it: 0.985 is "98.5 %"."""
    return f"{round(100 * share, 2):g} %"


def targets(numbers: dict, model_ms: float) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every number issues 15 and 24 ask for, worded from the named goals."""
    kinds = numbers["realistic_kinds"]
    fonts = numbers["unseen_font_families"]
    unseen = sum(row["accuracy"] * row["count"] for row in fonts.values()) / sum(row["count"] for row in fonts.values())
    weakest = min(kinds, key=lambda kind: kinds[kind]["accuracy"])
    least_honest = max(kinds, key=lambda kind: kinds[kind]["ece_after"])
    digits_refused = max(numbers["mnist"]["refused"], numbers["realistic"]["refused"])
    sure_but_wrong = max(numbers["mnist"]["sure_but_wrong"], numbers["realistic"]["sure_but_wrong"])
    ece = max(numbers["mnist"]["ece_after"], numbers["realistic"]["ece_after"])
    return [
        (
            f"ECE <= {goal(ECE_GOAL)} (MNIST test and realistic)",
            f"{numbers['mnist']['ece_after']:.2%} / {numbers['realistic']['ece_after']:.2%}",
            ece <= ECE_GOAL,
        ),
        (
            f"ECE <= {goal(ECE_GOAL)} on every realistic kind",
            f"highest: {least_honest} {kinds[least_honest]['ece_after']:.2%}",
            kinds[least_honest]["ece_after"] <= ECE_GOAL,
        ),
        (
            f'wrong answers shown as "Sure" <= {goal(SURE_BUT_WRONG_BUDGET)}',
            f"{sure_but_wrong:.2%}",
            sure_but_wrong <= SURE_BUT_WRONG_BUDGET,
        ),
        (
            f"non-digits refused >= {goal(NON_DIGIT_GOAL)}",
            f"{numbers['non_digits']['all']['refused']:.2%}",
            numbers["non_digits"]["all"]["refused"] >= NON_DIGIT_GOAL,
        ),
        (
            f"real digits refused <= {goal(DIGITS_REFUSED_BUDGET)} (MNIST test, realistic)",
            f"{numbers['mnist']['refused']:.2%} / {numbers['realistic']['refused']:.2%}",
            digits_refused <= DIGITS_REFUSED_BUDGET,
        ),
        (
            f"MNIST test >= {goal(MNIST_GOAL)} (a refusal is an error)",
            f"{numbers['mnist']['accuracy']:.2%}",
            numbers["mnist"]["accuracy"] >= MNIST_GOAL,
        ),
        (f"unseen fonts >= {goal(UNSEEN_FONT_GOAL)}", f"{unseen:.2%}", unseen >= UNSEEN_FONT_GOAL),
        (
            f"every realistic kind >= {goal(REALISTIC_GOAL)}, the thick, blurred and small ones too",
            f"weakest: {weakest} {kinds[weakest]['accuracy']:.2%}",
            kinds[weakest]["accuracy"] >= REALISTIC_GOAL,
        ),
        (f"model call <= {MODEL_CALL_BUDGET_MS:g} ms", f"{model_ms:.3f} ms", model_ms <= MODEL_CALL_BUDGET_MS),
    ]


def main() -> None:
    recognizer, numbers, args = measure_as_asked(__doc__)
    image = np.zeros((1, 28, 28), np.uint8)
    model_ms = median_ms(lambda: recognizer.classify(image), repeat=500)
    print(f"# Honest answers ({args.per_kind} per realistic kind, {args.non_digits} non-digits; {machine()})\n")
    print("| target | measured | met |")
    print("|---|---:|---|")
    for target, measured, met in targets(numbers, model_ms):
        print(f"| {target} | {measured} | {'yes' if met else '**no**'} |")


if __name__ == "__main__":
    main()
