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
    MNIST_GOAL,
    MODEL_CALL_BUDGET_MS,
    NON_DIGIT_GOAL,
    REALISTIC_GOAL,
    UNSEEN_FONT_GOAL,
    measure_as_asked,
)


def targets(numbers: dict, model_ms: float) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every number issues 15 and 24 ask for."""
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
            "ECE <= 2 % (MNIST test and realistic)",
            f"{numbers['mnist']['ece_after']:.2%} / {numbers['realistic']['ece_after']:.2%}",
            ece <= 0.02,
        ),
        (
            "ECE <= 2 % on every realistic kind",
            f"highest: {least_honest} {kinds[least_honest]['ece_after']:.2%}",
            kinds[least_honest]["ece_after"] <= 0.02,
        ),
        ('wrong answers shown as "Sure" <= 2 %', f"{sure_but_wrong:.2%}", sure_but_wrong <= 0.02),
        (
            "non-digits refused >= 95 %",
            f"{numbers['non_digits']['all']['refused']:.2%}",
            numbers["non_digits"]["all"]["refused"] >= NON_DIGIT_GOAL,
        ),
        (
            "real digits refused <= 0.5 % (MNIST test, realistic)",
            f"{numbers['mnist']['refused']:.2%} / {numbers['realistic']['refused']:.2%}",
            digits_refused <= DIGITS_REFUSED_BUDGET,
        ),
        (
            "MNIST test >= 99.6 % (a refusal is an error)",
            f"{numbers['mnist']['accuracy']:.2%}",
            numbers["mnist"]["accuracy"] >= MNIST_GOAL,
        ),
        ("unseen fonts >= 98 %", f"{unseen:.2%}", unseen >= UNSEEN_FONT_GOAL),
        (
            "every realistic kind >= 98.5 %, the thick, blurred and small ones too",
            f"weakest: {weakest} {kinds[weakest]['accuracy']:.2%}",
            kinds[weakest]["accuracy"] >= REALISTIC_GOAL,
        ),
        ("model call <= 0.2 ms", f"{model_ms:.3f} ms", model_ms <= MODEL_CALL_BUDGET_MS),
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
