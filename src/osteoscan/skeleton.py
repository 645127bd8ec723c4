"""Skeletal regions shared by the simulator, the lesion stage and the Bone Scan Index.

Region codes are small integers used in region label maps (uint8, 0 = background).
Mass fractions follow the table of Spiers (1968), *Radioisotopes in the Human Body*,
p. 120, the table Imbriaco et al. (Clin Cancer Res 1998;4:1765) used to define the
Bone Scan Index. Spiers lists "spine and sacrum" together (8.3 %); we split it by
vertebral body volume into cervical 1.5, thoracic 3.2, lumbar 2.4 and sacrum 1.2
(our documented choice; see docs/lesions.md). Distal limbs gather forearms, hands,
tibiae, fibulae and feet. The fractions sum to 100.1 % in the source; we renormalise.
"""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "background",
    "skull",
    "cervical_spine",
    "thoracic_spine",
    "lumbar_spine",
    "sacrum",
    "ribs",
    "sternum",
    "clavicles",
    "scapulae",
    "pelvis",
    "humeri",
    "femurs",
    "distal_limbs",
)
"""Region names; the index of a name is its code in a region label map."""

REGION_CODE: dict[str, int] = {name: code for code, name in enumerate(REGIONS)}

_SPIERS_PERCENT: dict[str, float] = {
    "skull": 16.6 + 1.8,  # cranium + mandible
    "cervical_spine": 1.5,
    "thoracic_spine": 3.2,
    "lumbar_spine": 2.4,
    "sacrum": 1.2,
    "ribs": 4.4,
    "sternum": 0.3,
    "clavicles": 2 * 0.5,
    "scapulae": 2 * 1.5,
    "pelvis": 7.5,
    "humeri": 2 * 3.3,
    "femurs": 2 * 8.9,
    # ulnae, radii, hands, tibiae, fibulae, feet
    "distal_limbs": 2 * (1.5 + 1.2 + 1.5 + 5.1 + 1.3 + 5.8),
}

MASS_FRACTION: dict[str, float] = {
    name: pct / sum(_SPIERS_PERCENT.values()) for name, pct in _SPIERS_PERCENT.items()
}
"""Fraction of total skeletal mass per region (sums to 1)."""
