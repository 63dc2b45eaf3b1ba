"""The handwriting and display fonts the model learns from, and the ones it never sees.

Every font comes from a Debian package (``scripts/install-system-deps.sh`` installs
them). Fonts are split by *family*, never by file: a held-out family's bold or italic
would otherwise teach the model the very shapes the held-out score claims it has not
seen. The held-out families are what ``model.training.realistic``'s "font" kind and the
unseen-font score draw with; training draws digits, letters and symbols from the rest.
"""

from __future__ import annotations

from pathlib import Path

TRUETYPE = Path("/usr/share/fonts/truetype")
OPENTYPE = Path("/usr/share/fonts/opentype")

# family: (Debian package, font files)
FAMILIES: dict[str, tuple[str, tuple[Path, ...]]] = {
    # Handwriting and display fonts used for training.
    "because-we-build": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeBuild-Regular.otf",)),
    "because-we-connect": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeConnect-Regular.otf",)),
    "because-we-create": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeCreate-Regular.otf",)),
    "because-we-mentor": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeMentor-Regular.otf",)),
    "because-we-organize": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeOrganize-Regular.otf",)),
    "breip": ("fonts-breip", (TRUETYPE / "breip/Breip.ttf", TRUETYPE / "breip/breipfont.ttf")),
    "cabin-sketch": ("fonts-cabinsketch", (TRUETYPE / "cabinsketch/CabinSketch-Regular.ttf",)),
    "dancing-script": (
        "fonts-dancingscript",
        (OPENTYPE / "dancingscript/DancingScript-Regular.otf", OPENTYPE / "dancingscript/DancingScript-Bold.otf"),
    ),
    "ecolier": ("fonts-ecolier-court", (TRUETYPE / "ecolier-court/Ecolier-court.ttf",)),
    "havana": ("fonts-havana", (OPENTYPE / "havana/Havana-Regular.otf",)),
    "kaushan-script": ("fonts-kaushanscript", (OPENTYPE / "kaushanscript/KaushanScript-Regular.otf",)),
    "klee": ("fonts-klee", (TRUETYPE / "klee/KleeOne-Regular.ttf", TRUETYPE / "klee/KleeOne-SemiBold.ttf")),
    "kristi": ("fonts-kristi", (TRUETYPE / "kristi/Kristi.ttf",)),
    "leckerli": ("fonts-leckerli-one", (TRUETYPE / "leckerli-one/LeckerliOne-Regular.ttf",)),
    "lobster": ("fonts-lobster", (OPENTYPE / "lobster/lobster.otf",)),
    "open-dyslexic": (
        "fonts-opendyslexic",
        (OPENTYPE / "opendyslexic/OpenDyslexic-Regular.otf", OPENTYPE / "opendyslexic/OpenDyslexic-Italic.otf"),
    ),
    "rufscript": ("fonts-rufscript", (TRUETYPE / "rufscript/Rufscript010.ttf",)),
    "seto": ("fonts-seto", (TRUETYPE / "seto/setofont.ttf",)),
    "sj-delphine": ("fonts-sjfonts", (TRUETYPE / "sjfonts/Delphine.ttf",)),
    "tlwg-typist": ("fonts-tlwg-typist-ttf", (TRUETYPE / "tlwg/TlwgTypist.ttf", TRUETYPE / "tlwg/TlwgTypist-Bold.ttf")),
    "tomson-talks": ("fonts-tomsontalks", (TRUETYPE / "tomsontalks/TomsonTalks.ttf",)),
    "yozfont": ("fonts-yozvox-yozfont", (TRUETYPE / "yozvox-yozfont/YOzRN_.ttf",)),
    "yusei-magic": ("fonts-yusei-magic", (TRUETYPE / "yusei-magic/YuseiMagic-Regular.ttf",)),
    "urw-chancery": ("fonts-urw-base35", (OPENTYPE / "urw-base35/Z003-MediumItalic.otf",)),
    "urw-gothic": ("fonts-urw-base35", (OPENTYPE / "urw-base35/URWGothic-Book.otf",)),
    "urw-bookman": ("fonts-urw-base35", (OPENTYPE / "urw-base35/URWBookman-LightItalic.otf",)),
    "nimbus-sans": ("fonts-urw-base35", (OPENTYPE / "urw-base35/NimbusSans-Regular.otf",)),
    "dejavu-sans": ("fonts-dejavu-core", (TRUETYPE / "dejavu/DejaVuSans.ttf",)),
    "liberation-serif": ("fonts-liberation", (TRUETYPE / "liberation/LiberationSerif-Italic.ttf",)),
    # Held out: never drawn in training; the "font" kind of the realistic set uses only these.
    "dkg": (
        "fonts-dkg-handwriting",
        (
            TRUETYPE / "fifthhorseman/dkg.ttf",
            TRUETYPE / "fifthhorseman/dkgBd.ttf",
            TRUETYPE / "fifthhorseman/dkgIt.ttf",
        ),
    ),
    "humor-sans": ("fonts-humor-sans", (TRUETYPE / "humor-sans/Humor-Sans.ttf",)),
    "comic-neue": (
        "fonts-comic-neue",
        (
            OPENTYPE / "comic-neue/ComicNeue-Regular.otf",
            OPENTYPE / "comic-neue/ComicNeue-Bold.otf",
            OPENTYPE / "comic-neue/ComicNeue-Light.otf",
            OPENTYPE / "comic-neue/ComicNeue-Italic.otf",
        ),
    ),
    "purisa": ("fonts-tlwg-purisa-ttf", (TRUETYPE / "tlwg/Purisa.ttf", TRUETYPE / "tlwg/Purisa-Oblique.ttf")),
    "because-we-learn": ("fonts-bwht", (OPENTYPE / "bwht/BecauseWeLearn-Regular.otf",)),
    "sj-steve-hand": ("fonts-sjfonts", (TRUETYPE / "sjfonts/SteveHand.ttf",)),
    "kiloji": ("fonts-kiloji", (TRUETYPE / "kiloji/kiloji.ttf", TRUETYPE / "kiloji/kiloji_b.ttf")),
}
HELD_OUT = ("dkg", "humor-sans", "comic-neue", "purisa", "because-we-learn", "sj-steve-hand", "kiloji")
TRAINING = tuple(family for family in FAMILIES if family not in HELD_OUT)


class MissingFonts(FileNotFoundError):
    """Fonts the generated data needs are not installed; the message names the packages."""


def by_family(families: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Each family with its font files, as paths; raises ``MissingFonts`` naming the packages to install."""
    missing = sorted({FAMILIES[f][0] for f in families for path in FAMILIES[f][1] if not path.exists()})
    if missing:
        raise MissingFonts(
            f"Fonts are missing: run scripts/install-system-deps.sh (apt-get install {' '.join(missing)})"
        )
    return [(family, [str(path) for path in FAMILIES[family][1]]) for family in families]


def files(families: tuple[str, ...]) -> list[str]:
    """Every font file of these families, as paths (``MissingFonts`` as for ``by_family``)."""
    return [path for _, paths in by_family(families) for path in paths]


def training_files() -> list[str]:
    return files(TRAINING)


def held_out_files() -> list[str]:
    return files(HELD_OUT)


def packages() -> list[str]:
    """The Debian packages that carry every font here (the install script lists the same)."""
    return sorted({package for package, _ in FAMILIES.values()})
