"""Protected assets as arrays in the site frame."""

from __future__ import annotations

import numpy as np

from skywarden.config import Site


class AssetSet:
    """Positions (A, 3) ENU metres and protective radii (A,) of a site's assets."""

    def __init__(self, site: Site) -> None:
        self.ids = [a.id for a in site.assets]
        self.names = [a.name or a.id for a in site.assets]
        if site.assets:
            self.pos = site.frame.to_enu(
                [a.lat_deg for a in site.assets], [a.lon_deg for a in site.assets], [a.alt_m for a in site.assets]
            ).reshape(-1, 3)
        else:
            self.pos = np.zeros((0, 3))
        self.radius_m = np.array([a.radius_m for a in site.assets], dtype=float)

    def __len__(self) -> int:
        return len(self.ids)
