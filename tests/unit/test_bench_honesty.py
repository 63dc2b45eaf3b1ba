"""``make bench``'s honesty table: each of issue 24's targets, met or not, from the measured numbers."""

from bench.honesty import targets


def numbers(thick_blurred: float = 0.99, non_digits: float = 0.96, mnist: float = 0.997, font: float = 0.99) -> dict:
    """What ``model.training.honesty.measure`` returns, reduced to what the targets read."""
    digits = {"accuracy": mnist, "refused": 0.001, "ece_after": 0.004, "sure_but_wrong": 0.0}
    return {
        "mnist": digits,
        "realistic": {**digits, "accuracy": 0.99},
        "realistic_kinds": {
            "canvas_white": {"accuracy": 0.995, "ece_after": 0.01},
            "thick_blurred": {"accuracy": thick_blurred, "ece_after": 0.015},
        },
        "unseen_font_families": {"a": {"accuracy": 1.0, "count": 30}, "b": {"accuracy": font, "count": 70}},
        "non_digits": {"all": {"refused": non_digits}},
    }


def verdicts(measured: dict, model_ms: float = 0.15) -> dict[str, tuple[str, bool]]:
    return {target: (value, met) for target, value, met in targets(measured, model_ms)}


def test_every_target_is_printed_and_met_when_the_numbers_reach_it():
    rows = verdicts(numbers())
    assert len(rows) == 9
    assert all(met for _, met in rows.values())
    assert rows["unseen fonts >= 98 %"] == ("99.30%", True), "weighted by each family's count"


def test_a_number_one_drawing_short_is_not_met_and_names_the_weakest_kind():
    rows = verdicts(numbers(thick_blurred=0.984, non_digits=0.949, mnist=0.9959, font=0.97), model_ms=0.21)
    realistic = rows["every realistic kind >= 98.5 %, the thick, blurred and small ones too"]
    assert realistic == ("weakest: thick_blurred 98.40%", False)
    assert rows["non-digits refused >= 95 %"] == ("94.90%", False)
    assert rows["MNIST test >= 99.6 % (a refusal is an error)"] == ("99.59%", False)
    assert rows["model call <= 0.2 ms"] == ("0.210 ms", False)
    assert rows["unseen fonts >= 98 %"] == ("97.90%", False)
    assert rows["ECE <= 2 % on every realistic kind"] == ("highest: thick_blurred 1.50%", True)
