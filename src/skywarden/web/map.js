// The console's map: MapLibre GL with no tiles at all (a background layer and GeoJSON sources), so it
// works on a closed network. Labels are drawn as icons (text rendered on a canvas on demand) because a
// style without a glyph server cannot use text fields.

export const CLASS_COLOURS = { drone: '#ff4d4f', bird: '#3ecf6e', aircraft: '#4ea1ff', vehicle: '#c79a5b', unknown: '#9aa4ae' };
export const LEVEL_COLOURS = { medium: '#ffd23f', high: '#ff8c1a', critical: '#ff2d95' };
export const ZONE_COLOURS = { 'no-fly': '#ff4d4f', restricted: '#ff9f1a', advisory: '#ffd84d' };

const EMPTY = { type: 'FeatureCollection', features: [] };
const WGS84_A = 6378137.0;
const WGS84_E2 = 6.69437999014e-3;

/** A closed ring of `n` points around (lon, lat) at `radiusM` metres (local flat-earth, fine below ~50 km). */
export function circleRing(lon, lat, radiusM, n = 96) {
  const { m, p } = metresPerRadian(lat);
  const ring = [];
  for (let k = 0; k <= n; k += 1) {
    const a = (2 * Math.PI * k) / n;
    ring.push([lon + rad2deg((radiusM * Math.sin(a)) / p), lat + rad2deg((radiusM * Math.cos(a)) / m)]);
  }
  return ring;
}

/** Site ENU metres (east, north) about a reference point to [lon, lat] (tangent-plane approximation). */
export function enuToLonLat(reference, east, north) {
  const { m, p } = metresPerRadian(reference.lat_deg);
  return [reference.lon_deg + rad2deg(east / p), reference.lat_deg + rad2deg(north / m)];
}

function metresPerRadian(latDeg) {
  const s = Math.sin((latDeg * Math.PI) / 180);
  const w = 1 - WGS84_E2 * s * s;
  return { m: (WGS84_A * (1 - WGS84_E2)) / w ** 1.5, p: (WGS84_A / Math.sqrt(w)) * Math.cos((latDeg * Math.PI) / 180) };
}

const rad2deg = (r) => (r * 180) / Math.PI;

function point(lon, lat, properties) {
  return { type: 'Feature', properties, geometry: { type: 'Point', coordinates: [lon, lat] } };
}

function polygon(ring, properties) {
  return { type: 'Feature', properties, geometry: { type: 'Polygon', coordinates: [ring] } };
}

function extend(bounds, [lon, lat]) {
  if (!bounds) return [lon, lat, lon, lat];
  return [Math.min(bounds[0], lon), Math.min(bounds[1], lat), Math.max(bounds[2], lon), Math.max(bounds[3], lat)];
}

/** The label image for `txt|<colour>|<text>`: the text on a dark rounded plate, drawn at device resolution. */
function labelImage(id) {
  const [, colour, ...rest] = id.split('|');
  const text = rest.join('|');
  const ratio = Math.max(1, Math.round(window.devicePixelRatio || 1));
  const font = `600 ${11 * ratio}px system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif`;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  ctx.font = font;
  const padX = 4 * ratio;
  const w = Math.ceil(ctx.measureText(text).width) + 2 * padX;
  const h = 16 * ratio;
  canvas.width = w;
  canvas.height = h;
  ctx.font = font;
  ctx.fillStyle = 'rgba(8, 12, 18, 0.78)';
  ctx.beginPath();
  ctx.roundRect(0, 0, w, h, 3 * ratio);
  ctx.fill();
  ctx.fillStyle = colour;
  ctx.textBaseline = 'middle';
  ctx.fillText(text, padX, h / 2 + ratio * 0.5);
  return { image: ctx.getImageData(0, 0, w, h), pixelRatio: ratio };
}

const labelIcon = ['concat', 'txt|', ['get', 'label_colour'], '|', ['get', 'label']];

const classColour = ['match', ['get', 'cls'],
  'drone', CLASS_COLOURS.drone, 'bird', CLASS_COLOURS.bird, 'aircraft', CLASS_COLOURS.aircraft, 'vehicle', CLASS_COLOURS.vehicle,
  CLASS_COLOURS.unknown];
const levelColour = ['match', ['get', 'level'],
  'medium', LEVEL_COLOURS.medium, 'high', LEVEL_COLOURS.high, 'critical', LEVEL_COLOURS.critical, 'rgba(0,0,0,0)'];
const zoneColour = ['match', ['get', 'kind'],
  'no-fly', ZONE_COLOURS['no-fly'], 'restricted', ZONE_COLOURS.restricted, ZONE_COLOURS.advisory];

