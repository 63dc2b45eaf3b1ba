"""Split a written number into its digits, left to right.

Connected components give the strokes; strokes that overlap horizontally belong to one
digit (the detached bar of a 5, the two strokes of a 4); a blob much wider than tall is
digits that touch, cut where the ink is thinnest. Each piece then goes through the same
MNIST-style normalisation as a single digit.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from model.runtime import filters
from model.runtime.preprocess import INK_THRESHOLD, NoInk, Prepared, bounding_box, ink_map, source_box, to_mnist

NUMBER_WORK_SIZE = 480  # a row of digits needs more working pixels than one digit
MAX_DIGIT_ASPECT = 1.3  # a single digit is rarely wider than this times its height
DIGIT_ASPECT = 0.7  # the typical width of a digit, as a share of its height
MIN_PART_SHARE = 0.01  # components lighter than this share of all ink are specks


def segment_digits(image: Image.Image) -> list[Prepared]:
    """One Prepared per digit in the row, ordered left to right; empty when there is no ink."""
    try:
        ink, scale = ink_map(image, max_side=NUMBER_WORK_SIZE)
    except NoInk:
        return []
    strokes = filters.components(ink > INK_THRESHOLD)
    labels, count, boxes = strokes.labels, strokes.count, strokes.boxes
    if count == 0:
        return []
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    parts = [i for i in range(count) if masses[i] >= MIN_PART_SHARE * masses.sum()]
    row_height = max(boxes[i][3] - boxes[i][1] for i in parts)
    pieces = []
    for group in group_by_column(parts, boxes):
        mask = np.isin(labels, np.asarray(group) + 1)
        pieces.extend(split_wide(ink * filters.dilated(mask), row_height))
    prepared = []
    for piece in pieces:
        box = tight_box(piece)
        if box is None or max(box[2] - box[0], box[3] - box[1]) < 0.2 * row_height:
            continue
        try:
            prepared.append(Prepared(to_mnist(piece, box), box=source_box(box, scale, image.size)))
        except NoInk:
            continue
    return sorted(prepared, key=lambda p: p.box[0])


def group_by_column(parts: list[int], boxes: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """Merge components whose horizontal extents overlap by half the narrower one."""
    groups: list[tuple[int, int, list[int]]] = []
    for index in sorted(parts, key=lambda i: boxes[i][0]):
        left, right = boxes[index][0], boxes[index][2]
        for position, (group_left, group_right, members) in enumerate(groups):
            overlap = min(right, group_right) - max(left, group_left)
            if overlap > 0.5 * min(right - left, group_right - group_left):
                groups[position] = (min(left, group_left), max(right, group_right), [*members, index])
                break
        else:
            groups.append((left, right, [index]))
    return [members for _, _, members in groups]


def split_wide(ink: np.ndarray, row_height: int) -> list[np.ndarray]:
    """Cut a blob of touching digits at the columns with the least ink near equal spacing."""
    box = tight_box(ink)
    if box is None:
        return []
    left, top, right, bottom = box
    width, height = right - left, max(bottom - top, int(0.6 * row_height))
    pieces = round(width / (DIGIT_ASPECT * height))
    if width <= MAX_DIGIT_ASPECT * height or pieces < 2:
        return [ink]
    profile = ink[:, left:right].sum(axis=0)
    cuts = []
    for k in range(1, pieces):
        centre = k * width // pieces
        window = max(2, width // (3 * pieces))
        start = max(1, centre - window)
        stop = min(width - 1, centre + window)
        cuts.append(left + start + int(np.argmin(profile[start:stop])))
    edges = [left, *cuts, right]
    result = []
    for start, stop in itertools.pairwise(edges):
        piece = np.zeros_like(ink)
        piece[:, start:stop] = ink[:, start:stop]
        result.append(piece)
    return result


def tight_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """Left, top, right, bottom of the stroke pixels, or None when there are none."""
    strokes = ink > INK_THRESHOLD
    return bounding_box(strokes) if strokes.any() else None