const STYLE = {
  version: 8,
  name: 'skywarden-offline',
  sources: {
    zones: { type: 'geojson', data: EMPTY },
    coverage: { type: 'geojson', data: EMPTY },
    assets: { type: 'geojson', data: EMPTY },
    statics: { type: 'geojson', data: EMPTY },
    zonelabels: { type: 'geojson', data: EMPTY },
    trails: { type: 'geojson', data: EMPTY },
    tracks: { type: 'geojson', data: EMPTY },
  },
  layers: [
    { id: 'background', type: 'background', paint: { 'background-color': '#0a1017' } },
    { id: 'coverage-fill', type: 'fill', source: 'coverage', filter: ['==', ['get', 'role'], 'coverage'],
      paint: { 'fill-color': '#39c5d6', 'fill-opacity': 0.04 } },
    { id: 'coverage-rings', type: 'line', source: 'coverage',
      paint: { 'line-color': '#39c5d6', 'line-opacity': ['case', ['==', ['get', 'role'], 'coverage'], 0.55, 0.16],
        'line-width': 1, 'line-dasharray': [4, 3] } },
    { id: 'zones-fill', type: 'fill', source: 'zones',
      paint: { 'fill-color': zoneColour, 'fill-opacity': ['case', ['==', ['get', 'kind'], 'no-fly'], 0.07, 0.12] } },
    { id: 'zones-line', type: 'line', source: 'zones', paint: { 'line-color': zoneColour, 'line-width': 1.6 } },
    { id: 'assets-fill', type: 'fill', source: 'assets', paint: { 'fill-color': '#e6e9ff', 'fill-opacity': 0.1 } },
    { id: 'assets-line', type: 'line', source: 'assets', paint: { 'line-color': '#e6e9ff', 'line-width': 1.2 } },
    { id: 'statics-point', type: 'circle', source: 'statics',
      paint: { 'circle-radius': 4, 'circle-color': ['match', ['get', 'role'], 'sensor', '#39c5d6', '#e6e9ff'],
        'circle-stroke-color': '#0a1017', 'circle-stroke-width': 1.5 } },
    { id: 'trails', type: 'line', source: 'trails', layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': classColour, 'line-width': 1.6, 'line-opacity': 0.55 } },
    { id: 'tracks-threat', type: 'circle', source: 'tracks', filter: ['in', ['get', 'level'], ['literal', ['medium', 'high', 'critical']]],
      paint: { 'circle-radius': ['match', ['get', 'level'], 'critical', 13, 'high', 11, 10], 'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-opacity': ['case', ['get', 'muted'], 0.4, 1],
        'circle-stroke-color': levelColour, 'circle-stroke-width': ['match', ['get', 'level'], 'critical', 3, 2] } },
    { id: 'tracks-selected', type: 'circle', source: 'tracks', filter: ['==', ['get', 'selected'], true],
      paint: { 'circle-radius': 17, 'circle-color': 'rgba(255,255,255,0.06)', 'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5 } },
    { id: 'tracks-point', type: 'circle', source: 'tracks',
      paint: { 'circle-radius': 5.5, 'circle-color': classColour, 'circle-stroke-color': '#0a1017', 'circle-stroke-width': 1.5,
        'circle-opacity': ['case', ['==', ['get', 'status'], 'coasting'], 0.5, 1] } },
    { id: 'zones-label', type: 'symbol', source: 'zonelabels',
      layout: { 'icon-image': labelIcon, 'icon-anchor': ['get', 'anchor'], 'icon-offset': ['case', ['==', ['get', 'anchor'], 'top'], ['literal', [0, 4]], ['literal', [0, -3]]],
        'icon-allow-overlap': false } },
    { id: 'statics-label', type: 'symbol', source: 'statics',
      layout: { 'icon-image': labelIcon, 'icon-anchor': 'top', 'icon-offset': [0, 7], 'icon-allow-overlap': false } },
    { id: 'tracks-label', type: 'symbol', source: 'tracks', filter: ['!=', ['get', 'selected'], true],
      layout: { 'icon-image': labelIcon, 'icon-anchor': 'left', 'icon-offset': [10, 0], 'symbol-sort-key': ['get', 'prio'],
        'icon-allow-overlap': false, 'icon-padding': 1 } },
    { id: 'tracks-label-selected', type: 'symbol', source: 'tracks', filter: ['==', ['get', 'selected'], true],
      layout: { 'icon-image': labelIcon, 'icon-anchor': 'left', 'icon-offset': [14, 0], 'icon-allow-overlap': true,
        'icon-ignore-placement': true } },
  ],
};

export class AirMap {
  /** A map in `container`; `onSelect(trackId)` is called when a track is clicked. */
  constructor(container, onSelect) {
    this.bounds = null;
    this.map = new window.maplibregl.Map({
      container, style: STYLE, center: [0, 0], zoom: 1, attributionControl: false, dragRotate: false, fadeDuration: 0,
      pitchWithRotate: false, touchPitch: false, maxPitch: 0,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new window.maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.map.on('styleimagemissing', (e) => {
      if (e.id.startsWith('txt|') && !this.map.hasImage(e.id)) {
        const { image, pixelRatio } = labelImage(e.id);
        this.map.addImage(e.id, image, { pixelRatio });
      }
    });
    this.loaded = false;
    this.ready = new Promise((resolve) => this.map.once('load', () => { this.loaded = true; resolve(); }));
    this.map.on('click', 'tracks-point', (e) => onSelect(e.features[0].properties.id));
    this.map.on('mouseenter', 'tracks-point', () => { this.map.getCanvas().style.cursor = 'pointer'; });
    this.map.on('mouseleave', 'tracks-point', () => { this.map.getCanvas().style.cursor = ''; });
  }

  /** Draw the site: zones (from the outline), assets with their protective radius, sensors with coverage. */
  async setSite(site, assets) {
    await this.ready;
    this.bounds = siteBounds(site);
    const zones = site.outline.features;
    const coverage = [];
    const statics = [];
    for (const s of site.sensors) {
      coverage.push(polygon(circleRing(s.lon_deg, s.lat_deg, s.max_range_m), { role: 'coverage', id: s.id }));
      for (let r = 1000; r < s.max_range_m; r += 1000) {
        coverage.push(polygon(circleRing(s.lon_deg, s.lat_deg, r), { role: 'ring', id: `${s.id}-${r}` }));
      }
      statics.push(point(s.lon_deg, s.lat_deg, { role: 'sensor', id: s.id, label: s.id, label_colour: '#39c5d6' }));
    }
    const assetAreas = assets.map((a) => polygon(circleRing(a.lon_deg, a.lat_deg, a.radius_m, 48), { id: a.id }));
    for (const a of assets) {
      statics.push(point(a.lon_deg, a.lat_deg, { role: 'asset', id: a.id, label: a.name || a.id, label_colour: '#e6e9ff' }));
    }
    this.map.getSource('zones').setData({ type: 'FeatureCollection', features: zones });
    this.map.getSource('coverage').setData({ type: 'FeatureCollection', features: coverage });
    this.map.getSource('assets').setData({ type: 'FeatureCollection', features: assetAreas });
    this.map.getSource('statics').setData({ type: 'FeatureCollection', features: statics });
    this.map.getSource('zonelabels').setData({ type: 'FeatureCollection', features: zones.map((z) => zoneLabel(z, this.bounds)) });
  }

  /** Fit the view to the site outline (within the sensors' coverage when the outline reaches far beyond it). */
  fit(animate = false) {
    if (!this.bounds) return;
    const [w, s, e, n] = this.bounds;
    this.map.fitBounds([[w, s], [e, n]], { padding: 24, animate, maxZoom: 17 });
  }

  /** Tracks as points coloured by class with a threat ring and their trails (`trails`: id -> [[lon, lat], ...]). */
  setTracks(tracks, trails, selectedId) {
    if (!this.loaded) return;
    const points = [];
    const lines = [];
    for (const t of tracks) {
      const selected = t.id === selectedId;
      const prio = selected ? 0 : t.intruder ? 1 : t.cls === 'drone' ? 2 : 3;
      points.push(point(t.lon, t.lat, { id: t.id, cls: t.cls, level: t.level, status: t.status, selected, prio,
        muted: t.cls === 'bird' || t.cls === 'vehicle' || Boolean(t.permit), label: t.id,
        label_colour: selected ? '#ffffff' : t.intruder ? '#ffb1b2' : '#c9d4df' }));
      const trail = trails.get(t.id);
      if (trail && trail.length > 1) {
        lines.push({ type: 'Feature', properties: { id: t.id, cls: t.cls },
          geometry: { type: 'LineString', coordinates: trail } });
      }
    }
    this.map.getSource('tracks').setData({ type: 'FeatureCollection', features: points });
    this.map.getSource('trails').setData({ type: 'FeatureCollection', features: lines });
  }

  resize() { this.map.resize(); }
}

/** A zone's label: above its footprint, or just inside the top of `bounds` when the zone reaches past it. */
function zoneLabel(zone, bounds) {
  let box = null;
  for (const p of zone.geometry.coordinates[0]) box = extend(box, p);
  const clipped = bounds && (box[3] > bounds[3] || box[0] < bounds[0] || box[2] > bounds[2]);
  const west = clipped ? Math.max(box[0], bounds[0]) : box[0];
  const east = clipped ? Math.min(box[2], bounds[2]) : box[2];
  const north = clipped ? Math.min(box[3], bounds[3]) : box[3];
  const { name, id, kind } = zone.properties;
  return point((west + east) / 2, north, { label: `${name || id} · ${kind}`, label_colour: ZONE_COLOURS[kind] || ZONE_COLOURS.advisory,
    anchor: clipped ? 'top' : 'bottom' });
}

/** The outline's bounds, clipped to the sensors' coverage when the outline is much larger than it. */
function siteBounds(site) {
  let outline = null;
  for (const f of site.outline.features) {
    for (const ring of f.geometry.coordinates) for (const p of ring) outline = extend(outline, p);
  }
  let covered = null;
  for (const s of site.sensors) for (const p of circleRing(s.lon_deg, s.lat_deg, s.max_range_m, 32)) covered = extend(covered, p);
  if (!outline) return covered;
  if (!covered) return outline;
  const clipped = [Math.max(outline[0], covered[0]), Math.max(outline[1], covered[1]),
    Math.min(outline[2], covered[2]), Math.min(outline[3], covered[3])];
  return clipped[0] < clipped[2] && clipped[1] < clipped[3] ? clipped : outline;
}
